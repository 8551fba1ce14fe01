"""Reading contacts and events from files, and writing results safely.

Input errors name the file, the row (and line for CSV) and the column, so a
marketer can open the spreadsheet and fix it. Output is written to a temporary
file beside the target and moved into place only when complete, so a rejected
input or a killed process never leaves half a file behind.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadscore.rules.evaluate import Contact, Event
from leadscore.rules.values import as_text

EVENT_COLUMNS = ("event_id", "contact_id", "type", "timestamp")
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


# A file converted before reading (leadscore.files.prepare: another dialect, an
# Excel sheet, renamed columns) is read from a temporary copy; errors about the
# copy, wherever they are raised, name the user's file and its own column names.
# Temporary path -> (original path, model column -> the file's column).
FILE_ALIASES: ContextVar[Mapping[str, tuple[str, Mapping[str, str]]] | None] = ContextVar(
    "leadscore_file_aliases", default=None
)


class InputError(ValueError):
    """Bad input data, located precisely."""

    def __init__(
        self,
        file: str | Path,
        message: str,
        row: int | None = None,
        column: str | None = None,
        line: int | None = None,
    ):
        alias = (FILE_ALIASES.get() or {}).get(str(file))
        if alias is not None:
            temp, (file, columns) = Path(file), alias
            message = message.replace(str(temp), file).replace(temp.name, Path(file).name)
            column = columns.get(column, column) if column is not None else None
        self.file, self.row, self.column, self.line = str(file), row, column, line
        self.message = message
        where = [self.file]
        if row is not None:
            where.append(
                f"row {row}" + (f" (line {line})" if line is not None and line != row + 1 else "")
            )
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}")


# ------------------------------------------------------------------ reading --


def read_rows(
    path: str | Path,
) -> tuple[list[str], Iterator[tuple[int, int | None, dict[str, Any]]]]:
    """Columns and an iterator of (row number from 1, CSV line, record)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path)
    if suffix in (".parquet", ".pq"):
        return _parquet_rows(path)
    raise InputError(path, f"unsupported file type '{suffix}' (use .csv or .parquet)")


def _csv_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, int | None, dict[str, Any]]]]:
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.reader(handle, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise InputError(path, "the file is empty (a header row is required)") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        handle.close()
        raise InputError(path, f"malformed CSV: {exc}", line=1) from None
    header = [h.strip() for h in header]
    _check_header(path, header)

    def rows() -> Iterator[tuple[int, int | None, dict[str, Any]]]:
        number = 0
        with handle:
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except (csv.Error, UnicodeDecodeError) as exc:
                    raise csv_row_error(path, exc, number + 1, reader.line_num) from None
                number += 1
                if not values:
                    continue
                if len(values) != len(header):
                    raise InputError(
                        path,
                        f"expected {len(header)} values (as in the header), found {len(values)}",
                        row=number,
                        line=reader.line_num,
                    )
                if "\x00" in "".join(values):  # one search per row; located when found
                    column = next(h for h, v in zip(header, values, strict=True) if "\x00" in v)
                    raise InputError(
                        path,
                        "contains a NUL character, which no store can hold",
                        row=number,
                        column=column,
                        line=reader.line_num,
                    )
                yield number, reader.line_num, dict(zip(header, values, strict=True))

    return header, rows()


def csv_row_error(
    path: Path, exc: csv.Error | UnicodeDecodeError, row: int, line: int
) -> InputError:
    """The error for a data row the csv module could not parse or decode.

    Shared with the engines that copy CSV rows themselves, so they word it as this
    reader does.
    """
    if isinstance(exc, UnicodeDecodeError):
        return InputError(path, f"not UTF-8 text: {exc.reason}", row=row)
    return InputError(path, f"malformed CSV: {exc}", row=row, line=line)


def _parquet_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, int | None, dict[str, Any]]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(path, f"cannot read Parquet: {exc}") from None
    header = list(table.column_names)
    _check_header(path, header)
    _check_parquet_values(path, table)

    def rows() -> Iterator[tuple[int, int | None, dict[str, Any]]]:
        number = 0
        for batch in table.to_batches(max_chunksize=65_536):
            for record in batch.to_pylist():
                number += 1
                yield number, None, record

    return header, rows()


