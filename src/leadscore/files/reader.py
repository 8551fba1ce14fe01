"""Reading contacts and events files as a CRM or Excel writes them.

CSV comes in many dialects: Excel in a French or German locale separates with
``;``, "Unicode text" is tab-separated UTF-16, Windows exports are cp1252, and
many tools start UTF-8 with a byte-order mark. The dialect is detected (or
forced with ``--delimiter``/``--encoding``) and every row is read as text, with
the mapping's renames, event types and ``--date-format`` applied, so what comes
out is exactly what a canonical UTF-8 CSV with the model's column names would
give. ``.xlsx`` is read with python-calamine (the first sheet).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from leadscore.files.mapping import FieldMapping, event_type
from leadscore.io import InputError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
# The columns --date-format applies to: the event's time and the contact dates
# the learning commands read.
DATE_COLUMNS = {"events": ("timestamp",), "contacts": ("created_at", "converted_at")}
EVENT_REQUIRED = ("event_id", "contact_id", "type", "timestamp")
_SAMPLE = 1 << 16


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file: forced dialect, non-ISO dates, column mapping."""

    delimiter: str | None = None
    encoding: str | None = None
    date_format: str | None = None
    mapping: FieldMapping = field(default_factory=FieldMapping)


@dataclass(frozen=True)
class Dialect:
    encoding: str  # a Python codec name
    delimiter: str

    @property
    def canonical(self) -> bool:
        """What every engine reads as it is: UTF-8 (a BOM allowed), comma-separated."""
        return self.encoding in ("utf-8", "utf-8-sig") and self.delimiter == ","

    def describe(self) -> str:
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
        return f"{self.encoding}, {names.get(self.delimiter, repr(self.delimiter))}-separated"


def delimiter_of(text: str) -> str:
    """``--delimiter`` as given: a character or a name (tab, semicolon...)."""
    value = DELIMITER_NAMES.get(text.strip().lower(), text)
    if len(value) != 1:
        raise ValueError(
            f"--delimiter must be one character or tab/comma/semicolon/pipe, not {text!r}"
        )
    return value


def encoding_of(text: str) -> str:
    """A Python codec name for ``--encoding`` (utf-8, utf-16, cp1252, latin-1...)."""
    try:
        return codecs.lookup(text).name
    except LookupError:
        raise ValueError(f"unknown encoding {text!r} (e.g. utf-8, utf-16, cp1252)") from None


# ------------------------------------------------------------------ dialect --


def detect_dialect(path: Path, options: ReadOptions, verify: bool = False) -> Dialect:
    """The file's encoding and delimiter: forced by the options, else detected."""
    encoding = _encoding(path, options.encoding, verify)
    if options.delimiter is not None:
        return Dialect(encoding, delimiter_of(options.delimiter))
    return Dialect(encoding, _sniff_delimiter(path, encoding))


def _encoding(path: Path, forced: str | None, verify: bool) -> str:
    """The file's encoding; ``verify`` decodes the whole file first (else the start).

    Without ``verify`` a file whose first 64 KiB are UTF-8 is taken as UTF-8 and a
    bad byte further on is reported, with its row, by whatever reads the rows (the
    engines check every byte): scoring a large UTF-8 file is not slowed by a
    second full pass.
    """
    with path.open("rb") as handle:
        head = handle.read(_SAMPLE)
    bom = None
    if head.startswith(codecs.BOM_UTF8):
        bom = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        bom = "utf-16"  # the codec reads the BOM and the byte order from it
    if forced is not None:
        name = encoding_of(forced)
        if name == "utf-8" and bom == "utf-8-sig":
            name = "utf-8-sig"
    else:
        name = bom or ""
    if name:
        if verify:
            _check_text(path, name)
        return name
    if verify:
        utf8 = _decode_error(path, "utf-8") is None
    else:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head)
            utf8 = True
        except UnicodeDecodeError:
            utf8 = False
    if utf8:
        return "utf-8"
    # Not UTF-8: Excel on Windows writes "CSV" in the ANSI code page, cp1252 in the
    # Americas and western Europe. A statistical guess on a short, mostly-ASCII
    # export is unreliable, so any other encoding is given with --encoding.
    if _decode_error(path, "cp1252") is None:
        return "cp1252"
    _check_text(path, "utf-8", hint=" (nor cp1252; give the file's --encoding)")
    return "utf-8"  # not reached: _check_text raised


