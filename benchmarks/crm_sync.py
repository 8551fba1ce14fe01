"""CRM backfill throughput: N scored contacts through the outbox into a local HubSpot.

    python benchmarks/crm_sync.py [--contacts 20000] [--pg postgresql://host/db]

Seeds N scored contacts (not timed), queues them all (timed: the backfill's
enqueue), then drains the outbox into the local HubSpot of the contract tests
(tests/crm/fakecrm.py) on 127.0.0.1 with HubSpot's own limits: 100 contacts a
call, 190 calls per 10 s on our side. Prints contacts/s of the enqueue and of
the drain (claim, read, build, POST, settle). A real HubSpot answers a batch
update in hundreds of milliseconds, so against it the drain is bounded by the
network and the 190/10 s limit (at most 1,900 contacts/s), not by leadscore.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "crm"))
from crmkit import HUBSPOT_MAP, seed
from fakecrm import FakeHubSpot

from leadscore.crm import outbox
from leadscore.crm.config import parse_config
from leadscore.crm.sync import CrmSync
from leadscore.store import Store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument(
        "--pg", default=None, help="a PostgreSQL server URL: a scratch database is made there"
    )
    args = parser.parse_args()
    scratch = None
    if args.pg:
        import psycopg

        scratch = f"leadscore_crmbench_{uuid.uuid4().hex[:10]}"  # never a shared database
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{scratch}"')
        db = f"{args.pg.rsplit('/', 1)[0]}/{scratch}"
    else:
        db = str(Path(tempfile.mkdtemp()) / "bench.db")
    store = Store(db)
    store.upgrade()
    fake = FakeHubSpot()
    for i in range(args.contacts):
        fake.add_contact(f"person{i}@example.com")
    fake.start()
    os.environ["BENCH_HUBSPOT_TOKEN"] = fake.token
    seed(store, args.contacts)
    config = parse_config(
        {
            "hubspot": {
                "base_url": fake.url,
                "token_env": "BENCH_HUBSPOT_TOKEN",
                "properties": HUBSPOT_MAP,
            }
        }
    )
    t0 = time.perf_counter()
    queued = outbox.enqueue_all(store, "hubspot")
    t1 = time.perf_counter()
    sync = CrmSync(store, config, "hubspot", allow=("127.0.0.0/8",))  # the fake is on loopback
    done = sync.drain()
    t2 = time.perf_counter()
    assert done.sent == args.contacts == queued == len(fake.updates), (done, queued)
    print(f"{platform.node()} {os.cpu_count()} cores, load {os.getloadavg()}")
    print(
        f"store {store.dialect}, {args.contacts:,} contacts, {fake.calls(FakeHubSpot.BATCH)} calls"
    )
    print(f"enqueue: {t1 - t0:.2f} s ({queued / (t1 - t0):,.0f} contacts/s)")
    print(f"drain:   {t2 - t1:.2f} s ({done.sent / (t2 - t1):,.0f} contacts/s)")
    sync.close()
    fake.stop()
    store.dispose()
    if scratch is not None:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


if __name__ == "__main__":
    main()
