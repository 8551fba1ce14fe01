"""Batch scoring benchmark: leadscore on DuckDB vs pandas vs a bare DuckDB GROUP BY.

    python3 benchmarks/batch.py                        # 1M contacts / 50M events and 100k / 5M
    python3 benchmarks/batch.py --scale small          # only 100k / 5M
    python3 benchmarks/batch.py --write-benchmarks     # also print the BENCHMARKS.md rows

The data (seeded, written in 5M-event chunks as Parquet into benchmarks/data/batch/,
git-ignored, reused when the parameters match) has 20 event types, 1,000 urls and one
year of timestamps; the model is the 30-rule model of benchmarks/workload.py (20 event
rules with filters, caps, decay, a volume and an inactivity rule; 10 profile and
quality rules). Each contender runs in its own fresh Python process, so its wall time
and peak memory (the child's own max RSS, from wait4) are measured separately:

  leadscore   get_engine("duckdb").score(model, contacts.parquet, events.parquet, as_of)
              with the result materialised as an Arrow table (explain=False,
              validate=False: the input checks are timed on their own, "leadscore+checks")
  pandas      the same rules as an analyst would write them: read_parquet, boolean
              masks, groupby, merge, vectorised (quality checks via leadscore.quality
              on the distinct values, as an analyst would call phonenumbers etc.)
  floor       SELECT contact_id, sum(event_id) FROM read_parquet(events) GROUP BY 1

The scores of leadscore and pandas are compared for every contact (to 1e-6) and the
grades, stage and surge flag must be equal; a mismatch fails the run. Data
generation is timed and reported separately.

Two optional contenders, not in the default run and only at the small scale
(``--scale small --only leadscore-postgres leadscore-spark``; "leadscore" is added
to compare against):

  leadscore-postgres  a scratch database (leadscore_bench_<pid>_<hex>, created through
              the maintenance database of $LEADSCORE_BENCH_PG, default
              postgresql://postgres@127.0.0.1:5432/postgres, and dropped afterwards);
              a first child COPYs the Parquet files into two tables and ANALYZEs
              them ("postgres-load", timed on its own), a second times
              get_engine("postgres", url=...).score(model, "contacts", "events", ...).
              Its peak RSS is the client's; the server backend's own peak (VmHWM,
              shared buffers it touched included, parallel workers not) is
              reported beside it.
  leadscore-spark     get_engine("spark", master="local[2]").score(model, contacts.parquet,
              events.parquet, ...); in process = the score call, the session start
              is reported as "setup"; the JVM's peak RSS (VmHWM) beside the
              Python process's.

Their scores are compared with DuckDB's ("leadscore") for every contact in the
same way.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from workload import AS_OF, TYPES, thirty_rule_model

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "batch"
SCALES = {"large": (1_000_000, 50_000_000), "small": (100_000, 5_000_000)}
# 1,000 urls: 996 section pages and the four the rules and place weights single out.
URLS = [f"/section{i % 20}/page{i}" for i in range(996)] + [
    "/pricing",
    "/pricing/pro",
    "/demo",
    "/careers",
]
# Page views dominate real traffic; the 12 generic types share 30 %.
TYPE_P = {
    "page_view": 0.45,
    "email_open": 0.12,
    "email_click": 0.05,
    "form_submit": 0.02,
    "content_download": 0.03,
    "webinar_attended": 0.01,
    "event_attended": 0.005,
    "social_share": 0.015,
}
YEAR_US = 365 * 86_400_000_000
CHUNK = 5_000_000
GENERATOR_VERSION = 1
TIMEOUT_S = 1800
# Optional engines: timed at the small scale only (not part of the default run).
ENGINE_CONTENDERS = ("leadscore-postgres", "leadscore-spark")
PG_BASE_URL = os.environ.get("LEADSCORE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SCORE_COLUMNS = ["contact_id", "fit", "engagement", "grade", "stage", "surging"]


# ------------------------------------------------------------------ data --
def _dict(indices: np.ndarray, values: list[str], mask: np.ndarray | None = None) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(indices.astype(np.int32), mask=mask), pa.array(values)
    )


def data_dir(n_contacts: int, n_events: int) -> Path:
    return DATA / f"{n_contacts}_{n_events}"


def generate(n_contacts: int, n_events: int, seed: int = 11) -> tuple[Path, float | None]:
    """Write contacts.parquet and events.parquet; reuse them when the parameters match."""
    out = data_dir(n_contacts, n_events)
    params = {
        "contacts": n_contacts,
        "events": n_events,
        "seed": seed,
        "version": GENERATOR_VERSION,
    }
    stamp = out / "params.json"
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        return out, None
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    n = n_contacts

    def pick(values: list[str], p: list[float] | None = None) -> pa.Array:
        return _dict(rng.choice(len(values), n, p=p), values)

    domains = np.array(["gmail.com", "acme.com", "mailinator.com", "corp"], dtype=object)
    d = rng.integers(0, 4, n)
    ids = np.arange(n, dtype=np.int64)
    dom = domains[d]
    corp = d == 3
    dom[corp] = np.char.add(np.char.add("corp", (ids[corp] % 500).astype(str)), ".com")
    emails = np.char.add(np.char.add("user", ids.astype(str)), "@").astype(object) + dom
    contacts = pa.table(
        {
            "contact_id": ids,
            "job_title": pick(["VP Sales", "Analyst", "Head of Growth", "student"]),
            "industry": pick(["software", "retail", "saas", "education"]),
            "employees": rng.choice(np.array([10, 200, 1000, 9000], dtype=np.int64), n),
            "budget": pick(["yes", "no", ""]),
            "country": pick(["US", "DE", "GB", "CN"]),
            "email": pa.array(emails, pa.string()),
            "phone": pick(["+1 650 253 0000", "12345", ""]),
            "first_name": pick(["Ann", "asdf", "bob"]),
            "company": pick(["Acme", "", "Globex"]),
        }
    )
    pq.write_table(contacts, out / "contacts.parquet", row_group_size=1_000_000)

    rest = (1 - sum(TYPE_P.values())) / (len(TYPES) - len(TYPE_P))
    type_p = np.array([TYPE_P.get(t, rest) for t in TYPES])
    type_p /= type_p.sum()
    url_p = 1.0 / np.arange(1, len(URLS) + 1) ** 0.7  # a long tail of pages
    url_p /= url_p.sum()
    types = np.array(TYPES)
    page, form_t = TYPES.index("page_view"), TYPES.index("form_submit")
    emails_t = [TYPES.index("email_open"), TYPES.index("email_click")]
    as_of_us = int(AS_OF.timestamp() * 1_000_000)
    writer = None
    done = 0
    while done < n_events:
        m = min(CHUNK, n_events - done)
        t = rng.choice(len(types), m, p=type_p)
        table = pa.table(
            {
                "event_id": np.arange(done, done + m, dtype=np.int64),
                "contact_id": rng.integers(0, n_contacts, m, dtype=np.int64),
                "type": _dict(t, TYPES),
                "timestamp": pa.array(
                    as_of_us - rng.integers(0, YEAR_US, m), pa.timestamp("us", tz="UTC")
                ),
                "url": _dict(rng.choice(len(URLS), m, p=url_p), URLS, t != page),
                "form": _dict(rng.integers(0, 3, m), ["demo", "trial", "newsletter"], t != form_t),
                "email_id": _dict(
                    rng.integers(0, 2, m), ["demo-1", "news-3"], ~np.isin(t, emails_t)
                ),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(out / "events.parquet", table.schema)
        writer.write_table(table, row_group_size=1_000_000)
        done += m
        print(f"  events {done:,}/{n_events:,}", file=sys.stderr, flush=True)
    if writer is not None:
        writer.close()
    stamp.write_text(json.dumps(params))
    return out, time.perf_counter() - t0


# --------------------------------------------------------------- workers --
def score_workload(engine: Any, contacts: Any, events: Any, validate: bool = False) -> pa.Table:
    """The 30-rule model scored by an engine, as of AS_OF, without explanations."""
    result = engine.score(
        thirty_rule_model(), contacts, events, AS_OF, explain=False, validate=validate
    )
    return result.table.select(SCORE_COLUMNS)


def work_leadscore(data: Path, validate: bool) -> pa.Table:
    from leadscore.engines import get_engine

    engine = get_engine("duckdb")
    return score_workload(engine, data / "contacts.parquet", data / "events.parquet", validate)


def vm_hwm_mib(pid: int) -> float | None:
    """Peak resident set of another process on this machine (Linux VmHWM), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_string(t):
        return "text"
    if pa.types.is_timestamp(t) and t.tz is not None:
        return "timestamptz"
    raise SystemExit(f"no PostgreSQL type for {t}")


