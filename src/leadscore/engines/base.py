"""What engines share: the steps of ``score``, column kinds, as-of time, the quality pre-pass."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlglot import exp

from leadscore.compile import CompiledModel, Tables, compile_model, quality_table
from leadscore.engines.results import BatchResult
from leadscore.engines.validate import Run, check_inputs, known_events
from leadscore.files.fields import check_model_fields
from leadscore.io import EVENT_COLUMNS, InputError
from leadscore.spec.model import ScoringModel

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The column an engine adds to a file input: its rows in file order, which the output keeps.
ROW = "__leadscore_row"
# The relations an engine makes for its inputs and the quality table (temporary: its
# connection's or session's own).
TEMP = Tables("leadscore_contacts", "leadscore_events", "leadscore_quality")
# The events of known contacts, with --unknown-contacts skip (a temporary view).
KNOWN_EVENTS = "leadscore_known_events"
UNKNOWN_POLICIES = ("error", "skip")


def as_of_micros(as_of: datetime) -> int:
    """Exact epoch microseconds (``as_of.timestamp()`` is this divided by 1e6)."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware (for example 2026-11-01T00:00:00+00:00)")
    return (as_of - _EPOCH) // timedelta(microseconds=1)


def kind_of(type_name: str) -> str:
    """A database type name -> the compiler's column kind."""
    t = type_name.upper().strip()
    if t.startswith(("VARCHAR", "TEXT", "STRING", "CHAR", "CHARACTER", "BPCHAR", "NAME", "UUID")):
        return "text"
    if t.startswith("BOOL"):
        return "bool"
    if t.startswith(("DECIMAL", "NUMERIC")):
        return "decimal"
    if t.startswith(("FLOAT", "DOUBLE", "REAL")):
        return "float"
    ints: tuple[str, ...] = (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "INT",
        "BIGINT",
        "HUGEINT",
        "UBIGINT",
        "UINTEGER",
    )
    ints += ("USMALLINT", "UTINYINT", "UHUGEINT", "LONG", "SHORT", "BYTE", "INT2", "INT4", "INT8")
    if t.startswith(ints):
        return "int"
    if t.startswith(("TIMESTAMP", "DATE", "TIME")):
        return "temporal"
    return "other"


def is_file(name: str | Path) -> bool:
    return Path(name).suffix.lower() in (".csv", ".parquet", ".pq")


def table_sql(name: str, dialect: str) -> str:
    """A table name from the command line as SQL: plain parts as written, others quoted.

    ``crm.contacts`` stays as it is (so PostgreSQL still folds its case), while a part
    that is not a plain identifier (``leads[2026]``, ``x; drop table y``) becomes a
    quoted name, so the database answers "no such table" instead of a syntax error
    and the text can never be read as SQL.
    """
    return exp.to_table(name, dialect=dialect).sql(dialect=dialect)


def check_file_header(path: Path, columns: Sequence[str], required: Sequence[str]) -> None:
    """The header checks of ``leadscore.io`` (empty or repeated names, required columns)."""
    seen: set[str] = set()
    for name in columns:
        if not name:
            raise InputError(path, "the header has an empty column name", row=0)
        if name in seen:
            raise InputError(path, "the header repeats a column", column=name, row=0)
        seen.add(name)
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(
            path,
            f"missing required column(s) {', '.join(missing)}; found {', '.join(columns) or 'none'}",
        )


