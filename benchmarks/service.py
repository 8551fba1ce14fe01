"""Load test of the running service over loopback, for SQLite and PostgreSQL.

For each store: a fresh database, `leadscore serve` started as a subprocess with
examples/model.yaml, CONTACTS contacts created, then two timed phases:

1. batch ingest: CLIENTS concurrent clients post batches of BATCH events;
2. single ingest: CLIENTS concurrent clients post one event per request;

while a reader thread fetches a random contact's score
(`GET /v1/contacts/{id}/score`) at READ_RATE requests/s. Reported: accepted
events/s, errors, score-read p50/p99 during each phase, and how long the
background scorer took after the phase to bring every score up to date.

    python benchmarks/service.py                   # both stores
    python benchmarks/service.py --store sqlite --duration 20

The load generator shares the machine with the server (2 cores here), so the
figures are a floor for the server alone.
"""

from __future__ import annotations

import argparse
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


def make_event(seq: str, contacts: int, now: datetime) -> dict[str, Any]:
    kind, props = random.choice(TYPES)
    return {
        "event_id": seq,
        "contact_id": f"c{random.randrange(contacts):06d}",
        "type": kind,
        "timestamp": (now - timedelta(seconds=random.uniform(0, 60 * 86_400))).isoformat(),
        "properties": props,
    }


def ingest_client(
    url: str,
    headers: dict[str, str],
    stop: threading.Event,
    counter: Counter,
    batch: int,
    contacts: int,
    tag: str,
) -> None:
    now = datetime.now(UTC)
    n = 0
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        while not stop.is_set():
            if batch > 1:
                events = [make_event(f"{tag}-{n + i}", contacts, now) for i in range(batch)]
                n += batch
                body = json.dumps({"events": events})
                path = "/v1/events/batch"
            else:
                body = json.dumps(make_event(f"{tag}-{n}", contacts, now))
                n += 1
                path = "/v1/events"
            try:
                r = client.post(path, content=body, headers={"Content-Type": "application/json"})
            except httpx.HTTPError as exc:
                counter.error(f"{type(exc).__name__}: {exc}")
                continue
            if r.status_code not in (200, 201):
                counter.error(f"{r.status_code}: {r.text[:200]}")
                continue
            out = r.json()
            counter.add(out["accepted"] if batch > 1 else int(out["status"] == "accepted"))


def reader(
    url: str,
    headers: dict[str, str],
    stop: threading.Event,
    latencies: list[float],
    errors: list[str],
    contacts: int,
    rate: float,
) -> None:
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        next_at = time.perf_counter()
        while not stop.is_set():
            cid = f"c{random.randrange(contacts):06d}"
            t0 = time.perf_counter()
            try:
                r = client.get(f"/v1/contacts/{cid}/score")
                ok = r.status_code == 200 and "scores" in r.json()
            except httpx.HTTPError as exc:
                ok = False
                errors.append(str(exc))
            latencies.append(time.perf_counter() - t0)
            if not ok:
                errors.append("bad read")
            next_at += 1 / rate
            time.sleep(max(0.0, next_at - time.perf_counter()))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def phase(
    url: str,
    headers: dict[str, str],
    *,
    batch: int,
    clients: int,
    duration: float,
    contacts: int,
    read_rate: float,
    name: str,
) -> dict[str, Any]:
    stop = threading.Event()
    counter = Counter()
    latencies: list[float] = []
    read_errors: list[str] = []
    threads = [
        threading.Thread(
            target=ingest_client,
            args=(
                url,
                headers,
                stop,
                counter,
                batch,
                contacts,
                f"{name}-{k}-{uuid.uuid4().hex[:6]}",
            ),
        )
        for k in range(clients)
    ]
    threads.append(
        threading.Thread(
            target=reader,
            args=(url, headers, stop, latencies, read_errors, contacts, read_rate),
        )
    )
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(duration)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    # How far behind the background scorer is when ingest stops.
    lag_started = time.perf_counter()
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        pending_at_end = client.get("/v1/status").json()["pending_rescoring"]
        while client.get("/v1/status").json()["pending_rescoring"] > 0:
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
                        url,
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
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            status = client.get("/v1/status").json()
        results[-1]["events_stored"] = status["events"]
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