def work_postgres_load(data: Path, url: str) -> tuple[pa.Table, dict[str, Any]]:
    """COPY both Parquet files into tables with the Parquet types, then ANALYZE them.

    Arrow writes each batch as CSV (strings quoted, so an empty string stays one and an
    unquoted empty field is NULL, as COPY's CSV format reads them); no indexes, since
    the score query reads every row anyway.
    """
    import psycopg
    import pyarrow.csv as pacsv

    rows = {}
    options = pacsv.WriteOptions(include_header=False)
    with psycopg.connect(url, autocommit=True) as con:
        for name in ("contacts", "events"):
            source = pq.ParquetFile(data / f"{name}.parquet")
            schema = source.schema_arrow
            columns = ", ".join(f'"{f.name}" {_pg_type(f.type)}' for f in schema)
            con.execute(f"CREATE TABLE {name} ({columns})")
            plain = pa.schema(
                [
                    f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
                    for f in schema
                ]
            )
            with con.cursor() as cur, cur.copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy:
                for batch in source.iter_batches(batch_size=500_000):
                    buffer = io.BytesIO()
                    pacsv.write_csv(pa.Table.from_batches([batch]).cast(plain), buffer, options)
                    copy.write(buffer.getbuffer())
            con.execute(f"ANALYZE {name}")
            rows[name] = source.metadata.num_rows
    table = pa.table({"table": list(rows), "rows": list(rows.values())})
    return table, {}


