"""Load test of the running service over loopback, for SQLite and PostgreSQL.

For each store: a fresh database, `leadscore serve` started as a subprocess with
examples/model.yaml, CONTACTS contacts created, then two timed phases:

1. batch ingest: CLIENTS concurrent clients post batches of BATCH events;
2. single ingest: CLIENTS concurrent clients post one event per request;

while a reader fetches a random contact's score
(`GET /v1/contacts/{id}/score`) at READ_RATE requests/s. Reported: accepted
events/s, errors, score-read p50/p99 during each phase, and how long the
background scorer took after the phase to bring every score up to date.

    python benchmarks/service.py                   # both stores
    python benchmarks/service.py --store sqlite --duration 20

The load generator shares the machine with the server (2 cores here), so the
figures are a floor for the server alone. It is kept lean: stdlib http.client
keep-alive connections (much less CPU per request than httpx), event bodies
pre-serialised once per phase (a request only joins fragments with fresh ids),
and the reader in a process of its own, so that a read's latency is the
server's and not the wait for the ingest clients' interpreter lock.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "examples" / "model.yaml"
PG_URL = os.environ.get("LEADSCORE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

TYPES: list[tuple[str, dict[str, Any]]] = [
    ("page_view", {"url": "/pricing"}),
    ("page_view", {"url": "/blog/scoring"}),
    ("page_view", {"url": "/product/api"}),
    ("page_view", {"url": "/careers"}),
    ("email_open", {"email_id": "nl-12"}),
    ("email_click", {"email_id": "demo-3"}),
    ("form_submit", {"form": "demo"}),
    ("content_download", {"asset": "ebook"}),
    ("social_share", {}),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted = 0
        self.requests = 0
        self.errors: list[str] = []

    def add(self, accepted: int) -> None:
        with self.lock:
            self.accepted += accepted
            self.requests += 1

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


def event_fragments(contacts: int, count: int = 5_000) -> list[str]:
    """Pre-serialised event bodies without their id: the load generator shares the two
    cores with the server, so it must not spend them building JSON per request."""
    now = datetime.now(UTC)
    out = []
    for _ in range(count):
        kind, props = random.choice(TYPES)
        body = {
            "contact_id": f"c{random.randrange(contacts):06d}",
            "type": kind,
            "timestamp": (now - timedelta(seconds=random.uniform(0, 60 * 86_400))).isoformat(),
            "properties": props,
        }
        out.append(json.dumps(body)[1:])  # '"contact_id": ...}' (the opening brace dropped)
    return out


class Http:
    """A keep-alive HTTP/1.1 connection (stdlib http.client: far less client CPU per
    request than httpx, which matters when client and server share two cores)."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.port = port
        self.headers = {**headers, "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        try:
            self.conn.request(method, path, body=body, headers=self.headers)
            r = self.conn.getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            raise


def ingest_client(
    port: int,
    headers: dict[str, str],
    stop: threading.Event,
    counter: Counter,
    batch: int,
    fragments: list[str],
    tag: str,
) -> None:
    client = Http(port, headers)
    n = 0
    k = random.randrange(len(fragments))
    while not stop.is_set():
        if batch > 1:
            parts = []
            for i in range(batch):
                parts.append(
                    f'{{"event_id": "{tag}-{n + i}", {fragments[(k + i) % len(fragments)]}'
                )
            k += batch
            n += batch
            body = '{"events": [' + ", ".join(parts) + "]}"
            path = "/v1/events/batch"
        else:
            body = f'{{"event_id": "{tag}-{n}", {fragments[k % len(fragments)]}'
            k += 1
            n += 1
            path = "/v1/events"
        try:
            status, text = client.request("POST", path, body.encode())
        except (OSError, http.client.HTTPException) as exc:
            counter.error(f"{type(exc).__name__}: {exc}")
            continue
        if status not in (200, 201):
            counter.error(f"{status}: {text[:200]!r}")
            continue
        out = json.loads(text)
        counter.add(out["accepted"] if batch > 1 else int(out["status"] == "accepted"))


def reader(
    port: int,
    headers: dict[str, str],
    stop: Any,
    results: Any,
    contacts: int,
    rate: float,
) -> None:
    """Score reads at a fixed rate, in a process of its own so that the latency
    measured is the server's, not the wait for this load generator's GIL."""
    client = Http(port, headers)
    latencies: list[float] = []
    errors: list[str] = []
    next_at = time.perf_counter()
    while not stop.is_set():
        cid = f"c{random.randrange(contacts):06d}"
        t0 = time.perf_counter()
        try:
            status, text = client.request("GET", f"/v1/contacts/{cid}/score")
            ok = status == 200 and b'"scores"' in text
        except (OSError, http.client.HTTPException) as exc:
            ok = False
            errors.append(str(exc))
        latencies.append(time.perf_counter() - t0)
        if not ok:
            errors.append("bad read")
        next_at += 1 / rate
        time.sleep(max(0.0, next_at - time.perf_counter()))
    results.put((latencies, errors))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def status_of(port: int, headers: dict[str, str]) -> dict[str, Any]:
    status, text = Http(port, headers).request("GET", "/v1/status")
    assert status == 200, text
    return dict(json.loads(text))


def phase(
    port: int,
    headers: dict[str, str],
    *,
    batch: int,
    clients: int,
    duration: float,
    contacts: int,
    read_rate: float,
    name: str,
) -> dict[str, Any]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    stop = threading.Event()
    read_stop = ctx.Event()
    read_results = ctx.Queue()
    counter = Counter()
    fragments = event_fragments(contacts)
    threads = [
        threading.Thread(
            target=ingest_client,
            args=(
                port,
                headers,
                stop,
                counter,
                batch,
                fragments,
                f"{name}-{k}-{uuid.uuid4().hex[:6]}",
            ),
        )
        for k in range(clients)
    ]
    read_proc = ctx.Process(
        target=reader, args=(port, headers, read_stop, read_results, contacts, read_rate)
    )
    read_proc.start()
    time.sleep(1.0)  # the reader process is up before the clock starts
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(duration)
    read_stop.set()
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies, read_errors = read_results.get(timeout=60)
    read_proc.join(10)
    # How far behind the background scorer is when ingest stops.
    lag_started = time.perf_counter()
    pending_at_end = status_of(port, headers)["pending_rescoring"]
    while status_of(port, headers)["pending_rescoring"] > 0:
        time.sleep(0.1)
    return {
        "phase": name,
        "events_per_s": counter.accepted / elapsed,
        "requests": counter.requests,
        "errors": len(counter.errors) + len(read_errors),
        "error_samples": (counter.errors + read_errors)[:3],
        "reads": len(latencies),
        "read_p50_ms": pct(latencies, 50),
        "read_p99_ms": pct(latencies, 99),
        "read_max_ms": pct(latencies, 100),
        "pending_at_end": pending_at_end,
        "scoring_catch_up_s": time.perf_counter() - lag_started,
    }


def run_store(store: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    sys.path.insert(0, str(REPO / "src"))
    from leadscore.service.keys import create_key
    from leadscore.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="leadscore-bench-"))
    pg_name = None
    if store == "sqlite":
        db = str(tmp / "bench.db")
    else:
        import psycopg

        pg_name = f"leadscore_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        db = f"{args.pg_url.rsplit('/', 1)[0]}/{pg_name}"
    s = Store(db)
    s.upgrade()
    key = create_key(s, ["admin"], "bench")["key"]
    s.dispose()
    headers = {"Authorization": f"Bearer {key}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leadscore.cli.main",
            "serve",
            "--db",
            db,
            "--port",
            str(port),
            "--model",
            str(MODEL),
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=log,
    )
    results = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            for i in range(args.contacts):
                profile = {
                    "job_title": random.choice(["VP Sales", "Analyst", "Head of Data", "Intern"]),
                    "industry": random.choice(["software", "retail", "fintech"]),
                    "employees": random.choice([12, 300, 4000]),
                    "country": random.choice(["US", "GB", "DE"]),
                }
                r = client.post("/v1/contacts", json={"contact_id": f"c{i:06d}", "fields": profile})
                r.raise_for_status()
        for name, batch in (("batch", args.batch), ("single", 1)):
            results.append(
                {
                    "store": store,
                    **phase(
                        port,
                        headers,
                        batch=batch,
                        clients=args.clients if batch > 1 else args.single_clients,
                        duration=args.duration,
                        contacts=args.contacts,
                        read_rate=args.read_rate,
                        name=name,
                    ),
                }
            )
            print(json.dumps(results[-1]), flush=True)
        results[-1]["events_stored"] = status_of(port, headers)["events"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if pg_name is not None:
            import psycopg

            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--contacts", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent batch clients")
    parser.add_argument(
        "--single-clients", type=int, default=8, help="concurrent single-event clients"
    )
    parser.add_argument("--read-rate", type=float, default=50.0, help="score reads per second")
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    random.seed(1)
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    print(f"load before: {os.getloadavg()}", flush=True)
    rows = [row for store in stores for row in run_store(store, args)]
    print(f"load after: {os.getloadavg()}", flush=True)
    print("| store | phase | events/s | errors | score read p50 | p99 | scorer catch-up after |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['store']} | {r['phase']} | {r['events_per_s']:,.0f} | {r['errors']} | "
            f"{r['read_p50_ms']:.1f} ms | {r['read_p99_ms']:.1f} ms | {r['scoring_catch_up_s']:.1f} s |"
        )


if __name__ == "__main__":
    main()
