"""Benchmark of the ``/v1/reports`` routes on a service store.

Fills a fresh store (SQLite file by default, or ``--db postgresql://...`` on a
scratch database you created) with synthetic leads written straight through the
store's tables (the ingest path has its own benchmark), then times each report
route end to end through the ASGI app: key check, reading the store, the
analytics, JSON. Usage:

    python3 benchmarks/reports_api.py                         # 100k contacts, 1M events
    python3 benchmarks/reports_api.py --contacts 20000 --events 200000
    python3 benchmarks/reports_api.py --db postgresql://postgres@127.0.0.1/scratch_db

Shape: leads created over two years, 30 % reach MQL, 40 % of those SQL, 40 % of
those become customers with a deal value; events of six types with 50 campaigns.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert

START_US = 1_672_531_200_000_000  # 2023-01-01
SPAN_US = 730 * 86_400_000_000
TYPES = ["page_view", "email_open", "email_click", "form_submit", "call", "webinar_attended"]
SOURCES = ["organic", "paid_search", "social", "email", "referral", "direct"]


def fill(store, n_contacts: int, n_events: int, seed: int = 7) -> None:
    from leadscore.store.tables import contacts, events, outcomes, transitions

    rng = np.random.default_rng(seed)
    created = START_US + rng.integers(0, SPAN_US, n_contacts)
    day = 86_400_000_000
    mql = rng.random(n_contacts) < 0.3
    sql = mql & (rng.random(n_contacts) < 0.4)
    won = sql & (rng.random(n_contacts) < 0.4)
    t_mql = created + rng.integers(0, 60, n_contacts) * day
    t_sql = t_mql + rng.integers(0, 20, n_contacts) * day
    t_won = t_sql + rng.integers(1, 60, n_contacts) * day
    chunk = 20_000
    with store.write() as conn:
        rows = []
        trans = []
        wins = []
        for i in range(n_contacts):
            cid = f"c{i}"
            stage = "customer" if won[i] else "sql" if sql[i] else "mql" if mql[i] else "lead"
            rows.append(
                {
                    "contact_id": cid,
                    "fields": {"source": SOURCES[i % len(SOURCES)]},
                    "stage": stage,
                    "stage_us": int(created[i]),
                    "surging": False,
                    "dirty": 0,
                    "created_us": int(created[i]),
                    "updated_us": int(created[i]),
                }
            )
            trans.append((cid, None, "lead", int(created[i]), "created"))
            if mql[i]:
                trans.append((cid, "lead", "mql", int(t_mql[i]), "threshold"))
            if sql[i]:
                trans.append((cid, "mql", "sql", int(t_sql[i]), "sales:accept"))
            if won[i]:
                trans.append((cid, "sql", "customer", int(t_won[i]), "sales:won"))
                wins.append((cid, float(rng.integers(1, 50)) * 100, int(t_won[i])))
        for k in range(0, len(rows), chunk):
            conn.execute(insert(contacts), rows[k : k + chunk])
        keys = ("contact_id", "from_stage", "to_stage", "at_us", "cause")
        for k in range(0, len(trans), chunk):
            conn.execute(
                insert(transitions), [dict(zip(keys, t, strict=True)) for t in trans[k : k + chunk]]
            )
        if wins:
            conn.execute(
                insert(outcomes),
                [{"contact_id": c, "kind": "won", "value": v, "at_us": a} for c, v, a in wins],
            )
    owners = rng.integers(0, n_contacts, n_events)
    ts = created[owners] + rng.integers(0, 90, n_events) * day
    kinds = rng.integers(0, len(TYPES), n_events)
    camps = rng.integers(0, 80, n_events)
    for k in range(0, n_events, chunk):
        batch = [
            {
                "event_id": f"e{j}",
                "contact_id": f"c{owners[j]}",
                "type": TYPES[kinds[j]],
                "ts_us": int(ts[j]),
                "properties": {"campaign": f"camp{camps[j]}"} if camps[j] < 50 else {},
                "received_us": int(ts[j]),
            }
            for j in range(k, min(k + chunk, n_events))
        ]
        with store.write() as conn:
            conn.execute(insert(events), batch)


ROUTES = [
    ("GET", "/v1/reports/funnel", {}),
    ("GET", "/v1/reports/funnel", {"by": "source", "cohorts": "true"}),
    ("GET", "/v1/reports/velocity", {}),
    ("GET", "/v1/reports/fresh-vs-nurtured", {}),
    ("GET", "/v1/reports/attribution", {"touch": "campaign"}),
    ("GET", "/v1/reports/rfm", {}),
    ("GET", "/v1/reports/goals", {"revenue": 1_000_000, "months": 3}),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", default=None, help="store URL (default: a SQLite file in /tmp)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from fastapi.testclient import TestClient

    from leadscore.api.app import create_app
    from leadscore.service.keys import create_key
    from leadscore.service.settings import Settings
    from leadscore.store import Store

    tmp = tempfile.TemporaryDirectory()
    url = args.db or str(Path(tmp.name) / "reports.db")
    store = Store(url)
    store.upgrade()
    t0 = time.perf_counter()
    fill(store, args.contacts, args.events)
    print(f"filled {args.contacts:,} contacts, {args.events:,} events in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    store.dispose()
    app = create_app(Settings(db_url=url, run_workers=False))
    with TestClient(app) as client:
        key = create_key(app.state.service.store, ["read"], name="bench")["key"]
        headers = {"X-API-Key": key}
        for method, path, params in ROUTES:
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                r = client.request(method, path, params={"as_of": "2025-01-01", **params},
                                   headers=headers)  # fmt: skip
                times.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text[:500]
            label = path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
            print(f"{label:60s} median {statistics.median(times):6.2f} s  "
                  f"(min {min(times):.2f}, {len(r.content) / 1024:.0f} KiB)")  # fmt: skip
    tmp.cleanup()


if __name__ == "__main__":
    main()