def work_postgres(data: Path, url: str) -> tuple[pa.Table, dict[str, Any]]:
    from leadscore.engines import get_engine

    t0 = time.perf_counter()
    engine = get_engine("postgres", url=url)
    setup = time.perf_counter() - t0
    backend = engine.con.info.backend_pid
    t1 = time.perf_counter()
    table = score_workload(engine, "contacts", "events")
    seconds = time.perf_counter() - t1
    # Read before closing: the backend process ends with the connection.
    server = vm_hwm_mib(backend)
    engine.close()
    return table, {"seconds": seconds, "setup_s": setup, "server_peak_mib": server}


def work_spark(data: Path) -> tuple[pa.Table, dict[str, Any]]:
    from leadscore.engines import get_engine

    t0 = time.perf_counter()
    engine = get_engine("spark", master="local[2]")
    engine.spark.sparkContext.setLogLevel("ERROR")
    setup = time.perf_counter() - t0
    jvm = int(engine.spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    t1 = time.perf_counter()
    table = score_workload(engine, data / "contacts.parquet", data / "events.parquet")
    seconds = time.perf_counter() - t1
    jvm_peak = vm_hwm_mib(jvm)  # the JVM is a separate process: not in this one's RSS
    own = vm_hwm_mib(os.getpid())
    engine.spark.stop()
    return table, {
        "seconds": seconds,
        "setup_s": setup,
        "jvm_peak_mib": jvm_peak,
        "python_peak_mib": own,
    }


def work_floor(data: Path) -> pa.Table:
    import duckdb

    con = duckdb.connect()
    path = str(data / "events.parquet").replace("'", "''")
    return con.sql(
        f"SELECT contact_id, sum(event_id) AS s FROM read_parquet('{path}') GROUP BY contact_id"
    ).to_arrow_table()


def work_pandas(data: Path) -> pa.Table:
    """The 30 rules in plain pandas (the semantics of docs/model-language.md)."""
    import pandas as pd

    from leadscore.quality import Checker

    as_of = pd.Timestamp(AS_OF)
    contacts = pd.read_parquet(data / "contacts.parquet")
    events = pd.read_parquet(data / "events.parquet")
    events = events[events["timestamp"] <= as_of]
    events["age"] = (as_of - events["timestamp"]).dt.total_seconds() / 86_400
    ev_type = events["type"]
    # The generated texts are already trimmed and lower-case, so the string tests run
    # straight on the categorical columns (pandas evaluates them once per category).
    url = events["url"]
    cid = contacts["contact_id"]
    fit = pd.DataFrame(index=cid)
    eng = pd.DataFrame(index=cid)  # event rules' contributions (NaN = not listed)
    surge = pd.DataFrame(index=cid)

    def add_event_rule(
        name: str,
        mask: pd.Series,
        points: float | pd.Series,
        *,
        cap: float | None = None,
        half_life: float | None = None,
        decay_days: float | None = None,
        within: float | None = None,
        first_only: bool = False,
        max_count: int | None = None,
    ) -> None:
        e = events.loc[mask, ["event_id", "contact_id", "age"]]
        if isinstance(points, pd.Series):
            e["pts"] = points[mask]
        else:
            e["pts"] = points
        if first_only:
            e = e.sort_values(["age", "event_id"], ascending=[False, True])
            e = e.drop_duplicates("contact_id")
        if within is not None:
            e = e[e["age"] <= within]
        if max_count is not None:
            e = e.sort_values(["age", "event_id"], ascending=[True, False])
            e = e[e.groupby("contact_id").cumcount() < max_count]
        if half_life is not None:
            e["pts"] = e["pts"] * 0.5 ** (e["age"] / half_life)
        if decay_days is not None:
            e["pts"] = e["pts"] * (1 - e["age"] / decay_days).clip(lower=0)
        total = e.groupby("contact_id")["pts"].sum()
        recent = e[e["age"] <= 7].groupby("contact_id")["pts"].sum()
        if cap is not None:
            total = total.clip(-cap, cap)
            recent = recent.clip(-cap, cap)
        eng[name] = total[total != 0]
        surge[name] = recent

    page = ev_type == "page_view"
    weight = pd.Series(1.0, index=events.index)
    weight[url.str.fullmatch(r"/careers.*", na=False)] = 0.2
    weight[url.str.fullmatch(r"/demo.*", na=False)] = 2.0
    weight[url.str.fullmatch(r"/pricing.*", na=False)] = 2.0
    clicks = ev_type == "email_click"
    form = events["form"]
    add_event_rule(
        "pricing", page & url.str.startswith("/pricing", na=False), 10, cap=30, half_life=30
    )
    add_event_rule("visits", page, weight, cap=20, half_life=14)
    add_event_rule("demo", (ev_type == "form_submit") & (form == "demo"), 40, first_only=True)
    add_event_rule("trial", (ev_type == "form_submit") & (form == "trial"), 30, within=90)
    add_event_rule("clicks", clicks, 3, cap=15, within=90)
    demo_mail = events["email_id"].str.startswith("demo-", na=False)
    add_event_rule("demo-mail", clicks & demo_mail, 10, cap=20)
    add_event_rule("opens", ev_type == "email_open", 0.5, max_count=10, decay_days=60)
    add_event_rule("download", ev_type == "content_download", 10, max_count=3, half_life=60)
    add_event_rule("webinar", ev_type == "webinar_attended", 30, half_life=60)
    add_event_rule("event", ev_type == "event_attended", 50, decay_days=180)
    add_event_rule("social", ev_type == "social_share", 5, cap=15)
    add_event_rule("careers", page & url.str.contains("careers", na=False), -5, cap=15)
    for i in range(6):
        section = page & url.str.startswith(f"/section{i}/", na=False)
        add_event_rule(f"section{i}", section, 2, cap=10, half_life=21)
    views = events[page & (events["age"] <= 30)].groupby("contact_id").size()
    views = views.reindex(cid, fill_value=0)
    busy = pd.cut(views, [-1, 2, 9, 29, np.inf], labels=False).map({0: np.nan, 1: 5, 2: 15, 3: 25})
    eng["busy"] = busy.to_numpy()
    active = events.loc[events["age"] <= 30, "contact_id"].unique()
    eng["quiet"] = np.where(cid.isin(active), np.nan, -30.0)

    checker = Checker()

    def text(column: str) -> pd.Series:
        s = contacts[column].astype("string").str.strip()
        return s.mask(s == "")

    def check(name: str, column: str) -> pd.Series:
        s = text(column)
        answers = {v: checker(name, v) for v in s.dropna().unique()}
        return s.map(answers).fillna(False).astype(bool)

    title = text("job_title").str.contains(r"(?i)\b(?:vp|director|head|chief)\b", na=False)
    industry = text("industry").str.lower().isin(["software", "saas", "fintech"])
    employees = contacts["employees"].between(50, 5000)
    budget = text("budget").str.lower().isin(["true", "t", "yes", "y", "1", "1.0"])
    market = ~text("country").str.lower().isin(["us", "ca", "gb"])
    spam = (
        check("keyboard_walk", "first_name")
        | check("keyboard_walk", "company")
        | check("keyboard_walk", "email")
        | check("not_capitalised", "first_name")
        | check("not_capitalised", "company")
    )
    rules = {
        "title": (title, 15),
        "industry": (industry, 20),
        "size": (employees, 15),
        "budget": (budget, 10),
        "market": (market, -20),
        "free": (check("free_email", "email"), -10),
        "throwaway": (check("disposable_email", "email"), -30),
        "phone": (check("invalid_phone", "phone"), -5),
        "spam": (spam, -15),
        "company": (text("company").isna(), -5),
    }
    for name, (holds, points) in rules.items():
        fit[name] = np.where(holds.to_numpy(), float(points), np.nan)

    out = pd.DataFrame({"contact_id": cid})
    out["fit"] = fit.sum(axis=1).to_numpy()
    out["engagement"] = eng.sum(axis=1).to_numpy()
    out["fit_grade"] = pd.cut(
        out["fit"], [-np.inf, 20, 40, 60, np.inf], right=False, labels=list("DCBA")
    )
    out["engagement_grade"] = pd.cut(
        out["engagement"], [-np.inf, 25, 50, 75, np.inf], right=False, labels=list("1234")
    )
    out["grade"] = out["fit_grade"].astype(str) + out["engagement_grade"].astype(str)
    out["surging"] = surge.sum(axis=1).to_numpy() >= 40
    mql = (out["fit"] >= 40) & (out["engagement"] >= 50)
    out["stage"] = np.where(mql, "mql", "lead")
    columns = ["contact_id", "fit", "engagement", "grade", "stage", "surging"]
    return pa.Table.from_pandas(out[columns], preserve_index=False)


def worker(name: str, data: Path, out: Path, pg_url: str | None = None) -> None:
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if name == "leadscore":
        table = work_leadscore(data, validate=False)
    elif name == "leadscore+checks":
        table = work_leadscore(data, validate=True)
    elif name == "pandas":
        table = work_pandas(data)
    elif name == "floor":
        table = work_floor(data)
    elif name == "postgres-load" and pg_url:
        table, extra = work_postgres_load(data, pg_url)
    elif name == "leadscore-postgres" and pg_url:
        table, extra = work_postgres(data, pg_url)
    elif name == "leadscore-spark":
        table, extra = work_spark(data)
    else:
        raise SystemExit(f"unknown worker {name}")
    elapsed = time.perf_counter() - t0
    pq.write_table(table, out)  # not timed
    # The engines' own "seconds" (the score call alone) replace the whole function's.
    print(json.dumps({"seconds": elapsed, "rows": table.num_rows, **extra}))


# ------------------------------------------------------------------- run --
def warm(path: Path) -> None:
    """Read a file once so a contender's timing is not of the disk.

    This VM's memory reclaim (DAMON) drops file pages left unused for a while: a cold
    read of the 965 MB events file made the bare GROUP BY take 14 s instead of 3.6 s,
    so whichever contender ran first after a pause paid for the disk.
    """
    with path.open("rb") as f:
        while f.read(1 << 26):
            pass


def run_child(name: str, data: Path, pg_url: str | None = None) -> dict[str, Any]:
    out = data / f"out_{name}.parquet"
    cmd = [sys.executable, __file__, "--worker", name, "--data", str(data), "--out", str(out)]
    if pg_url:
        cmd += ["--pg-url", pg_url]
    for path in sorted(data.glob("*.parquet")):
        if not path.name.startswith("out_"):
            warm(path)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would be the max over all).
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed:\n{stderr}")
    inner = json.loads(stdout.strip().splitlines()[-1])
    return {
        **inner,
        "name": name,
        "process_s": wall,
        "peak_mib": usage.ru_maxrss / 1024,  # KiB on Linux
        "out": out,
    }


