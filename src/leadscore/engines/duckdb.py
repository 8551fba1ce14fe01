"""DuckDB: the default engine, for CSV, Parquet or a DuckDB database file.

CSV is read with every column as text (as the Python reader sees it); Parquet
and database tables keep their types, which the compiler reads exactly as the
Python readers would. Rows keep their file order for the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from leadscore.engines.base import (
    ROW,
    TEMP,
    BatchEngine,
    Inputs,
    check_csv_text,
    check_file_header,
    file_header,
    is_file,
    kinds_from,
    table_sql,
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class DuckDBEngine(BatchEngine):
    """Scores with DuckDB; ``database`` is a DuckDB file holding the tables, if any."""

    name = "duckdb"

    def __init__(
        self,
        database: str | Path | None = None,
        threads: int | None = None,
        memory_limit: str | None = None,
        connection: Any = None,
    ):
        import duckdb  # lazily: `import leadscore` must not load database drivers

        self.con = connection or duckdb.connect(str(database) if database else ":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {_quote(memory_limit)}")

    def _source(
        self, name: str | Path, view: str, required: tuple[str, ...]
    ) -> tuple[str, str, bool]:
        """A temp view over a file (with a row number) or a table."""
        if is_file(name):
            path = Path(name)
            check_file_header(path, file_header(path), required)
            if path.suffix.lower() == ".csv":
                read = (
                    f"read_csv({_quote(str(path))}, all_varchar = true, header = true, "
                    "delim = ',', quote = '\"', escape = '\"', auto_detect = false, "
                    f"columns = {self._csv_columns(path)})"
                )
                body = f"SELECT row_number() OVER () AS {ROW}, * FROM {read}"
            else:
                read = f"read_parquet({_quote(str(path))}, file_row_number = true)"
                body = (
                    f"SELECT file_row_number + 1 AS {ROW}, * EXCLUDE (file_row_number) FROM {read}"
                )
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {body}")
            return view, str(path), True
        table = table_sql(str(name), self.name)
        columns = [r[0] for r in self.con.execute(f"DESCRIBE {table}").fetchall()]
        check_file_header(Path(str(name)), columns, required)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {table}")
        return view, str(name), False

    def _csv_columns(self, path: Path) -> str:
        names = file_header(path)
        return "{" + ", ".join(f"{_quote(n)}: 'VARCHAR'" for n in names) + "}"

    def _kinds(self, view: str) -> dict[str, str]:
        rows = self.con.execute(f"DESCRIBE {view}").fetchall()
        return kinds_from((r[0], r[1]) for r in rows if r[0] != ROW)

    def _csv_errors(self) -> tuple[type[BaseException], ...]:
        import duckdb

        return (duckdb.Error,)

    def _no_events(self) -> str:
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {TEMP.events} AS SELECT 0 AS {ROW}, "
            "NULL::VARCHAR AS event_id, NULL::VARCHAR AS contact_id, NULL::VARCHAR AS type, "
            "NULL::TIMESTAMPTZ AS timestamp WHERE false"
        )
        return TEMP.events

    def _check_inputs(self, inputs: Inputs) -> None:
        # DuckDB decodes only the columns a query reads, so the bytes are checked first.
        check_csv_text(inputs.contacts_name, inputs.events_name)
        inputs.check(self._fetch, "duckdb")

    def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def _distinct(self, sql: str) -> pa.ChunkedArray:
        # An Arrow column: no Python objects for a million e-mails.
        return self.con.sql(sql).to_arrow_table().column(0)

    def _upload_quality(self, quality: pa.Table) -> None:
        self.con.register(TEMP.quality, quality)

    def _arrow(self, sql: str) -> pa.Table:
        """A compiled query as an Arrow table, with the rule map as the hashed join side.

        The rule map is a DISTINCT over the events, which DuckDB estimates as large as
        the events, so its build-side optimizer hashed the tens of millions of events
        instead of the ~1,000-row map: at 1M contacts / 50M events that was 2.5 GB of
        the 4.2 GiB peak and about half the join's time. The compiler puts the small
        side of every join on the right, so that optimizer is switched off for the
        query alone and the connection's own setting restored after (an optimizer
        setting: the plan changes, the result cannot).
        """
        row = self.con.execute("SELECT current_setting('disabled_optimizers')").fetchone()
        before = str(row[0]) if row else ""
        names = [n.strip() for n in before.split(",") if n.strip()]
        if "build_side_probe_side" not in names:
            disabled = ",".join([*names, "build_side_probe_side"])
            self.con.execute(f"SET disabled_optimizers = {_quote(disabled)}")
        try:
            return self.con.sql(sql).to_arrow_table()
        finally:
            self.con.execute(f"SET disabled_optimizers = {_quote(before)}")