def _decode_error(path: Path, encoding: str) -> UnicodeDecodeError | None:
    """The first decoding error of the whole file (streamed, about a second per GB)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 24):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return exc
    return None


def _label(encoding: str) -> str:
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16"}.get(encoding, encoding)


def _check_text(path: Path, encoding: str, hint: str = "", delimiter: str = ",") -> None:
    """Raise, naming the file and the row, when the file is not text in ``encoding``."""
    error = _decode_error(path, encoding)
    if error is None:
        return
    row, reason = _bad_row(path, encoding, delimiter, error)
    raise InputError(path, f"not {_label(encoding)} text: {reason}{hint}", row=row)


def _bad_row(
    path: Path, encoding: str, delimiter: str, error: UnicodeDecodeError
) -> tuple[int | None, str]:
    """(data row, reason) of the first bytes that are not ``encoding`` text.

    Decoding line by line (only on this error path) pins the row exactly; a text
    stream decodes blocks ahead of the row being parsed. UTF-16 lines cannot be
    split on a newline byte, so there the row is the one being parsed.
    """
    number = 0

    def lines() -> Iterator[str]:
        with path.open("rb") as handle:
            for i, raw in enumerate(handle):
                yield raw.decode("utf-8-sig" if i == 0 and encoding == "utf-8" else encoding)

    if encoding.startswith("utf-16"):
        handle = path.open(newline="", encoding=encoding)
        source: Iterator[str] = iter(handle)
    else:
        handle = None
        source = lines()
    reader = csv.reader(source, delimiter=delimiter)
    try:
        for _ in reader:
            number += 1
    except UnicodeDecodeError as exc:
        return number if number > 0 else None, exc.reason
    except csv.Error:
        pass
    finally:
        if handle is not None:
            handle.close()
    return (number if number > 0 else None), error.reason


def _sniff_delimiter(path: Path, encoding: str) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of columns.

    csv.Sniffer guesses from character frequencies and picks a space or a letter
    on a short file; here only the usual separators are tried, and the one that
    gives the most columns with every sampled row complete wins (ties: comma).
    """
    with path.open("rb") as handle:
        raw = handle.read(_SAMPLE)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw)
    lines = text.splitlines(keepends=True)
    if len(raw) == _SAMPLE and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut
    sample = "".join(lines[:200])
    best, best_columns = ",", 1
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        # A quoted field cut at the sample's end may leave the last row short.
        complete = all(len(r) == width for r in rows[:-1]) and len(rows[-1]) <= width
        if complete and width > best_columns:
            best, best_columns = delimiter, width
    return best


# ------------------------------------------------------------------ reading --


@dataclass
class Row:
    """One data row: its number (from 1), CSV line, canonical record, and a problem."""

    number: int
    line: int | None
    record: dict[str, str]
    problem: tuple[str | None, str] | None = None  # (column, message)


