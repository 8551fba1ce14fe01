"""`leadscore import` throughput: 1,000,000 events (and their contacts) into the store.

    python benchmarks/import_events.py [--events 1000000] [--contacts 10000]
        [--db sqlite|postgresql://user@host/db] [--dialect canonical|excel] [--chunk 5000]

Generates a contacts file and an events file (not timed), then times the
`leadscore import` command in a child process, as a user runs it: reading and
converting the files, the API's validation, the idempotency look-ups and the
commits of the service's ingest code, one transaction per chunk. Prints rows/s
for the events and the process's peak RSS. ``--dialect excel`` writes the
events as Excel in a German locale would: semicolon-separated cp1252 with
day-first times (read with --date-format). PostgreSQL: a scratch database is
created and dropped when --db names a server.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

TYPES = ("page_view", "page_view", "page_view", "email_open", "email_click", "form_submit")
LOAD_BEFORE: tuple[float, float, float] = (0.0, 0.0, 0.0)
URLS = ("/pricing", "/blog/a", "/blog/b", "/docs", "/careers", "/demo")


def generate(
    folder: Path, n_contacts: int, n_events: int, dialect: str, seed: int = 0
) -> tuple[Path, Path]:
    rng = random.Random(seed)
    contacts = folder / "contacts.csv"
    with contacts.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["contact_id", "email", "job_title", "country"])
        for c in range(n_contacts):
            writer.writerow(
                [f"c{c}", f"user{c}@corp{c % 500}.com", rng.choice(["VP", "Analyst"]), "US"]
            )
    excel = dialect == "excel"
    events = folder / "events.csv"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with events.open("w", newline="", encoding="cp1252" if excel else "utf-8") as handle:
        writer = csv.writer(handle, delimiter=";" if excel else ",")
        writer.writerow(["event_id", "contact_id", "type", "timestamp", "url", "campaign"])
        for i in range(n_events):
            kind = rng.choice(TYPES)
            moment = start + timedelta(seconds=rng.randrange(300 * 86400))
            stamp = moment.strftime("%d/%m/%Y %H:%M") if excel else moment.isoformat()
            writer.writerow(
                [
                    f"e{i}",
                    f"c{rng.randrange(n_contacts)}",
                    kind,
                    stamp,
                    rng.choice(URLS) if kind == "page_view" else "",
                    "Frühjahr" if kind.startswith("email") else "",
                ]
            )
    return contacts, events


def run_import(
    db: str, contacts: Path, events: Path, dialect: str, chunk: int
) -> dict[str, object]:
    """Contacts first (timed apart), then the events: wall time and peak RSS of each."""
    out: dict[str, object] = {}
    base = [sys.executable, "-m", "leadscore.cli.main", "import", "--db", db, "--chunk", str(chunk)]
    for kind, path in (("contacts", contacts), ("events", events)):
        cmd = [*base, f"--{kind}", str(path)]
        if kind == "events" and dialect == "excel":
            cmd += ["--date-format", "%d/%m/%Y %H:%M"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak = after.ru_maxrss
        # CPU seconds of the import process: on a shared machine, less load-bound than wall.
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        if done.returncode != 0:
            sys.exit(f"import failed ({kind}):\n{done.stdout}\n{done.stderr}")
        summary = done.stdout.strip().splitlines()[0]
        out[kind] = {"wall": wall, "cpu": cpu, "summary": summary, "peak_mib": peak / 1024}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument(
        "--db", default="sqlite", help="sqlite (a temporary file) or a postgresql:// server URL"
    )
    parser.add_argument("--dialect", choices=("canonical", "excel"), default="canonical")
    parser.add_argument("--chunk", type=int, default=5_000)
    args = parser.parse_args()

    global LOAD_BEFORE
    LOAD_BEFORE = os.getloadavg()
    # The code measured: the commit when the run starts (a commit made during it is not).
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="leadscore-import-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        contacts, events = generate(folder, args.contacts, args.events, args.dialect)
        print(
            f"generated {args.contacts:,} contacts, {args.events:,} events "
            f"({events.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s (not timed)"
        )
        scratch = None
        if args.db == "sqlite":
            db = str(folder / "leadscore.db")
        else:
            import psycopg

            scratch = f"leadscore_import_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.db, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{scratch}"')
            db = f"{args.db.rsplit('/', 1)[0]}/{scratch}"
        try:
            got = run_import(db, contacts, events, args.dialect, args.chunk)
        finally:
            if scratch is not None:
                import psycopg

                with psycopg.connect(args.db, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    load_before = " / ".join(f"{x:.2f}" for x in LOAD_BEFORE)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load before {load_before}, after {load}"
    )
    store = "SQLite" if args.db == "sqlite" else "PostgreSQL"
    for kind, n in (("contacts", args.contacts), ("events", args.events)):
        r = got[kind]
        assert isinstance(r, dict)
        print(
            f"{store} {kind}: {n:,} rows in {r['wall']:.1f} s = {n / r['wall']:,.0f} rows/s; "
            f"CPU {r['cpu']:.1f} s = {n / r['cpu']:,.0f} rows per CPU-second "
            f"(peak RSS {r['peak_mib']:.0f} MiB); {r['summary']}"
        )


if __name__ == "__main__":
    main()
