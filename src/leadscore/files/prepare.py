"""Turning a CRM export into the canonical file every engine reads the same way.

DuckDB and Spark read CSV themselves (UTF-8, comma-separated, the model's column
names); PostgreSQL copies it through Python's reader. Rather than teach each
engine every dialect, encoding and mapping, a file that is not already canonical
is rewritten once into a temporary UTF-8 CSV (Parquet stays Parquet) with the
model's names, ISO dates and the model's event types, row for row, so row
numbers in messages are the original file's. Errors name the original file and
its own column names. A canonical file is used as it is: no copy, no cost.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from leadscore.files.mapping import event_type
from leadscore.files.reader import EVENT_REQUIRED, ReadOptions, Source, parse_date
from leadscore.io import FILE_ALIASES, InputError

Note = Callable[[str], None]


def is_local_file(name: str | Path | None) -> bool:
    return name is not None and "://" not in str(name) and Path(name).is_file()


@contextmanager
def prepared_inputs(
    contacts: str | None,
    events: str | None,
    options: ReadOptions,
    note: Note | None = None,
) -> Iterator[tuple[str | None, str | None]]:
    """``(contacts, events)`` as engines can read them; tables and URIs pass unchanged.

    Inside the block, an :class:`InputError` about a converted file names the
    original file and its column (see ``leadscore.io.FILE_ALIASES``).
    """
    with tempfile.TemporaryDirectory(prefix="leadscore-inputs-") as tmp:
        converted: dict[str, Source] = {}
        out: list[str | None] = []
        for name, kind in ((contacts, "contacts"), (events, "events")):
            if not is_local_file(name):
                out.append(name)
                continue
            assert name is not None
            source = Source(name, kind, options)
            source.require(("contact_id",) if kind == "contacts" else EVENT_REQUIRED)
            if source.canonical:
                out.append(name)
                continue
            target = _target(Path(tmp), kind, source)
            write_canonical(source, target)
            converted[str(target)] = source
            out.append(str(target))
            if note is not None:
                note(describe(source))
        aliases = {t: (str(s.path), dict(s.source_of)) for t, s in converted.items()}
        token = FILE_ALIASES.set({**(FILE_ALIASES.get() or {}), **aliases})
        try:
            yield out[0], out[1]
        finally:
            FILE_ALIASES.reset(token)


def describe(source: Source) -> str:
    """What was done to read a file, for the user (stderr)."""
    parts = []
    if source.dialect is not None and not source.dialect.canonical:
        parts.append(f"read as {source.dialect.describe()}")
    elif source.format == "xlsx":
        parts.append("read the first sheet")
    if source.renames:
        shown = ", ".join(f"'{a}' -> {b}" for a, b in list(source.renames.items())[:6])
        more = len(source.renames) - 6
        parts.append(f"renamed {shown}" + (f" (+{more} more)" if more > 0 else ""))
    if source.dates:
        parts.append(f"dates {', '.join(source.dates)} read with '{source.options.date_format}'")
    if source.maps_types:
        parts.append("event types mapped")
    return f"{source.path}: {'; '.join(parts) or 'converted'}"


def _target(tmp: Path, kind: str, source: Source) -> Path:
    folder = tmp / kind
    folder.mkdir()
    suffix = ".parquet" if source.format == "parquet" else ".csv"
    return folder / (source.path.name + ("" if source.path.suffix.lower() == suffix else suffix))


def write_canonical(source: Source, target: Path) -> None:
    """Write ``source`` as a canonical file at ``target`` (CSV, or Parquet for Parquet)."""
    if source.format == "parquet":
        _write_parquet(source, target)
    elif _header_only(source):
        _copy_with_header(source, target)
    else:
        _write_csv(source, target)


def _header_only(source: Source) -> bool:
    """Only the names change: the rows can be copied byte for byte after a new header."""
    if source.format != "csv" or source.dialect is None or not source.dialect.canonical:
        return False
    if source.dates or source.maps_types:
        return False
    with source.path.open("rb") as handle:
        first = handle.readline()
    return b'"' not in first and first.endswith(b"\n")


def _copy_with_header(source: Source, target: Path) -> None:
    with source.path.open("rb") as src, target.open("wb") as dst:
        first = src.readline()
        # The file's own line ending: DuckDB's reader refuses a file that mixes them.
        ending = "\r\n" if first.endswith(b"\r\n") else "\n"
        dst.write((",".join(source.header) + ending).encode("utf-8"))
        shutil.copyfileobj(src, dst, 1 << 20)


def _write_csv(source: Source, target: Path) -> None:
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(source.header)
        header = source.header
        for row in source.rows():
            if row.problem is not None:
                column, message = row.problem
                raise InputError(
                    source.path,
                    message,
                    row=row.number,
                    column=source.column_name(column),
                    line=row.line,
                )
            writer.writerow([row.record.get(h, "") for h in header] if row.record else [])


def _write_parquet(source: Source, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(source.path).rename_columns(source.header)
    if source.maps_types and "type" in table.column_names:
        types = [
            None if v is None else event_type(source.types, str(v))
            for v in table["type"].to_pylist()
        ]
        table = table.set_column(
            table.column_names.index("type"), "type", pa.array(types, pa.string())
        )
    fmt = source.options.date_format
    for column in source.dates:
        if fmt is None or not pa.types.is_string(table[column].type):
            continue
        values = []
        for number, value in enumerate(table[column].to_pylist(), start=1):
            try:
                values.append(parse_date(value, fmt) if value else value)
            except ValueError as exc:
                raise InputError(
                    source.path, str(exc), row=number, column=source.column_name(column)
                ) from None
        table = table.set_column(
            table.column_names.index(column), column, pa.array(values, pa.string())
        )
    pq.write_table(table, target)