def _check_parquet_values(path: Path, table: Any) -> None:
    """Text with a NUL and infinite numbers are refused, vectorised (the first one
    is named). NaN stays allowed: it is how pandas writes a missing number, and the
    model language reads it as missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name in table.column_names:
        column = table.column(name)
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            bad = pc.fill_null(pc.match_substring(column, "\x00"), False)
            message = "contains a NUL character, which no store can hold"
        elif pa.types.is_floating(kind):
            bad = pc.fill_null(pc.is_inf(column), False)
            message = "is infinite; give a finite number (or leave it empty)"
        else:
            continue
        if pc.any(bad).as_py():
            first = pc.index(bad, True).as_py()
            raise InputError(path, message, row=first + 1, column=name)


def _check_header(path: Path, header: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if not name:
            raise InputError(path, "the header has an empty column name", row=0)
        if name in seen:
            raise InputError(path, "the header repeats a column", column=name, row=0)
        seen.add(name)


def _require(path: Path, header: Sequence[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            path,
            f"missing required column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}",
        )


def read_contacts(path: str | Path) -> list[Contact]:
    """One row per contact: ``contact_id`` plus any profile and account columns."""
    path = Path(path)
    header, rows = read_rows(path)
    _require(path, header, ("contact_id",))
    contacts: list[Contact] = []
    first_row: dict[str, int] = {}
    for number, line, record in rows:
        contact_id = as_text(record.pop("contact_id"))
        if contact_id is None:
            raise InputError(
                path, "contact_id is empty", row=number, column="contact_id", line=line
            )
        if contact_id in first_row:
            raise InputError(
                path,
                f"duplicate contact_id '{contact_id}' (first at row {first_row[contact_id]})",
                row=number,
                column="contact_id",
                line=line,
            )
        first_row[contact_id] = number
        contacts.append(Contact(contact_id, record))
    return contacts


def read_events(
    path: str | Path,
    known_contacts: set[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Event]:
    """``event_id, contact_id, type, timestamp`` plus any property columns."""
    path = Path(path)
    header, rows = read_rows(path)
    _require(path, header, EVENT_COLUMNS)
    events: list[Event] = []
    first_row: dict[str, int] = {}
    for number, line, record in rows:
        raw = {c: record.pop(c) for c in EVENT_COLUMNS}
        values = {c: as_text(v) for c, v in raw.items()}
        for column in EVENT_COLUMNS:
            if values[column] is None:
                raise InputError(path, f"{column} is empty", row=number, column=column, line=line)
        event_id, contact_id = str(values["event_id"]), str(values["contact_id"])
        if event_id in first_row:
            raise InputError(
                path,
                f"duplicate event_id '{event_id}' (first at row {first_row[event_id]})",
                row=number,
                column="event_id",
                line=line,
            )
        first_row[event_id] = number
        if known_contacts is not None and contact_id not in known_contacts:
            raise InputError(
                path,
                f"unknown contact_id '{contact_id}' (not in the contacts file)",
                row=number,
                column="contact_id",
                line=line,
            )
        try:
            timestamp = parse_timestamp(raw["timestamp"])
        except ValueError as exc:
            raise InputError(path, str(exc), row=number, column="timestamp", line=line) from None
        events.append(Event(event_id, contact_id, str(values["type"]), timestamp, record))
        if progress is not None and number % 100_000 == 0:
            progress(number)
    return events


def parse_timestamp(value: Any) -> datetime:
    """An aware datetime from ISO 8601 text or a datetime; naive means UTC."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = as_text(value)
        if text is None:
            raise ValueError("timestamp is empty")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"cannot read timestamp '{text}' (use ISO 8601, e.g. 2026-03-01T14:30:00Z)"
            ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def group_events(events: Sequence[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = {}
    for event in events:
        grouped.setdefault(event.contact_id, []).append(event)
    return grouped


# ------------------------------------------------------------------ writing --


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    os.replace(tmp_path, target)


def write_table(
    path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str
) -> None:
    """Write rows as csv, parquet or jsonl to ``path`` (already a temporary path)."""
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(v) for k, v in row.items()})
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps({c: row.get(c) for c in columns}, default=str) + "\n")
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows])
        if not rows:
            table = pa.table({c: pa.array([], pa.string()) for c in columns})
        pq.write_table(table, path)
    else:
        raise ValueError(f"unknown output format {fmt!r}")


def output_format(path: str | Path) -> str:
    """csv, parquet or jsonl from the file name."""
    suffix = Path(path).suffix.lower()
    formats = {
        ".csv": "csv",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".jsonl": "jsonl",
        ".json": "jsonl",
    }
    if suffix not in formats:
        raise InputError(path, f"unsupported output type '{suffix}' (use .csv, .parquet or .jsonl)")
    return formats[suffix]


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str)
    return value