class _Counting(io.RawIOBase):
    """A binary file that counts the bytes read, for a progress bar with an ETA."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.count = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


class Source:
    """A contacts or events file of any supported format, read as canonical rows.

    ``header`` holds the model's names (after the mapping); ``renames`` says which
    file column each renamed one came from; ``total``/``done()`` measure progress
    (bytes for CSV, rows otherwise).
    """

    def __init__(
        self,
        path: str | Path,
        kind: str,
        options: ReadOptions | None = None,
        verify: bool = False,
    ):
        self.path = Path(path)
        self.kind = kind
        self.options = options or ReadOptions()
        if not self.path.exists():
            raise InputError(self.path, "file not found")
        suffix = self.path.suffix.lower()
        self.format = (
            "csv"
            if suffix in CSV_SUFFIXES
            else "xlsx"
            if suffix in XLSX_SUFFIXES
            else "parquet"
            if suffix in PARQUET_SUFFIXES
            else None
        )
        if self.format is None:
            raise InputError(
                self.path, f"unsupported file type '{suffix}' (use .csv, .tsv, .xlsx or .parquet)"
            )
        self.dialect = (
            detect_dialect(self.path, self.options, verify) if self.format == "csv" else None
        )
        self.file_header = self._read_header()
        self.renames = self.options.mapping.renames(kind, self.file_header)
        self.header = [self.renames.get(h, h) for h in self.file_header]
        self.source_of = {v: k for k, v in self.renames.items()}
        self._done = 0
        self.total = self.path.stat().st_size if self.format == "csv" else self._row_count()

    # --- what the file needs ------------------------------------------------
    @property
    def dates(self) -> tuple[str, ...]:
        if self.options.date_format is None:
            return ()
        return tuple(c for c in DATE_COLUMNS.get(self.kind, ()) if c in self.header)

    @property
    def types(self) -> dict[str, str]:
        """The event-type renames that apply to this file (none for contacts)."""
        if self.kind != "events":
            return {}
        return self.options.mapping.types_for("type" in self.source_of)

    @property
    def maps_types(self) -> bool:
        return bool(self.types)

    def require(self, columns: Sequence[str]) -> None:
        """The required columns, after the mapping, with a hint when a preset has them."""
        from leadscore.files.fields import closest_column
        from leadscore.files.mapping import preset_for

        missing = [c for c in columns if c not in self.header]
        if not missing:
            return
        hints = []
        for column in missing:
            by_preset = preset_for(column, self.file_header)
            if by_preset is not None:
                hints.append(f"'{by_preset[0]}' is {column} with --preset {by_preset[1]}")
            elif (close := closest_column(column, self.file_header)) is not None:
                hints.append(f"did you mean '{close}'? (use a mapping)")
        raise InputError(
            self.path,
            f"missing required column(s) {', '.join(missing)}; found {', '.join(self.file_header)}"
            + (f" ({'; '.join(hints)})" if hints else ""),
        )

    @property
    def canonical(self) -> bool:
        """True when engines can read the file as it is (nothing to convert)."""
        if self.format == "parquet":
            return not (self.renames or self.dates or self.maps_types)
        return (
            self.format == "csv"
            and self.path.suffix.lower() == ".csv"  # engines read .csv, not .tsv/.txt
            and self.dialect is not None
            and self.dialect.canonical
            and not (self.renames or self.dates or self.maps_types)
        )

    def column_name(self, column: str | None) -> str | None:
        """The file's own name for a model column (for messages)."""
        if column is None:
            return None
        return self.source_of.get(column, column)

    def done(self) -> int:
        return self._done

    # --- header and size ------------------------------------------------------
    def _read_header(self) -> list[str]:
        if self.format == "csv":
            assert self.dialect is not None
            with self.path.open(newline="", encoding=self.dialect.encoding) as handle:
                reader = csv.reader(handle, delimiter=self.dialect.delimiter, strict=True)
                try:
                    header = next(reader)
                except StopIteration:
                    raise InputError(
                        self.path, "the file is empty (a header row is required)"
                    ) from None
                except csv.Error as exc:
                    raise InputError(self.path, f"malformed CSV: {exc}", line=1) from None
            return self._checked([h.strip() for h in header])
        if self.format == "xlsx":
            for values in self._sheet_rows():
                if any(v not in (None, "") for v in values):
                    return self._checked([_cell_text(v).strip() for v in values])
            raise InputError(self.path, "the first sheet is empty (a header row is required)")
        import pyarrow.parquet as pq

        try:
            return self._checked(list(pq.read_schema(self.path).names))
        except InputError:
            raise
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise InputError(self.path, f"cannot read Parquet: {exc}") from None

    def _checked(self, header: list[str]) -> list[str]:
        # An Excel sheet often has empty trailing header cells; they name no column.
        while header and not header[-1] and self.format == "xlsx":
            header.pop()
        seen: set[str] = set()
        for name in header:
            if not name:
                raise InputError(self.path, "the header has an empty column name", row=0)
            if name in seen:
                raise InputError(self.path, "the header repeats a column", column=name, row=0)
            seen.add(name)
        return header

    def _row_count(self) -> int:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            return int(pq.read_metadata(self.path).num_rows)
        return max(0, self._sheet().height - 1)

    def _sheet(self) -> Any:
        from python_calamine import CalamineWorkbook

        try:
            book = CalamineWorkbook.from_path(str(self.path))
            return book.get_sheet_by_index(0)
        except Exception as exc:  # calamine raises its own types for a damaged file
            raise InputError(self.path, f"cannot read the Excel file: {exc}") from None

    def _sheet_rows(self) -> Iterator[list[Any]]:
        yield from self._sheet().iter_rows()

    # --- rows ---------------------------------------------------------------
    def rows(self) -> Iterator[Row]:
        """Every data row as canonical text, in file order."""
        raw = {"csv": self._csv_rows, "xlsx": self._xlsx_rows, "parquet": self._parquet_rows}[
            self.format or "csv"
        ]()
        dates, fmt = self.dates, self.options.date_format
        types = self.types
        width = len(self.file_header)
        for row in raw:
            if row.problem is None and row.record:
                if types and row.record.get("type"):
                    row.record["type"] = event_type(types, row.record["type"])
                for column in dates:
                    value = row.record.get(column)
                    if value and fmt:
                        try:
                            row.record[column] = parse_date(value, fmt)
                        except ValueError as exc:
                            row.problem = (column, str(exc))
                            break
            elif row.problem is None and width and not row.record:
                pass  # a blank line, kept as one so that row numbers stay the file's
            yield row

    def _csv_rows(self) -> Iterator[Row]:
        assert self.dialect is not None
        counting = _Counting(self.path.open("rb"))
        buffered = io.BufferedReader(counting, buffer_size=1 << 20)
        handle = io.TextIOWrapper(buffered, encoding=self.dialect.encoding, newline="")
        reader = csv.reader(handle, delimiter=self.dialect.delimiter, strict=True)
        header = self.header
        with handle:
            try:
                next(reader)
            except (StopIteration, csv.Error):
                return
            number = 0
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise InputError(
                        self.path, f"malformed CSV: {exc}", row=number + 1, line=reader.line_num
                    ) from None
                except UnicodeDecodeError as exc:
                    enc, delim = self.dialect.encoding, self.dialect.delimiter
                    row, reason = _bad_row(self.path, enc, delim, exc)
                    raise InputError(
                        self.path, f"not {_label(enc)} text: {reason}", row=row
                    ) from None
                number += 1
                self._done = counting.count
                if not values:
                    yield Row(number, reader.line_num, {})
                    continue
                if len(values) != len(header):
                    yield Row(
                        number,
                        reader.line_num,
                        {},
                        (
                            None,
                            f"expected {len(header)} values (as in the header), found {len(values)}",
                        ),
                    )
                    continue
                yield Row(number, reader.line_num, dict(zip(header, values, strict=True)))

    def _xlsx_rows(self) -> Iterator[Row]:
        header = self.header
        width = len(header)
        started = False
        number = 0
        for values in self._sheet_rows():
            if not started:
                started = any(v not in (None, "") for v in values)
                continue  # the header row (and empty rows above it)
            number += 1
            self._done = number
            cells = [_cell_text(v) for v in values]
            extra = [c for c in cells[width:] if c != ""]
            if extra:
                yield Row(
                    number,
                    None,
                    {},
                    (None, f"expected {width} values (as in the header), found {len(cells)}"),
                )
                continue
            cells = (cells + [""] * width)[:width]
            if not any(cells):
                yield Row(number, None, {})
                continue
            yield Row(number, None, dict(zip(header, cells, strict=True)))

    def _parquet_rows(self) -> Iterator[Row]:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(self.path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise InputError(self.path, f"cannot read Parquet: {exc}") from None
        table = table.rename_columns(self.header)
        number = 0
        for batch in table.to_batches(max_chunksize=65_536):
            for record in batch.to_pylist():
                number += 1
                self._done = number
                yield Row(number, None, {k: _cell_text(v) for k, v in record.items()})


def parse_date(value: str, fmt: str) -> str:
    """``value`` read with ``--date-format`` as ISO 8601 text (ISO input passes as is)."""
    text = value.strip()
    try:
        return datetime.strptime(text, fmt).isoformat()
    except ValueError:
        pass
    try:
        datetime.fromisoformat(text)
        return text
    except ValueError:
        raise ValueError(f"cannot read date '{text}' with --date-format '{fmt}'") from None


def _cell_text(value: Any) -> str:
    """An Excel or Parquet cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def read_header(path: str | Path, kind: str, options: ReadOptions | None = None) -> Sequence[str]:
    """The model-side column names of a file (after the mapping)."""
    return Source(path, kind, options).header
