"""PostgreSQL: score tables where they live (``--db postgresql://...``).

``contacts`` and ``events`` name tables or views (``schema.table`` allowed). A CSV
file path is also accepted: it is copied into a temporary table with every
column as text (as the Python reader sees it) and its row order kept.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlglot import exp

from leadscore.compile import CompiledModel
from leadscore.compile.values import trim_text
from leadscore.engines.base import (
    ROW,
    TEMP,
    BatchEngine,
    Inputs,
    Step,
    check_file_header,
    file_header,
    is_file,
    kind_of,
    table_sql,
)
from leadscore.engines.validate import BAD_TIMESTAMP
from leadscore.io import InputError, csv_row_error

# Planner settings for the scoring query only (SET LOCAL in its transaction).
# PostgreSQL cannot estimate joins on the rule map (a CTE: no statistics), so it
# expects ~12 rows from events JOIN keymap where there are millions, and costs a
# hash join on the map's key columns far above its worth. Measured with EXPLAIN
# (ANALYZE, BUFFERS) at 100k contacts / 5M events, PostgreSQL 15 defaults
# (benchmarks/batch.py data; BENCHMARKS.md "PostgreSQL and Spark engines"):
# - default: merge joins that sort all 5M events by the 4 key columns twice
#   (external merge sorts of 367 MB and 407 MB on disk): 53 s (59 s with
#   work_mem = 256MB, the big sorts still spill; 68 s with jit = off alone).
# - enable_mergejoin = off: hash joins instead, but the per-contact joins, also
#   estimated at ~12 rows, become nested loops (100k x 61k rows): stopped at 10 min.
# - enable_mergejoin and enable_nestloop off: hash joins throughout: 35 s.
# - jit = off as well: 32 s. The plan's inflated costs pass jit_optimize_above_cost,
#   and JIT compiling its ~200 expressions took 7.5-8.6 s of each run above.
# Not kept: work_mem = 64MB with enable_sort = off on top (the sort by contact becomes
# an in-memory hash aggregate): 31.9 s, no gain. The benchmark's score call went from
# 52 s to 26 s at the same load (scores unchanged).
PLANNER_SETTINGS = ("enable_mergejoin = off", "enable_nestloop = off", "jit = off")


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class PostgresEngine(BatchEngine):
    """Scores with PostgreSQL through psycopg 3 (installed with ``leadscore[postgres]``)."""

    name = "postgres"

    def __init__(self, url: str, search_path: str | None = None, connection: Any = None):
        import psycopg  # lazily: an optional extra

        self.psycopg = psycopg
        self.con = connection or psycopg.connect(url, autocommit=True)
        with self.con.cursor() as cur:
            # Naive text timestamps are UTC, as in the Python reader.
            cur.execute("SET TimeZone = 'UTC'")
            if search_path:
                cur.execute(f"SET search_path TO {_ident(search_path)}, public")

    def close(self) -> None:
        self.con.close()

    def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        with self.con.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    def _kinds(self, table: str) -> dict[str, str]:
        with self.con.cursor() as cur:
            cur.execute(f"SELECT * FROM {table} LIMIT 0")
            names = self.con.adapters.types
            out = {}
            for column in cur.description or ():
                info = names.get(column.type_code)
                out[column.name] = kind_of(info.name if info is not None else "other")
            out.pop(ROW, None)
            return out

    def _source(
        self, name: str | Path, temp: str, required: tuple[str, ...]
    ) -> tuple[str, str, bool]:
        """(relation to read, name for messages, has row numbers)."""
        if not is_file(name):
            table = table_sql(str(name), self.name)
            columns = list(self._kinds(table))
            check_file_header(Path(str(name)), columns, required)
            return table, str(name), False
        path = Path(name)
        if path.suffix.lower() != ".csv":
            raise InputError(
                path, "the postgres engine loads CSV files; load Parquet into a table first"
            )
        header = file_header(path)
        check_file_header(path, header, required)
        cols = ", ".join(f"{_ident(h)} text" for h in header)
        with self.con.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {temp}")
            cur.execute(f"CREATE TEMP TABLE {temp} ({ROW} bigint, {cols})")
            # Row numbers as leadscore.io counts them (blank lines included).
            column_list = ", ".join([ROW, *(_ident(h) for h in header)])
            with (
                path.open(newline="", encoding="utf-8-sig") as handle,
                cur.copy(f"COPY {temp} ({column_list}) FROM STDIN") as copy,
            ):
                # The same structure checks as leadscore.io, while copying.
                reader = csv.reader(handle, strict=True)
                number = 0
                try:
                    next(reader)
                    for values in reader:
                        number += 1
                        if not values:
                            continue
                        if len(values) != len(header):
                            raise InputError(
                                path,
                                f"expected {len(header)} values (as in the header), "
                                f"found {len(values)}",
                                row=number,
                                line=reader.line_num,
                            )
                        copy.write_row([number, *values])
                except (csv.Error, UnicodeDecodeError) as exc:
                    raise csv_row_error(path, exc, number + 1, reader.line_num) from None
        return temp, str(path), True

    def _csv_errors(self) -> tuple[type[BaseException], ...]:
        return ()  # CSV inputs are copied through Python's reader, which names a bad row itself

    def _no_events(self) -> str:
        # Not TEMP.events: that may be an earlier call's temp table, which no view replaces.
        with self.con.cursor() as cur:
            cur.execute(
                "CREATE OR REPLACE TEMP VIEW leadscore_no_events AS SELECT NULL::text AS event_id, "
                "NULL::text AS contact_id, NULL::text AS type, NULL::timestamptz AS timestamp "
                "WHERE false"
            )
        return "leadscore_no_events"

    def _make_view(self, name: str, query: str) -> None:
        # Dropped, not replaced: PostgreSQL replaces a view only with the same columns.
        with self.con.cursor() as cur:
            cur.execute(f"DROP VIEW IF EXISTS pg_temp.{name}")
            cur.execute(f"CREATE TEMP VIEW {name} AS {query}")

    def _check_inputs(self, inputs: Inputs) -> None:
        # Copying a CSV has decoded all of it already. PostgreSQL 15 has no TRY_CAST, so
        # timestamps are checked by shape only (and a failed cast located after).
        inputs.check(self._fetch, "postgres", can_try_cast=False)

    def _run_queries(
        self, compiled: CompiledModel, inputs: Inputs, explain: bool, step: Step
    ) -> tuple[pa.Table, pa.Table | None]:
        try:
            # One transaction, so that SET LOCAL ends with it and a caller's connection
            # keeps its own settings.
            with self.con.transaction(), self.con.cursor() as cur:
                for setting in PLANNER_SETTINGS:
                    cur.execute(f"SET LOCAL {setting}")
                return super()._run_queries(compiled, inputs, explain, step)
        except self.psycopg.errors.DataError:
            if (
                inputs.validate
                and inputs.events_name is not None
                and inputs.event_kinds.get("timestamp") == "text"
            ):
                numbered = inputs.numbered and inputs.events_numbered
                self._locate_bad_timestamp(inputs.events, inputs.events_name, numbered)
            raise

    def _locate_bad_timestamp(self, relation: str, name: str, numbered: bool) -> None:
        """Name the text timestamp PostgreSQL refused (``2026-13-01``...) as io would.

        PostgreSQL 15 has no TRY_CAST, so check_inputs only checks the ISO 8601
        shape; when the cast then fails, a row-by-row check (slow, but only on this
        error path) finds the first bad value.
        """
        ts = trim_text(exp.column("timestamp", quoted=True)).sql(dialect="postgres")
        row = ROW if numbered else "NULL::bigint"
        with self.con.cursor() as cur:
            cur.execute(
                "CREATE OR REPLACE FUNCTION pg_temp.leadscore_is_timestamp(t text) "
                "RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN PERFORM t::timestamptz; "
                "RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$"
            )
        got = self._fetch(
            f"SELECT row_no, ts FROM (SELECT {row} AS row_no, {ts} AS ts FROM {relation}) AS t "
            "WHERE ts IS NOT NULL AND NOT pg_temp.leadscore_is_timestamp(ts) "
            f"ORDER BY {'row_no' if numbered else 'ts'} LIMIT 1"
        )
        if got:
            number = int(got[0][0]) if numbered else None
            raise InputError(name, BAD_TIMESTAMP.format(got[0][1]), row=number, column="timestamp")

    def _upload_quality(self, quality: pa.Table) -> None:
        checks = [c for c in quality.column_names if c not in ("field", "value")]
        cols = ", ".join(["field text", "value text", *[f"{_ident(c)} boolean" for c in checks]])
        with self.con.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {TEMP.quality}")
            cur.execute(f"CREATE TEMP TABLE {TEMP.quality} ({cols})")
            with cur.copy(f"COPY {TEMP.quality} FROM STDIN") as copy:
                for row in quality.to_pylist():
                    copy.write_row([row["field"], row["value"], *[row[c] for c in checks]])
            cur.execute(f"ANALYZE {TEMP.quality}")

    def _arrow(self, sql: str) -> pa.Table:
        with self.con.cursor() as cur:
            cur.execute(sql)
            names = [c.name for c in cur.description or ()]
            rows = cur.fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        arrays = {}
        for name, values in zip(names, columns, strict=True):
            arrays[name] = pa.array(list(values), type=_type_of(name, values))
        return pa.table(arrays)


def _type_of(name: str, values: Any) -> pa.DataType | None:
    if all(v is None for v in values):
        if name in ("ids", "texts"):
            return pa.list_(pa.string())
        return pa.float64() if name.startswith("r") or name in ("points", "age") else pa.string()
    return None
