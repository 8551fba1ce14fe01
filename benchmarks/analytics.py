"""Benchmark of `leadscore report ...` at 1,000,000 leads / 50,000,000 events.

Generates a synthetic but realistically shaped data set into benchmarks/data/analytics/
(git-ignored) as Parquet, then runs every report command end to end in a fresh
process (reading the files included) and prints the wall time and peak memory of
each. Usage:

    python3 benchmarks/analytics.py                      # 1M leads, 50M events
    python3 benchmarks/analytics.py --contacts 100000 --events 5000000
    python3 benchmarks/analytics.py --skip-generate      # reuse the data

The shape: leads created over two years; 30 % reach MQL, 40 % of those SQL, half of
those an opportunity, 40 % of those become customers (with a deal value), some are
lost; events are spread over each lead's life with ten types, 2,000 urls and 50
campaigns (40 % of events without a campaign).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "analytics"
START = np.datetime64("2023-01-01T00:00:00", "us")
END = np.datetime64("2024-12-31T00:00:00", "us")
AS_OF = "2025-01-01"
SOURCES = ["organic", "paid_search", "social", "email", "referral", "events", "partner", "direct"]
TYPES = [
    "page_view",
    "email_open",
    "email_click",
    "form_submit",
    "download",
    "webinar",
    "social_click",
    "call",
    "meeting",
    "sales_email",
]
TYPE_P = [0.55, 0.15, 0.08, 0.03, 0.04, 0.02, 0.08, 0.02, 0.01, 0.02]
DAY_US = 86_400_000_000


def _dict(indices: np.ndarray, values: list[str], mask: np.ndarray | None = None) -> pa.Array:
    idx = pa.array(indices.astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(values))


def _ts(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype("datetime64[us]"), type=pa.timestamp("us", tz="UTC"))


def generate(n_contacts: int, n_events: int, seed: int = 7) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    span = int((END - START) / np.timedelta64(1, "us"))
    created = START + rng.integers(0, span, n_contacts).astype("timedelta64[us]")
    ids = np.arange(n_contacts, dtype=np.int64)
    source = rng.choice(len(SOURCES), n_contacts, p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05])
    campaigns = [f"cmp-{i:02d}" for i in range(50)]
    pq.write_table(
        pa.table(
            {
                "contact_id": ids,
                "created_at": _ts(created),
                "source": _dict(source, SOURCES),
                "campaign": _dict(rng.integers(0, 50, n_contacts), campaigns),
                "grade": _dict(rng.integers(0, 4, n_contacts), ["A", "B", "C", "D"]),
            }
        ),
        DATA / "contacts.parquet",
    )

    # Stage transitions: each step happens some days after the previous one.
    parts = []
    t = created
    alive = np.ones(n_contacts, bool)
    for stage, p, mean_days in [
        ("mql", 0.30, 20),
        ("sql", 0.40, 7),
        ("opportunity", 0.50, 10),
        ("customer", 0.40, 30),
    ]:
        step = rng.random(n_contacts) < p
        t = t + (rng.exponential(mean_days, n_contacts) * DAY_US).astype("timedelta64[us]")
        lost = alive & ~step & (rng.random(n_contacts) < 0.3) & (stage != "mql")
        alive = alive & step & (t <= END)
        parts.append((ids[alive], stage, t[alive]))
        lt = t[lost] + (rng.exponential(5, lost.sum()) * DAY_US).astype("timedelta64[us]")
        parts.append((ids[lost], "lost", lt))
    cid = np.concatenate([p[0] for p in parts])
    stage = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
    ts = np.concatenate([p[2] for p in parts])
    value = np.where(stage == "customer", np.round(rng.lognormal(8.5, 0.6, len(cid)), 2), np.nan)
    pq.write_table(
        pa.table(
            {
                "contact_id": cid,
                "stage": pa.array(stage),
                "timestamp": _ts(ts),
                "value": pa.array(value, mask=np.isnan(value)),
            }
        ),
        DATA / "stages.parquet",
    )

    months = np.arange(np.datetime64("2023-01"), np.datetime64("2025-01"))
    sp_channel = np.repeat(np.arange(len(SOURCES)), len(months))
    sp_month = np.tile(months, len(SOURCES)).astype("datetime64[us]")
    pq.write_table(
        pa.table(
            {
                "channel": _dict(sp_channel, SOURCES),
                "period": _ts(sp_month),
                "amount": np.round(rng.uniform(1_000, 50_000, len(sp_channel)), 2),
            }
        ),
        DATA / "spend.parquet",
    )

    exp_ids = rng.choice(n_contacts, min(200_000, n_contacts), replace=False)
    variant = rng.integers(0, 2, len(exp_ids))
    rate = np.where(variant == 0, 0.10, 0.11)
    pq.write_table(
        pa.table(
            {
                "contact_id": exp_ids.astype(np.int64),
                "experiment": pa.array(np.full(len(exp_ids), "welcome-series")),
                "variant": _dict(variant, ["control", "new_copy"]),
                "converted": rng.random(len(exp_ids)) < rate,
            }
        ),
        DATA / "assignments.parquet",
    )

    urls = [f"/blog/post-{i}" for i in range(1900)] + [f"/product/{i}" for i in range(95)]
    urls += ["/pricing", "/demo", "/careers", "/contact", "/"]
    url_p = 1.0 / np.arange(1, len(urls) + 1)
    url_p /= url_p.sum()
    chunk = 5_000_000
    writer = None
    done = 0
    end_us = END.astype("int64")
    created_us = created.astype("int64")
    # A few heavy users and many light ones, like real traffic.
    weights = rng.pareto(1.5, n_contacts) + 1
    weights /= weights.sum()
    cum = np.cumsum(weights)
    while done < n_events:
        n = min(chunk, n_events - done)
        c = np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1]), n_contacts - 1)
        start = created_us[c]
        ts = start + (rng.random(n) * (end_us - start)).astype(np.int64)
        camp_null = rng.random(n) < 0.4
        table = pa.table(
            {
                "event_id": np.arange(done, done + n, dtype=np.int64),
                "contact_id": c.astype(np.int64),
                "type": _dict(rng.choice(len(TYPES), n, p=TYPE_P), TYPES),
                "timestamp": pa.array(ts, type=pa.timestamp("us", tz="UTC")),
                "url": _dict(rng.choice(len(urls), n, p=url_p), urls),
                "campaign": _dict(rng.integers(0, 50, n), campaigns, mask=camp_null),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(DATA / "events.parquet", table.schema)
        writer.write_table(table, row_group_size=1_000_000)
        done += n
        print(f"  events {done:,}/{n_events:,}", file=sys.stderr, flush=True)
    if writer is not None:
        writer.close()


def commands() -> dict[str, list[str]]:
    d = str(DATA)
    common = ["--as-of", AS_OF]
    st = ["--stages", f"{d}/stages.parquet"]
    co = ["--contacts", f"{d}/contacts.parquet"]
    ev = ["--events", f"{d}/events.parquet"]
    return {
        "funnel": ["funnel", *st, *co, *common],
        "funnel --by source": ["funnel", *st, *co, "--by", "source", *common],
        "velocity": ["velocity", *st, *co, *common],
        "rfm (50M events)": ["rfm", *ev, *st, *common],
        "attribution (50M events)": ["attribution", *ev, *st, "--touch", "campaign", *common],
        "abtest": ["abtest", "--assignments", f"{d}/assignments.parquet", "--control", "control"],
        "goals (+SLA on 50M events)": [
            "goals",
            *st,
            *co,
            *ev,
            "--revenue",
            "5000000",
            "--months",
            "3",
            *common,
        ],
        "cpa": ["cpa", "--spend", f"{d}/spend.parquet", *co, *st, *common],
        "html (all sections)": [
            "html",
            "--output",
            f"{d}/report.html",
            *st,
            *co,
            *ev,
            "--revenue",
            "5000000",
            *common,
        ],
    }


def run(names: list[str] | None) -> list[tuple[str, float, float]]:
    results = []
    for name, args in commands().items():
        if names and not any(n in name for n in names):
            continue
        cmd = [sys.executable, "-m", "leadscore.cli.main", "report", *args]
        t0 = time.perf_counter()
        with open(DATA / "last_stdout.txt", "w") as so, open(DATA / "last_stderr.txt", "w") as se:
            proc = subprocess.Popen(cmd, stdout=so, stderr=se, env={**os.environ, "COLUMNS": "120"})
            # wait4 gives this child's own peak memory, not the maximum over all children.
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            print((DATA / "last_stderr.txt").read_text(), file=sys.stderr)
            raise SystemExit(f"{name} failed")
        peak = usage.ru_maxrss / 1024  # KiB on Linux
        results.append((name, wall, peak))
        print(f"{name:32s} {wall:7.1f} s   peak RSS {peak:,.0f} MiB", flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=50_000_000)
    ap.add_argument("--skip-generate", action="store_true")
    ap.add_argument("--only", nargs="*", help="run only reports whose name contains these")
    a = ap.parse_args()
    if not a.skip_generate:
        t0 = time.perf_counter()
        generate(a.contacts, a.events)
        print(
            f"generated {a.contacts:,} contacts / {a.events:,} events in "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    for f in sorted(DATA.glob("*.parquet")):
        rows = pq.ParquetFile(f).metadata.num_rows
        print(f"  {f.name:20s} {rows:>12,} rows {f.stat().st_size / 1e6:8.0f} MB")
    run(a.only)


if __name__ == "__main__":
    main()
