"""DuckDB plumbing shared by the event-heavy analytics.

Events come either as a pandas frame (tests, small files) or as a validated Parquet
file, :class:`~leadscore.analytics.inputs.ParquetEvents` (50 million rows that should
never be copied into pandas). Both are exposed to SQL as one view ``ev``. The
session time zone is pinned to UTC, so a zoned ``timestamp`` (TIMESTAMPTZ) and the
plain UTC timestamps passed as parameters compare exactly; results that leave DuckDB
are cast to plain UTC ``TIMESTAMP`` (fetching TIMESTAMPTZ into pandas needs pytz).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadscore.analytics.inputs import ParquetEvents, naive_utc

if TYPE_CHECKING:
    import duckdb


def connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect()
    # The progress bar writes to the terminal from inside library code.
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    return con


def is_lazy(events: Any) -> bool:
    """True for a Parquet file scanned by DuckDB instead of a pandas frame."""
    return isinstance(events, ParquetEvents)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def register_events(
    con: duckdb.DuckDBPyConnection, events: Any, columns: Sequence[str], name: str = "ev"
) -> None:
    """Expose ``columns`` of the events as view ``name`` with a naive-UTC timestamp."""
    cols = list(dict.fromkeys(columns))
    if is_lazy(events):
        path = str(events.path).replace("'", "''")
        # A zoned Parquet timestamp stays TIMESTAMPTZ: converting 50M values costs more
        # than the query, and with the session in UTC every comparison with a plain
        # UTC timestamp is exact. Queries cast only their (small) results.
        sel = ", ".join(_q(c) for c in cols)
        con.execute(f"CREATE VIEW {name} AS SELECT {sel} FROM read_parquet('{path}')")
        return
    frame = events[cols]
    if "timestamp" in cols and isinstance(frame["timestamp"].dtype, pd.DatetimeTZDtype):
        frame = frame.assign(timestamp=naive_utc(frame["timestamp"]))
    con.register(name, frame)


def distinct_text(con: duckdb.DuckDBPyConnection, view: str, column: str) -> list[str]:
    rows = con.execute(
        f"SELECT DISTINCT CAST({_q(column)} AS VARCHAR) FROM {view} WHERE {_q(column)} IS NOT NULL"
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def numeric_ids(table: Any, column: str = "contact_id") -> bool:
    """Whether a frame's or dataset's id column holds numbers rather than text."""
    if is_lazy(table):
        import pyarrow as pa

        typ = table.schema.field(column).type
        return bool(pa.types.is_integer(typ) or pa.types.is_floating(typ))
    return bool(pd.api.types.is_numeric_dtype(table[column].dtype))


def id_join(left: str, right: str, same_kind: bool, column: str = "contact_id") -> str:
    """Join condition on ids; text and numbers meet as text instead of failing a cast."""
    if same_kind:
        return f"{left}.{column} = {right}.{column}"
    return f"CAST({left}.{column} AS VARCHAR) = CAST({right}.{column} AS VARCHAR)"