def file_header(path: Path) -> list[str]:
    """Column names of a CSV or Parquet file without reading its rows."""
    if not path.exists():
        raise InputError(path, "file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        import csv

        with path.open(newline="", encoding="utf-8-sig") as handle:
            try:
                header = next(csv.reader(handle, strict=True))
            except StopIteration:
                raise InputError(path, "the file is empty (a header row is required)") from None
            except (csv.Error, UnicodeDecodeError) as exc:
                raise InputError(path, f"malformed CSV: {exc}", line=1) from None
        return [h.strip() for h in header]
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise InputError(path, f"cannot read Parquet: {exc}") from None
    raise InputError(path, f"unsupported file type '{suffix}' (use .csv or .parquet)")


def locate_csv_problem(*names: str | Path | None) -> None:
    """Raise the Python reader's exact error (file, row, line) for a malformed CSV input.

    Engines read CSV much faster than Python but report structure errors (a row
    with too few values, an unclosed quote) in their own words and numbering. When
    an engine fails, the local CSV inputs are re-read with :mod:`leadscore.io` to
    name the first bad row; nothing is raised when they are well formed.
    """
    from leadscore.io import read_rows

    for name in names:
        if name is None or not str(name).lower().endswith(".csv") or not Path(name).is_file():
            continue
        _, rows = read_rows(name)
        for _ in rows:
            pass


def check_csv_text(*names: str | Path | None) -> None:
    """Raise the Python reader's error when a local CSV input is not UTF-8 text.

    DuckDB decodes only the columns a query reads and Spark replaces bad bytes, so a
    byte that is not UTF-8 in a column no rule reads would pass there while the
    Python reader (and PostgreSQL's COPY) reject the file. The bytes are streamed
    through a decoder (about a second per GB); only a bad file is re-read with
    :mod:`leadscore.io`, to name its row.
    """
    import codecs

    for name in names:
        if name is None or not str(name).lower().endswith(".csv") or not Path(name).is_file():
            continue
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            with open(name, "rb") as f:
                while chunk := f.read(1 << 24):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            locate_csv_problem(name)  # names the row, as the Python reader does
            # Should the reader accept the bytes after all, still name the file.
            raise InputError(str(name), f"not UTF-8 text: {exc.reason}") from exc


def run_quality(
    model: ScoringModel,
    compiled: CompiledModel,
    distinct: Callable[[str], Iterable[Any]],
) -> pa.Table | None:
    """The quality pre-pass: DISTINCT texts from the engine, checks in Python.

    ``distinct`` may return a Python iterable or an Arrow array (no Python objects
    for a million e-mails).
    """
    if not compiled.quality_fields:
        return None
    values: dict[str, Any] = {}
    for field, query in compiled.quality_inputs.items():
        got = distinct(query.sql(dialect=compiled.dialect))
        values[field] = got if isinstance(got, pa.Array | pa.ChunkedArray) else list(got)
    return quality_table(model, compiled.quality_fields, values)


def kinds_from(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name: kind_of(type_name) for name, type_name in pairs}


Step = Callable[[str], None]


@dataclass(frozen=True)
class Inputs:
    """Contacts and events as an engine has read them, for the checks and the queries."""

    contacts: str  # the relation the queries read
    events: str  # the same; an empty relation when there are no events
    contacts_name: str  # the file or table that messages name
    events_name: str | None  # None when there are no events
    contact_kinds: dict[str, str]
    event_kinds: dict[str, str]
    numbered: bool  # the contacts carry ROW
    events_numbered: bool  # the events carry ROW (True when there are none)
    validate: bool  # the input checks run before scoring
    unknown_contacts: str = "error"  # events of contacts not in the contacts: error or skip

    def check(
        self,
        run: Run,
        dialect: str,
        *,
        can_try_cast: bool = True,
        row_of: Callable[[str, int], int] | None = None,
    ) -> None:
        """:func:`check_inputs` on these inputs; rows are named only when both carry ROW."""
        check_inputs(
            run,
            dialect,
            self.contacts,
            self.events if self.events_name is not None else None,
            self.contact_kinds,
            self.event_kinds,
            self.contacts_name,
            self.events_name,
            ROW if self.numbered and self.events_numbered else None,
            can_try_cast=can_try_cast,
            row_of=row_of,
            unknown_contacts=self.unknown_contacts,
        )


class BatchEngine(ABC):
    """The steps of ``score``, the same on every engine; each engine fills in the hooks."""

    name: str  # also the compiler's dialect

    def score(
        self,
        model: ScoringModel,
        contacts: str | Path,
        events: str | Path | None,
        as_of: datetime,
        explain: bool = False,
        validate: bool = True,
        progress: Step | None = None,
        unknown_contacts: str = "error",
    ) -> BatchResult:
        """Score every contact; a bad input raises :class:`InputError` naming file, row, column.

        ``unknown_contacts``: ``"error"`` (an event whose contact is not in the contacts
        is a bad input, reported with how many there are) or ``"skip"`` (such events are
        left out and counted in :attr:`BatchResult.skipped_events`).
        """
        if unknown_contacts not in UNKNOWN_POLICIES:
            raise ValueError(f"unknown_contacts must be error or skip, not {unknown_contacts!r}")
        try:
            return self._score(
                model, contacts, events, as_of, explain, validate, progress, unknown_contacts
            )
        except self._csv_errors():
            locate_csv_problem(contacts, events)  # a malformed CSV: say where, as io does
            raise

    def _score(
        self,
        model: ScoringModel,
        contacts: str | Path,
        events: str | Path | None,
        as_of: datetime,
        explain: bool,
        validate: bool,
        progress: Step | None,
        unknown_contacts: str = "error",
    ) -> BatchResult:
        step = progress or (lambda _: None)  # names the current step, for a spinner
        step("reading inputs")
        contacts_rel, contacts_name, numbered = self._source(
            contacts, TEMP.contacts, ("contact_id",)
        )
        if events is not None:
            events_rel, events_name, events_numbered = self._source(
                events, TEMP.events, EVENT_COLUMNS
            )
        else:
            events_rel, events_name, events_numbered = self._no_events(), None, True
        inputs = Inputs(
            contacts_rel,
            events_rel,
            contacts_name,
            events_name,
            self._kinds(contacts_rel),
            self._kinds(events_rel),
            numbered,
            events_numbered,
            validate,
            unknown_contacts,
        )
        if validate:
            step("checking inputs")
            self._check_inputs(inputs)
        skipped = 0
        if unknown_contacts == "skip" and events_name is not None:
            step("leaving out events of unknown contacts")
            inputs, skipped = self._known_events(inputs)
        # A field the model reads and a file lacks would score 0 for everyone. A
        # table's missing column reads as missing, as documented for `compile`.
        check_model_fields(
            model,
            inputs.contact_kinds if is_file(contacts) else None,
            inputs.event_kinds if events is not None and is_file(events) else None,
            contacts_name,
            events_name,
        )
        step("compiling")
        compiled = compile_model(
            model,
            self.name,
            contact_kinds=inputs.contact_kinds,
            event_kinds=inputs.event_kinds,
            as_of_us=as_of_micros(as_of),
            tables=Tables(contacts_rel, inputs.events, TEMP.quality),
            row_column=ROW if numbered else None,
        )
        step("quality checks")
        quality = run_quality(model, compiled, self._distinct)
        if quality is not None:
            self._upload_quality(quality)
        step("scoring")
        table, explain_table = self._run_queries(compiled, inputs, explain, step)
        return BatchResult(compiled, table, explain_table, skipped_events=skipped)

    def _known_events(self, inputs: Inputs) -> tuple[Inputs, int]:
        """The inputs reading only the events of known contacts, and how many were left out."""
        query, left_out, _ = known_events(
            self._fetch,
            self.name,
            inputs.contacts,
            inputs.events,
            inputs.contact_kinds,
            inputs.event_kinds,
        )
        if not left_out:
            return inputs, 0
        self._make_view(KNOWN_EVENTS, query)
        return replace(inputs, events=KNOWN_EVENTS), left_out

    def _make_view(self, name: str, query: str) -> None:
        """A temporary view ``name`` of ``query``, replacing an earlier one."""
        self._fetch(f"CREATE OR REPLACE TEMP VIEW {name} AS {query}")

    def _run_queries(
        self, compiled: CompiledModel, inputs: Inputs, explain: bool, step: Step
    ) -> tuple[pa.Table, pa.Table | None]:
        """The scores and, when asked, the explanations (only then is that query built)."""
        table = self._arrow(compiled.sql(pretty=False))
        explain_table = None
        if explain:
            step("explaining")
            explain_table = self._arrow(compiled.explain_sql(pretty=False))
        return table, explain_table

    def _distinct(self, sql: str) -> Iterable[Any]:
        """The quality pre-pass's one-column answers (see :func:`run_quality`)."""
        return [r[0] for r in self._fetch(sql)]

    @abstractmethod
    def _csv_errors(self) -> tuple[type[BaseException], ...]:
        """The engine's errors that may come from a malformed CSV input."""

    @abstractmethod
    def _source(
        self, name: str | Path, temp: str, required: tuple[str, ...]
    ) -> tuple[str, str, bool]:
        """(relation to read, name for messages, has ROW) for a file or a table; a file
        becomes the relation ``temp``."""

    @abstractmethod
    def _no_events(self) -> str:
        """An empty events relation, with the event columns, for a call without events."""

    @abstractmethod
    def _kinds(self, relation: str) -> dict[str, str]:
        """Column name -> the compiler's kind (ROW left out)."""

    @abstractmethod
    def _check_inputs(self, inputs: Inputs) -> None:
        """The input checks of :mod:`leadscore.engines.validate`, as the engine can run them."""

    @abstractmethod
    def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """A query's rows."""

    @abstractmethod
    def _upload_quality(self, quality: pa.Table) -> None:
        """Make the quality pre-pass's table readable as ``TEMP.quality``."""

    @abstractmethod
    def _arrow(self, sql: str) -> pa.Table:
        """A compiled query's answer."""
