"""Load test of the website tracker's collect endpoint over loopback.

A fresh SQLite store (or PostgreSQL with --store postgres), `leadscore serve` started
as a subprocess with examples/model.yaml, a publishable `collect` key, then CLIENTS
concurrent clients post small browser-like requests to `POST /v1/collect` for
DURATION seconds: each request is what the tracker sends for one page view (about
350 bytes of JSON as text/plain, a desktop Chrome user agent, an allowed Origin, one
of VISITORS anonymous ids, a fresh event id). Reported: accepted events/s, requests/s,
errors, request latency p50/p99.

    python benchmarks/collect.py                          # SQLite, 16 clients, 20 s
    python benchmarks/collect.py --clients 32 --duration 30 --store postgres
    python benchmarks/collect.py --compare                # then the same load on /v1/events

With --compare the same server then takes the same page views as single events on
`POST /v1/events` (an ingest key, JSON), so the tracker path's overhead is measured
against the native one under the same machine load.

The per-key rate limit is raised for the run (LEADSCORE_COLLECT_RATE): it is the
endpoint's throughput that is measured, not the limit. Clients use stdlib
http.client keep-alive connections (as a browser reuses its connection to the
site); the load generator shares the machine's cores with the server, so the
figures are a floor for the server alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "examples" / "model.yaml"
PG_URL = os.environ.get("LEADSCORE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ORIGIN = "https://shop.example"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PAGES = ["/", "/pricing", "/pricing/enterprise", "/blog/lead-scoring", "/product/api", "/careers"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "leadscore.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted = 0
        self.requests = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []


def page_view(path: str) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "page_view",
        "properties": {
            "url": path,
            "page_url": ORIGIN + path + "?utm_source=newsletter",
            "title": "Acme - " + path.strip("/").title(),
            "referrer": "https://www.google.com/",
            "utm_source": "newsletter",
        },
    }


def client(
    port: int, key: str, visitors: int, stop: threading.Event, out: Results, native: bool
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    if native:
        headers = {"Content-Type": "application/json", "X-API-Key": key}
    else:
        headers = {
            "Content-Type": "text/plain;charset=UTF-8",
            "Origin": ORIGIN,
            "User-Agent": CHROME,
            "Referer": ORIGIN + "/",
        }
    stamp = datetime.now(UTC).isoformat()
    accepted, latencies, errors = 0, [], []
    while not stop.is_set():
        visitor = f"visitor-{random.randrange(visitors):07d}"
        event = page_view(random.choice(PAGES))
        if native:
            body = json.dumps({**event, "timestamp": stamp, "anonymous_id": visitor}).encode()
        else:
            body = json.dumps({"key": key, "anonymous_id": visitor, "events": [event]}).encode()
        started = time.perf_counter()
        try:
            conn.request(
                "POST", "/v1/events" if native else "/v1/collect", body=body, headers=headers
            )
            response = conn.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
        if response.status not in (200, 201):
            errors.append(f"{response.status}: {text[:200]!r}")
            continue
        answer = json.loads(text)
        accepted += int(answer["status"] == "accepted") if native else answer["accepted"]
    with out.lock:
        out.accepted += accepted
        out.requests += len(latencies)
        out.latencies += latencies
        out.errors += errors


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--compare", action="store_true", help="then the same on /v1/events")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="leadscore-collect-"))
    scratch = None
    if args.store == "sqlite":
        db = str(folder / "leadscore.db")
    else:
        import psycopg

        scratch = f"leadscore_collect_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{scratch}"')
        db = PG_URL.rsplit("/", 1)[0] + "/" + scratch
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "LEADSCORE_COLLECT_ORIGINS": ORIGIN,
        "LEADSCORE_COLLECT_RATE": "1000000",
        "LEADSCORE_COLLECT_BURST": "1000000",
    }
    key = cli("keys", "create", "--scope", "collect", "--db", db, env=env)
    ingest_key = cli("keys", "create", "--scope", "ingest", "--db", db, env=env)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leadscore.cli.main",
            "serve",
            "--db",
            db,
            "--model",
            str(MODEL),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/health")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        warm_up(port, key, ingest_key)
        runs = [run(port, key, args, native=False)]
        if args.compare:
            runs.append(run(port, ingest_key, args, native=True))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        if scratch is not None:
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    for name, result in zip(["/v1/collect", "/v1/events"], runs, strict=False):
        print(json.dumps({"store": args.store, "route": name, **result}))


def warm_up(port: int, key: str, ingest_key: str) -> None:
    """One request down each path before the clock starts: the ingest child process
    may still be importing when /health first answers, and the bot patterns compile
    on first use."""
    for native, token in ((False, key), (True, ingest_key)):
        stop = threading.Event()
        out = Results()
        once = threading.Thread(target=client, args=(port, token, 10, stop, out, native))
        once.start()
        time.sleep(0.5)
        stop.set()
        once.join()
        if out.errors or not out.accepted:
            raise SystemExit(f"warm-up failed: {out.errors[:1]}")


def run(port: int, key: str, args: argparse.Namespace, native: bool) -> dict[str, object]:
    stop = threading.Event()
    out = Results()
    threads = [
        threading.Thread(target=client, args=(port, key, args.visitors, stop, out, native))
        for _ in range(args.clients)
    ]
    load_before = os.getloadavg()
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(args.duration)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()
    return {
        "clients": args.clients,
        "duration_s": round(elapsed, 1),
        "events_per_s": round(out.accepted / elapsed),
        "requests_per_s": round(out.requests / elapsed),
        "errors": len(out.errors),
        "first_errors": out.errors[:3],
        "p50_ms": round(pct(out.latencies, 50), 1) if out.latencies else None,
        "p99_ms": round(pct(out.latencies, 99), 1) if out.latencies else None,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
    }


if __name__ == "__main__":
    main()
