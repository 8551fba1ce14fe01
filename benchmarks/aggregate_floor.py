"""What DuckDB's GROUP BY costs per aggregate, on the batch benchmark's events.

    python3 benchmarks/aggregate_floor.py               # 1M contacts / 50M events
    python3 benchmarks/aggregate_floor.py --scale small # 100k / 5M

The batch target asks for the compiled 30-rule model within 2x of one bare
``GROUP BY contact_id`` summing a single column. A model whose event rules each have
their own cap needs one running total per rule and contact, so the compiled query
holds about 20 aggregates in its GROUP BY. This script measures how the cost of a
GROUP BY over the same 50M events and 1M contacts grows with the number of aggregates
and nothing else: plain ``SUM(x * k)`` over DOUBLE columns, the sparse
``SUM(CASE ... END)`` shape the compiler emits (each aggregate sees a value on a few
rows, NULL on the rest), and the long alternative (one SUM grouped by contact and a
rule slot). The events are first loaded into an in-memory table so that reading
Parquet is not part of the figures; the Parquet floor is timed as in batch.py.

Each variant runs ``--repeat`` times (default 2), alternating, and the best wall and
CPU time are reported (CPU = this process's user+system time, all DuckDB threads).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import UTC, datetime

import batch
import duckdb


def variants(n_slots: int = 20) -> dict[str, str]:
    def sums(n: int) -> str:
        aggs = ", ".join(f"SUM(x * {i + 1}.0) AS a{i}" for i in range(n))
        return f"SELECT contact_id, {aggs} FROM ev GROUP BY contact_id"

    sparse = ", ".join(
        f"SUM(CASE WHEN slot = {i} THEN x * {i + 1}.0 END) AS a{i}" for i in range(n_slots)
    )
    return {
        "parquet floor: 1 SUM (batch.py's floor)": "SELECT contact_id, SUM(event_id) AS s "
        "FROM read_parquet('{events}') GROUP BY contact_id",
        "1 SUM(double)": sums(1),
        "5 SUM(double)": sums(5),
        "10 SUM(double)": sums(10),
        "20 SUM(double)": sums(20),
        "20 sparse SUM(CASE slot = i ...)": f"SELECT contact_id, {sparse} FROM ev GROUP BY contact_id",
        "long: 1 SUM by (contact, slot)": "SELECT contact_id, slot, SUM(x) AS s "
        "FROM ev GROUP BY contact_id, slot",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(batch.SCALES), default="large")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    n_contacts, n_events = batch.SCALES[args.scale]
    data, _ = batch.generate(n_contacts, n_events)
    events = str(data / "events.parquet").replace("'", "''")
    con = duckdb.connect()
    # x: a DOUBLE per event (its timestamp), slot: one of 20 "rules" (8 % of rows each
    # but the first, like a rule's share of the events)
    con.execute(
        "CREATE TEMP TABLE ev AS SELECT contact_id, epoch_us(timestamp)::DOUBLE AS x, "
        f"(event_id % 20)::INTEGER AS slot FROM read_parquet('{events}')"
    )
    queries = {k: v.replace("{events}", events) for k, v in variants().items()}
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):
        for name, sql in queries.items():
            if "read_parquet" in sql:
                batch.warm(data / "events.parquet")
            t0, c0 = time.perf_counter(), time.process_time()
            con.sql(sql).to_arrow_table()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            w, c = best.get(name, (wall, cpu))
            best[name] = (min(w, wall), min(c, cpu))
            print(f"  {name}: {wall:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr, flush=True)
    floor = best["1 SUM(double)"][0]
    print(
        f"{n_contacts:,} contacts / {n_events:,} events, best of {args.repeat}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, "
        f"DuckDB {duckdb.__version__}, Python {platform.python_version()}\n"
    )
    print("| GROUP BY | wall | CPU | wall / 1 SUM in memory |")
    print("|---|---|---|---|")
    for name, (wall, cpu) in best.items():
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {wall / floor:.1f}x |")


if __name__ == "__main__":
    main()
