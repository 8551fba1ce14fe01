"""Scores follow the clock: what the due scheduler costs, how late it is, and whether
ingest and reads still meet their targets while it runs.

Model: examples/model.yaml, which has every kind of time-dependent term: half-life
and linear decay, a 90-day window, a 30-day volume tier, an inactivity threshold
(quiet-month: -30 after 30 days without an event), a 7-day surge, grades and stages.

Phase A, in process, on the service clock (a ManualClock):

1. N contacts with synthetic histories (0-15 events each over the last 120 days,
   the example model's event types), bulk-written to a fresh store and scored
   (each rescoring now also computes the next due moment): contacts/s.
2. Simulated hours pass: each hour the clock moves on and the scheduler rescores
   what is due (`ScoringEngine.rescore_due`). Measured: due contacts per simulated
   hour (the due distribution the real model gives these histories) and this
   process's CPU per clock rescoring (SQLite is in process; PostgreSQL's server CPU
   is read from /proc of the postgres processes). Scaled to 1M contacts: CPU
   seconds per hour of wall time = rescorings/h x (1M / N) x CPU per rescoring.

Phase B, a real `leadscore serve` (scorer in its own process, wall clock):

   M contacts whose only page view turns 30 days old at a known moment spread over
   the next WINDOW seconds, M chosen so that the due rate equals phase A's rate at
   1M contacts; meanwhile 2 clients post 1,000-event batches and a reader fetches
   scores 50 times/s. Lateness = the clock snapshot's as_of minus the known moment
   (p50/p99/max), plus ingest events/s and read p50/p99 (targets: >= 5,000 events/s
   in batches, read p99 < 50 ms).

    python benchmarks/clock.py --contacts 20000 --store sqlite
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import service as loadgen  # noqa: E402  (benchmarks/service.py: the HTTP load generator)

PG_URL = os.environ.get("LEADSCORE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
MODEL_TEXT = (REPO / "examples" / "model.yaml").read_text(encoding="utf-8")
EVENT_KINDS: list[tuple[str, dict[str, Any]]] = [
    ("page_view", {"url": "/pricing"}),
    ("page_view", {"url": "/blog/funnels"}),
    ("page_view", {"url": "/docs/start"}),
    ("page_view", {"url": "/careers"}),
    ("email_click", {"email_id": "news-12"}),
    ("email_click", {"email_id": "demo-3"}),
    ("form_submit", {"form": "demo"}),
    ("content_download", {"asset": "guide"}),
    ("webinar_attended", {}),
    ("event_attended", {}),
]


def profiles() -> list[dict[str, Any]]:
    with (REPO / "examples" / "contacts.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        {k: v for k, v in r.items() if v != "" and k not in ("contact_id", "email")} for r in rows
    ]


def seed(store: Any, n: int, now: datetime, rng: random.Random) -> None:
    """N contacts with synthetic histories, bulk-written (dirty: to be scored)."""
    from sqlalchemy import insert

    from leadscore.store.tables import contacts, events

    people = profiles()
    stamp = round(now.timestamp() * 1e6)
    for start in range(0, n, 5_000):
        c_rows, e_rows = [], []
        for i in range(start, min(n, start + 5_000)):
            cid = f"c{i:06d}"
            c_rows.append(
                {
                    "contact_id": cid,
                    "fields": rng.choice(people),
                    "stage": "lead",
                    "stage_us": stamp,
                    "dirty": 1,
                    "surging": False,
                    "created_us": stamp,
                    "updated_us": stamp,
                }
            )
            for j in range(rng.randint(0, 15)):
                kind, props = rng.choice(EVENT_KINDS)
                at = now - timedelta(days=rng.uniform(0, 120))
                e_rows.append(
                    {
                        "event_id": f"{cid}-{j}",
                        "contact_id": cid,
                        "type": kind,
                        "ts_us": round(at.timestamp() * 1e6),
                        "properties": props,
                        "received_us": stamp,
                    }
                )
        with store.write() as conn:
            conn.execute(insert(contacts), c_rows)
            if e_rows:
                conn.execute(insert(events), e_rows)


def postgres_cpu() -> float:
    """CPU seconds used so far by every postgres process on this machine (user+system)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as handle:
                parts = handle.read().rsplit(")", 1)
            if "postgres" not in Path(f"/proc/{pid}/comm").read_text():
                continue
            fields = parts[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue
    return total


def phase_a(db: str, n: int, hours: int, rng: random.Random) -> dict[str, Any]:
    from sqlalchemy import func, select

    from leadscore.service import clock as service_clock
    from leadscore.service.models import Rescorer, upload_model
    from leadscore.service.runtime import Service
    from leadscore.service.settings import Settings
    from leadscore.store.tables import contacts

    clock = service_clock.ManualClock(datetime.now(UTC).replace(microsecond=0))
    service_clock.install(clock)
    service = Service(Settings(db_url=db, run_workers=False, rescore_chunk=100))
    service.store.upgrade()
    version = upload_model(service.store, MODEL_TEXT)["version"]
    seed(service.store, n, clock.now(), rng)
    started = time.perf_counter()
    Rescorer(service.store, service.engine, 500).activate(version, background=False)
    scored_s = time.perf_counter() - started
    with service.store.read() as conn:
        never = conn.execute(
            select(func.count()).select_from(contacts).where(contacts.c.due_us.is_(None))
        ).scalar_one()
    per_hour = []
    cpu = 0.0
    pg = service.store.dialect == "postgresql"
    for _ in range(hours):
        clock.advance(hours=1)
        cpu0, pg0 = time.process_time(), postgres_cpu() if pg else 0.0
        per_hour.append(service.rescore_due())
        cpu += time.process_time() - cpu0 + ((postgres_cpu() - pg0) if pg else 0.0)
    # An idle scheduler polls once a second: the cost of an hour of empty polls.
    cpu0, pg0 = time.process_time(), postgres_cpu() if pg else 0.0
    for _ in range(600):
        service.engine.rescore_due(100)
    poll_cpu = (time.process_time() - cpu0 + ((postgres_cpu() - pg0) if pg else 0.0)) * 6
    service.stop()
    service_clock.install(service_clock.SystemClock())
    rescored = sum(per_hour)
    # The first hours are quieter (every contact was just scored, so no drift is
    # due yet); the second half of the simulated day is the steady state.
    steady = per_hour[hours // 2 :]
    rate = sum(steady) / len(steady)
    per_rescoring = cpu / max(1, rescored)
    scale = 1_000_000 / n
    return {
        "contacts": n,
        "initial_scoring_per_s": n / scored_s,
        "never_due_share": never / n,
        "due_per_hour": per_hour,
        "due_per_hour_steady": rate,
        "cpu_ms_per_clock_rescoring": per_rescoring * 1000,
        "due_per_hour_at_1M": rate * scale,
        "cpu_s_per_wall_hour_at_1M": rate * scale * per_rescoring + poll_cpu,
        "idle_poll_cpu_s_per_hour": poll_cpu,
    }


def phase_b(db: str, due_per_s: float, window: float, rng: random.Random) -> dict[str, Any]:
    """A real server: lateness of due contacts while ingest and reads run."""
    from sqlalchemy import select

    from leadscore.service.keys import create_key
    from leadscore.service.models import Rescorer, upload_model
    from leadscore.service.runtime import Service
    from leadscore.service.settings import Settings
    from leadscore.store.tables import score_snapshots

    service = Service(Settings(db_url=db, run_workers=False))
    service.store.upgrade()
    model_path = Path(tempfile.mkdtemp()) / "model.yaml"
    model_path.write_text(MODEL_TEXT, encoding="utf-8")
    version = upload_model(service.store, MODEL_TEXT)["version"]
    background = 2_000  # ordinary contacts the readers and ingest clients touch
    seed(service.store, background, datetime.now(UTC), rng)
    m = round(due_per_s * window)
    lead = 45.0  # seconds for seeding, scoring and the server's start
    base = datetime.now(UTC) + timedelta(seconds=lead)
    expected: dict[str, int] = {}
    from sqlalchemy import insert

    from leadscore.store.tables import contacts, events

    stamp = round(time.time() * 1e6)
    c_rows, e_rows = [], []
    for i in range(m):
        cid = f"d{i:06d}"
        due = base + timedelta(seconds=rng.uniform(0, window))
        at = due - timedelta(days=30)
        expected[cid] = round(due.timestamp() * 1e6)
        c_rows.append(
            {
                "contact_id": cid,
                "fields": {},
                "stage": "lead",
                "stage_us": stamp,
                "dirty": 1,
                "surging": False,
                "created_us": stamp,
                "updated_us": stamp,
            }
        )
        e_rows.append(
            {
                "event_id": f"{cid}-0",
                "contact_id": cid,
                "type": "page_view",
                "ts_us": round(at.timestamp() * 1e6),
                "properties": {"url": "/blog/x"},
                "received_us": stamp,
            }
        )
    if c_rows:  # none for a baseline run
        with service.store.write() as conn:
            conn.execute(insert(contacts), c_rows)
            conn.execute(insert(events), e_rows)
    Rescorer(service.store, service.engine, 500).activate(version, background=False)
    key = create_key(service.store, ["admin"], "bench")["key"]
    service.stop()
    ready = (base - datetime.now(UTC)).total_seconds()
    if ready < 5:
        raise SystemExit(f"seeding took too long ({lead - ready:.0f} s); raise `lead`")

    port = loadgen.free_port()
    log = open(Path(model_path).parent / "server.log", "wb")  # noqa: SIM115
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
            str(model_path),
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    headers = {"Authorization": f"Bearer {key}"}
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)
        time.sleep(max(0.0, (base - datetime.now(UTC)).total_seconds()))
        load = loadgen.phase(
            port,
            headers,
            batch=1_000,
            clients=2,
            duration=window + 10,
            contacts=background,
            read_rate=50,
            name="clock",
        )
        time.sleep(5)
    finally:
        proc.terminate()
        proc.wait(30)
    reader = Service(Settings(db_url=db, run_workers=False))
    with reader.store.read() as conn:
        rows = conn.execute(
            select(score_snapshots.c.contact_id, score_snapshots.c.as_of_us).where(
                score_snapshots.c.cause == "clock"
            )
        ).all()
    reader.store.dispose()
    late = [(us - expected[cid]) / 1e6 for cid, us in rows if cid in expected]
    missing = m - len({cid for cid, _ in rows if cid in expected})
    if not late:
        late = [float("nan")]
    return {
        "due_contacts": m,
        "window_s": window,
        "rescored_late_p50_s": loadgen.pct(late, 50) / 1000,
        "rescored_late_p99_s": loadgen.pct(late, 99) / 1000,
        "rescored_late_max_s": loadgen.pct(late, 100) / 1000,
        "not_rescored": missing,
        **{k: v for k, v in load.items() if k != "phase"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument(
        "--due-per-hour-at-1m",
        type=float,
        help="skip phase A and use this due rate for phase B (0: a baseline without due contacts)",
    )
    args = parser.parse_args()
    rng = random.Random(13)
    created = []

    def fresh_db() -> str:
        if args.store == "sqlite":
            return str(Path(tempfile.mkdtemp(prefix="leadscore-clock-")) / "bench.db")
        import psycopg

        name = f"leadscore_clock_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"{PG_URL.rsplit('/', 1)[0]}/{name}"

    try:
        rate = args.due_per_hour_at_1m
        if rate is None:
            a = phase_a(fresh_db(), args.contacts, args.hours, rng)
            print(json.dumps({"phase": "A", **a}, indent=1), flush=True)
            rate = a["due_per_hour_at_1M"]
        if not args.skip_server:
            b = phase_b(fresh_db(), rate / 3600, args.window, rng)
            print(json.dumps({"phase": "B", **b}, indent=1), flush=True)
    finally:
        if created:
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                for name in created:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
