"""Dashboard response times with 100,000 leads in the store.

Builds a SQLite store (the embedded default) with N leads, each a copy of one of
the 200 example contacts with that contact's events (about 11 per lead, 1.1M in
all for 100,000 leads), scores every lead with examples/model.yaml through the
service's own rescoring, closes a few thousand deals, then serves the real app
(``create_app``) with uvicorn on 127.0.0.1 and times HTTP requests for the queue
page (default view, filtered views, a deep page) and lead pages, authenticated with
an API key header, from a client in the same process.

Usage:

    python3 benchmarks/dashboard.py                 # 100,000 leads; builds the store once
    python3 benchmarks/dashboard.py --leads 10000
    python3 benchmarks/dashboard.py --rebuild       # start from an empty store
    python3 benchmarks/dashboard.py --registry /tmp/models   # + a served predictive model

With ``--registry`` the server serves the champion predictive model of that
directory (trained there first, on the example data with the browser tests'
made-up outcome, when it holds none), so lead pages include the predictive panel,
and the performance page (predictive lift and calibration over the store's
outcomes) is timed too.

The store is kept in benchmarks/data/dashboard/ (git-ignored) and reused when it
already holds the requested number of leads.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import socket
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATA = ROOT / "benchmarks" / "data" / "dashboard"
EXAMPLES_AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
TARGET_MS = 300.0


def _examples(shift: timedelta) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    with (EXAMPLES / "contacts.csv").open(newline="", encoding="utf-8") as handle:
        people = list(csv.DictReader(handle))
    history: dict[str, list[dict[str, Any]]] = {}
    with (EXAMPLES / "events.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            props = {
                k: v
                for k, v in row.items()
                if k not in ("event_id", "contact_id", "type", "timestamp") and v
            }
            ts = datetime.fromisoformat(row["timestamp"]) + shift
            history.setdefault(row["contact_id"], []).append(
                {"event_id": row["event_id"], "type": row["type"], "ts": ts, "props": props}
            )
    return people, history


def build(service: Any, n: int, seed: int = 0) -> None:
    """Fill the store: contacts in bulk, events through the service's ingest."""
    from sqlalchemy import insert

    from leadscore.service.events import ingest
    from leadscore.service.leads import stage_action
    from leadscore.store import now_us
    from leadscore.store.tables import contacts, transitions

    rng = random.Random(seed)
    # The example history ends on 2026-11-01; move it so it ends today.
    shift = timedelta(days=(datetime.now(UTC) - EXAMPLES_AS_OF).days)
    people, history = _examples(shift)
    owners = ["ana", "ben", "chen", "dana", "eli", None]
    store = service.store
    t0 = time.perf_counter()
    for start in range(0, n, 5_000):
        stamp = now_us()
        rows, moves = [], []
        for i in range(start, min(n, start + 5_000)):
            src = people[i % len(people)]
            cid = f"L{i:07d}"
            fields = {k: v for k, v in src.items() if k not in ("contact_id", "email") and v}
            fields["email"] = src["email"].replace("@", f"+{i}@")
            if "created_at" in fields:
                fields["created_at"] = (
                    datetime.fromisoformat(fields["created_at"]) + shift
                ).isoformat()
            rows.append(
                {
                    "contact_id": cid,
                    "email": None,
                    "account_id": None,
                    "owner": rng.choice(owners),
                    "fields": fields,
                    "stage": "lead",
                    "stage_us": stamp,
                    "surging": False,
                    "dirty": 1,
                    "created_us": stamp,
                    "updated_us": stamp,
                }
            )
            moves.append(
                {
                    "contact_id": cid,
                    "from_stage": None,
                    "to_stage": "lead",
                    "at_us": stamp,
                    "cause": "created",
                }
            )
        # The same rows upsert_contact writes, in bulk: one transaction per
        # 5,000 leads instead of one per lead.
        with store.write() as conn:
            conn.execute(insert(contacts), rows)
            conn.execute(insert(transitions), moves)
    print(f"  contacts: {n:,} in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    batch: list[dict[str, Any]] = []
    total = 0
    for i in range(n):
        src = people[i % len(people)]["contact_id"]
        for ev in history.get(src, []):
            batch.append(
                {
                    "event_id": f"L{i:07d}-{ev['event_id']}",
                    "contact_id": f"L{i:07d}",
                    "type": ev["type"],
                    "timestamp": ev["ts"].isoformat(),
                    "properties": ev["props"],
                }
            )
        if len(batch) >= 10_000 or i == n - 1:
            result = ingest(store, batch)
            assert result.summary()["rejected"] == 0
            total += len(batch)
            batch = []
    print(f"  events: {total:,} in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    scored = service.drain()
    print(f"  scored: {scored:,} leads in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    closed = rng.sample(range(n), k=max(1, n // 40))
    for j, i in enumerate(closed):
        if j % 3 == 0:
            stage_action(store, f"L{i:07d}", "won", value=5000.0, actor="benchmark")
        else:
            stage_action(store, f"L{i:07d}", "lost", reason="benchmark", actor="benchmark")
    print(f"  outcomes: {len(closed):,} in {time.perf_counter() - t0:.1f} s", flush=True)


def _ensure_champion(registry: Path) -> None:
    """Train a predictive model into ``registry`` unless it has a champion already."""
    from leadscore.learn.registry import Registry

    registry.mkdir(parents=True, exist_ok=True)
    if Registry(registry).champion("predictive") is not None:
        return
    # The browser tests' training data (the example CSVs with a made-up outcome),
    # so the benchmark serves the same kind of model the tests check.
    sys.path.insert(0, str(ROOT / "tests" / "web"))
    from conftest import train_predictive, training_files  # type: ignore[import-not-found]

    print(f"training a predictive model into {registry} ...", flush=True)
    train_predictive(registry, *training_files(registry.parent / "training"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(client: Any, path: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{path}: HTTP {r.status_code}\n{r.text[:500]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--registry", type=Path, help="serve this registry's predictive model")
    args = parser.parse_args()

    import httpx
    import uvicorn
    from sqlalchemy import func, select

    from leadscore.api.app import create_app
    from leadscore.service.keys import create_key
    from leadscore.service.settings import Settings
    from leadscore.store.tables import contacts

    DATA.mkdir(parents=True, exist_ok=True)
    db = DATA / f"dashboard-{args.leads}.db"
    if args.rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    if args.registry is not None:
        _ensure_champion(args.registry)
    settings = Settings(
        db_url=str(db),
        model_path=str(EXAMPLES / "model.yaml"),
        registry_path=str(args.registry) if args.registry else None,
        run_workers=False,
    )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("server did not start")
        time.sleep(0.05)
    service = app.state.service
    with service.store.read() as conn:
        have = conn.execute(select(func.count()).select_from(contacts)).scalar_one()
    if have != args.leads:
        if have:
            raise SystemExit(f"{db} holds {have:,} leads; use --rebuild")
        print(f"building a store with {args.leads:,} leads in {db} ...", flush=True)
        build(service, args.leads)
    key = create_key(service.store, ["read"], name="benchmark")["key"]
    base = f"http://127.0.0.1:{server.config.port}"
    rng = random.Random(1)
    leads = [f"L{rng.randrange(args.leads):07d}" for _ in range(args.repeat)]
    pages = {
        "queue (default: open leads, priority order)": ["/dashboard/"],
        "queue grade=C4": ["/dashboard/?grade=C4"],
        "queue stage=lead owner=ana": ["/dashboard/?stage=lead&owner=ana"],
        "queue fit >= 40, surging": ["/dashboard/?score=fit&min_score=40&surging=1&stage=all"],
        "queue page 100 (offset 4950)": ["/dashboard/?offset=4950"],
        "lead page (random leads)": [f"/dashboard/leads/{c}" for c in leads],
        "grade matrix": ["/dashboard/matrix"],
    }
    if args.registry is not None:
        champion = service.predictive.current()
        if champion is None:
            raise SystemExit(f"no predictive model served: {service.predictive.problem}")
        print(f"serving predictive model {champion.version} from {args.registry}")
        pages["lead page (random leads)"] = pages.pop("lead page (random leads)")
        pages = {
            (f"{k} + predictive" if k.startswith("lead page") else k): v for k, v in pages.items()
        }
        pages["performance (rule scores + predictive model)"] = ["/dashboard/performance"]
    results = []
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as client:
        # The first queue view after a start builds the in-memory queue index
        # (every contact's narrow columns); later views refresh it incrementally.
        cold = timed(client, "/dashboard/", 1)[0]
        # The predictive section of the performance page scores every decided lead
        # (up to 5,000) once, then is kept until the outcomes or the champion change.
        cold_perf = timed(client, "/dashboard/performance", 1)[0] if args.registry else None
        for name, paths in pages.items():
            timed(client, paths[0], 2)  # warm the caches as a working server would be
            times: list[float] = []
            for i in range(args.repeat):
                times += timed(client, paths[i % len(paths)], 1)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            results.append((name, statistics.median(times), p95, times[-1]))
    server.should_exit = True
    thread.join(10)

    load = os.getloadavg()
    print(
        f"\n{args.leads:,} leads, SQLite, {os.cpu_count()} cores, "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}"
    )
    print(f"first queue view after start (builds the queue index): {cold:.0f} ms")
    if cold_perf is not None:
        print(f"first performance view (scores the decided leads): {cold_perf:.0f} ms")
    print(f"{'page':48} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for name, med, p95, worst in results:
        flag = "" if p95 < TARGET_MS else "  OVER 300 ms"
        print(f"{name:48} {med:10.1f} {p95:8.1f} {worst:8.1f}{flag}")


if __name__ == "__main__":
    main()