@contextmanager
def scratch_database(base_url: str) -> Iterator[str]:
    """A new, uniquely named database (never an existing one), dropped afterwards."""
    import psycopg

    name = f"leadscore_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(base_url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def compare(data: Path, a_name: str = "leadscore", b_name: str = "pandas") -> str:
    """Two contenders on every contact: scores to 1e-6, grades/stage/surge equal."""
    a = pq.read_table(data / f"out_{a_name}.parquet").to_pandas()
    b = pq.read_table(data / f"out_{b_name}.parquet").to_pandas()
    a["contact_id"] = a["contact_id"].astype(str)
    b["contact_id"] = b["contact_id"].astype(str)
    m = a.merge(b, on="contact_id", suffixes=("_a", "_b"), how="outer", indicator=True)
    if (m["_merge"] != "both").any():
        raise SystemExit(
            f"{a_name} vs {b_name}: contact sets differ: {m['_merge'].value_counts().to_dict()}"
        )
    worst = {}
    for s in ("fit", "engagement"):
        diff = np.abs(m[f"{s}_a"].to_numpy(float) - m[f"{s}_b"].to_numpy(float))
        worst[s] = float(diff.max())
        if worst[s] > 1e-6:
            bad = m.loc[diff > 1e-6, ["contact_id", f"{s}_a", f"{s}_b"]].head()
            raise SystemExit(f"{a_name} vs {b_name}: {s} differs by up to {worst[s]}:\n{bad}")
    for c in ("grade", "stage", "surging"):
        if (m[f"{c}_a"].astype(str) != m[f"{c}_b"].astype(str)).any():
            bad = m.loc[m[f"{c}_a"].astype(str) != m[f"{c}_b"].astype(str)].head()
            raise SystemExit(f"{a_name} vs {b_name}: {c} differs:\n{bad}")
    mql = int((m["stage_a"] == "mql").sum())
    surging = int(m["surging_a"].astype(bool).sum())
    return (
        f"{a_name} == {b_name} on all {len(m):,} contacts: max |diff| fit {worst['fit']:.1e}, "
        f"engagement {worst['engagement']:.1e}; grade, stage, surging equal "
        f"({mql:,} MQLs, {surging:,} surging)"
    )


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def show(r: dict[str, Any]) -> None:
    extra = ""
    if "setup_s" in r:
        extra += f"  setup {r['setup_s']:.2f} s"
    if r.get("server_peak_mib") is not None:
        extra += f"  server backend peak {r['server_peak_mib']:,.0f} MiB (not in the RSS)"
    if r.get("jvm_peak_mib") is not None:
        extra += f"  JVM peak {r['jvm_peak_mib']:,.0f} MiB (not in the RSS)"
    print(
        f"  {r['name']:17s} {r['seconds']:7.2f} s in process ({r['process_s']:6.2f} s with "
        f"start-up)  peak RSS {r['peak_mib']:7,.0f} MiB  rows {r['rows']:,}  "
        f"load {load()}{extra}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=["both", "large", "small"], default="both")
    ap.add_argument(
        "--only",
        nargs="*",
        help="run only these contenders (also: " + ", ".join(ENGINE_CONTENDERS) + ")",
    )
    ap.add_argument("--write-benchmarks", action="store_true", help="print BENCHMARKS.md rows")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--pg-url", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker, a.data, a.out, a.pg_url)
        return
    names = a.only or ["floor", "leadscore", "pandas", "leadscore+checks"]
    scales = ["small", "large"] if a.scale == "both" else [a.scale]
    print(
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores (shared); Python {platform.python_version()}; "
        f"load before: {load()}",
        flush=True,
    )
    rows = []
    for scale in scales:
        n_contacts, n_events = SCALES[scale]
        run_names = list(names)
        engines = [n for n in run_names if n in ENGINE_CONTENDERS]
        if engines and scale != "small":
            # Minutes of COPY and Spark at 50M events would say nothing more than 5M do.
            print(f"\n{', '.join(engines)}: small scale only, not run at {scale}", flush=True)
            run_names = [n for n in run_names if n not in ENGINE_CONTENDERS]
            engines = []
        if engines and "leadscore" not in run_names:
            run_names.insert(0, "leadscore")  # DuckDB's scores, to compare the engines with
        if not run_names:
            continue
        data, gen_s = generate(n_contacts, n_events)
        made = f"generated in {gen_s:.0f} s" if gen_s is not None else "reused"
        print(f"\n{n_contacts:,} contacts / {n_events:,} events ({made}, {data})", flush=True)
        results = {}
        for name in run_names:
            if name == "leadscore-postgres":
                with scratch_database(PG_BASE_URL) as url:
                    results["postgres-load"] = run_child("postgres-load", data, url)
                    show(results["postgres-load"])
                    r = run_child(name, data, url)
            else:
                r = run_child(name, data)
            results[name] = r
            show(r)
        if "leadscore" in results and "pandas" in results:
            print("  " + compare(data), flush=True)
        for name in engines:
            print("  " + compare(data, "leadscore", name), flush=True)
        ls = results.get("leadscore")
        if ls:
            for other in ("pandas", "floor"):
                if other in results:
                    ratio = ls["process_s"] / results[other]["process_s"]
                    print(f"  a/{other}: {ratio:.2f} (process wall times)", flush=True)
            for name in engines:
                ratio = results[name]["seconds"] / ls["seconds"]
                print(f"  {name}/leadscore: {ratio:.2f} (in process)", flush=True)
        rows.append((n_contacts, n_events, results))
    print(f"\nload after: {load()}")
    if a.write_benchmarks:
        write_benchmarks(rows)


def write_benchmarks(rows: list[tuple[int, int, dict[str, dict[str, Any]]]]) -> None:
    engine_rows = {*ENGINE_CONTENDERS, "postgres-load"}
    print("\n| scale (contacts / events) | contender | wall (process) | in process | peak RSS |")
    print("|---|---|---|---|---|")
    for n_contacts, n_events, results in rows:
        for name, r in results.items():
            if name in engine_rows:
                continue
            print(
                f"| {n_contacts:,} / {n_events:,} | {name} | {r['process_s']:.1f} s | "
                f"{r['seconds']:.1f} s | {r['peak_mib']:,.0f} MiB |"
            )
    print("\n| scale | a/b (leadscore / pandas) | a/c (leadscore / floor) |")
    print("|---|---|---|")
    for n_contacts, n_events, results in rows:
        ls, pd_, fl = (results.get(k) for k in ("leadscore", "pandas", "floor"))
        ab = f"{ls['process_s'] / pd_['process_s']:.2f}" if ls and pd_ else "-"
        ac = f"{ls['process_s'] / fl['process_s']:.2f}" if ls and fl else "-"
        print(f"| {n_contacts:,} / {n_events:,} | {ab} | {ac} |")
    if not any(engine_rows & set(results) for _, _, results in rows):
        return
    print(
        "\n| scale | contender | wall (process) | setup | in process | client peak RSS "
        "| server / JVM peak |"
    )
    print("|---|---|---|---|---|---|---|")
    for n_contacts, n_events, results in rows:
        for name, r in results.items():
            if name not in engine_rows:
                continue
            setup = f"{r['setup_s']:.1f} s" if "setup_s" in r else "-"
            other = r.get("server_peak_mib") or r.get("jvm_peak_mib")
            other_text = f"{other:,.0f} MiB" if other is not None else "-"
            print(
                f"| {n_contacts:,} / {n_events:,} | {name} | {r['process_s']:.1f} s | {setup} | "
                f"{r['seconds']:.1f} s | {r['peak_mib']:,.0f} MiB | {other_text} |"
            )


if __name__ == "__main__":
    main()
