"""Reading and validating the tables the analytics work on.

Every table is checked once, here, so that the metric functions can trust their
inputs: required columns exist, identifiers are present, timestamps parse and are
made timezone-aware UTC (naive ones are read as UTC), numbers are numbers. A problem
is reported with the file, the row and the column, because "could not convert
string to float" on a million-row export is useless to the person who has to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

#: Lifecycle stages in funnel order; ``lost`` is terminal and outside the funnel.
FUNNEL_STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "customer")
TERMINAL_STAGES: tuple[str, ...] = ("lost",)
KNOWN_STAGES: tuple[str, ...] = FUNNEL_STAGES + TERMINAL_STAGES


class AnalyticsInputError(ValueError):
    """An input table is unusable; says which file, row and column."""

    def __init__(
        self,
        source: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        line: int | None = None,
    ) -> None:
        self.source = source
        self.detail = message
        self.row = row
        self.column = column
        self.line = line
        where = [source]
        if row is not None:
            where.append(f"row {row}" + (f" (line {line})" if line is not None else ""))
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}")


@dataclass(frozen=True)
class Schema:
    """What one kind of input table must and may contain."""

    kind: str
    required: tuple[str, ...]
    timestamps: tuple[str, ...] = ()
    optional_timestamps: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    optional_numeric: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    booleans: tuple[str, ...] = ()

    def with_required(self, columns: Iterable[str]) -> Schema:
        added = tuple(c for c in columns if c and c not in self.required)
        return Schema(
            self.kind,
            self.required + added,
            self.timestamps,
            self.optional_timestamps,
            self.numeric,
            self.optional_numeric,
            self.identifiers,
            self.booleans,
        )


CONTACTS = Schema(
    "contacts",
    ("contact_id", "created_at"),
    timestamps=("created_at",),
    identifiers=("contact_id",),
)
EVENTS = Schema(
    "events",
    ("event_id", "contact_id", "type", "timestamp"),
    timestamps=("timestamp",),
    optional_numeric=("amount",),
    identifiers=("event_id", "contact_id"),
)
STAGES = Schema(
    "stages",
    ("contact_id", "stage", "timestamp"),
    timestamps=("timestamp",),
    optional_numeric=("value",),
    identifiers=("contact_id",),
)
SPEND = Schema("spend", ("period", "amount"), timestamps=("period",), numeric=("amount",))
ASSIGNMENTS = Schema(
    "assignments",
    ("contact_id", "experiment", "variant"),
    optional_timestamps=("assigned_at",),
    identifiers=("contact_id", "experiment", "variant"),
    booleans=("converted",),
)
SCORES = Schema(
    "scores",
    ("contact_id", "score"),
    numeric=("score",),
    optional_timestamps=("scored_at",),
    identifiers=("contact_id",),
)

_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n", ""}


def _row_of(frame: pd.DataFrame, position: int, line_offset: int | None) -> tuple[int, int | None]:
    row = position + 1
    return row, (row + line_offset if line_offset is not None else None)


def _first_bad(mask: np.ndarray | pd.Series) -> int | None:
    idx = np.flatnonzero(np.asarray(mask))
    return int(idx[0]) if idx.size else None


def to_utc(values: pd.Series) -> pd.Series:
    """Timestamps as tz-aware UTC; naive values are taken to be UTC already.

    Returns NaT where a value cannot be parsed; callers decide whether that is an error.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.tz_localize("UTC")
    text = values.astype("string").str.strip()
    # ISO 8601 covers the exports we see (dates, "2018-02-26 19:58:54", offsets,
    # "Z"); "mixed" would also guess at 01/02/2024 and silently swap day and month.
    return pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")


def validate(
    frame: pd.DataFrame,
    schema: Schema,
    source: str | None = None,
    *,
    line_offset: int | None = None,
    require: Sequence[str] = (),
    allowed_stages: Sequence[str] = KNOWN_STAGES,
) -> pd.DataFrame:
    """Check a table against its schema and return a normalised copy.

    Args:
        frame: the table as read.
        schema: which kind of table it is.
        source: name used in error messages (a file name); defaults to the kind.
        line_offset: added to the 1-based row number to give the file line (1 for a
            CSV with a header row), or None when lines mean nothing (Parquet, frames).
        require: further columns this computation needs (e.g. a breakdown field).
        allowed_stages: stage names accepted in a ``stage`` column.
    """
    name = source or schema.kind
    schema = schema.with_required(require)
    missing = [c for c in schema.required if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "(none)"
        raise AnalyticsInputError(
            name, f"missing column(s) {', '.join(repr(c) for c in missing)}; found: {found}"
        )
    out = frame.copy()
    for column in schema.identifiers:
        if column not in out.columns:
            continue
        col = out[column]
        bad = col.isna()
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            bad = bad | (col.astype("string").str.strip() == "")
        pos = _first_bad(bad)
        if pos is not None:
            row, line = _row_of(out, pos, line_offset)
            raise AnalyticsInputError(name, "empty identifier", row=row, column=column, line=line)
    for column in schema.timestamps + schema.optional_timestamps:
        if column not in out.columns:
            continue
        raw = out[column]
        parsed = to_utc(raw)
        empty = raw.isna()
        if not pd.api.types.is_datetime64_any_dtype(raw.dtype):
            empty = empty | (raw.astype("string").str.strip() == "")
        if column in schema.timestamps:
            pos = _first_bad(empty)
            if pos is not None:
                row, line = _row_of(out, pos, line_offset)
                raise AnalyticsInputError(
                    name, "empty timestamp", row=row, column=column, line=line
                )
        pos = _first_bad(parsed.isna() & ~empty)
        if pos is not None:
            row, line = _row_of(out, pos, line_offset)
            raise AnalyticsInputError(
                name,
                f"cannot parse {str(raw.iloc[pos])!r} as an ISO 8601 timestamp",
                row=row,
                column=column,
                line=line,
            )
        out[column] = parsed
    for column in schema.numeric + schema.optional_numeric:
        if column not in out.columns:
            continue
        raw = out[column]
        if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
            values = raw.astype("float64")
            bad = raw.isna() if column in schema.numeric else pd.Series(False, index=raw.index)
        else:
            text = raw.astype("string").str.strip()
            values = pd.to_numeric(text, errors="coerce").astype("float64")
            blank = text.isna() | (text == "")
            bad = values.isna() & ~blank
            if column in schema.numeric:
                bad = bad | blank
        pos = _first_bad(bad)
        if pos is not None:
            row, line = _row_of(out, pos, line_offset)
            raise AnalyticsInputError(
                name,
                f"{str(raw.iloc[pos])!r} is not a number",
                row=row,
                column=column,
                line=line,
            )
        out[column] = values
    for column in schema.booleans:
        if column not in out.columns:
            continue
        raw = out[column]
        if pd.api.types.is_bool_dtype(raw.dtype):
            continue
        text = raw.astype("string").str.strip().str.lower().fillna("")
        ok = text.isin(_TRUE | _FALSE)
        pos = _first_bad(~ok)
        if pos is not None:
            row, line = _row_of(out, pos, line_offset)
            raise AnalyticsInputError(
                name,
                f"{str(raw.iloc[pos])!r} is not true/false (use 1/0, true/false, yes/no)",
                row=row,
                column=column,
                line=line,
            )
        out[column] = text.isin(_TRUE).astype(bool)
    if "stage" in schema.required:
        stage = out["stage"].astype("string").str.strip().str.lower()
        known = stage.isin(list(allowed_stages))
        pos = _first_bad(~known.fillna(False))
        if pos is not None:
            row, line = _row_of(out, pos, line_offset)
            raise AnalyticsInputError(
                name,
                f"unknown stage {str(out['stage'].iloc[pos])!r}; expected one of "
                + ", ".join(allowed_stages),
                row=row,
                column="stage",
                line=line,
            )
        out["stage"] = stage.astype(object)
    return out.reset_index(drop=True)


def _read_raw(
    path: Path, wanted: set[str], identifiers: Sequence[str]
) -> tuple[pd.DataFrame, int | None]:
    """Read the ``wanted`` columns of a CSV or Parquet file; returns the line offset."""
    name = path.name
    if not path.exists():
        raise AnalyticsInputError(str(path), "file not found")
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        try:
            file_schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises several unrelated types here
            raise AnalyticsInputError(name, f"not a readable Parquet file: {exc}") from exc
        present = [c for c in file_schema.names if c in wanted]
        # Dictionary-encode text columns that are not identifiers: pandas then holds
        # them as categoricals (a few bytes a row) instead of 50M Python strings.
        dict_cols = [
            c
            for c in present
            if c not in identifiers
            and (
                pa.types.is_string(file_schema.field(c).type)
                or pa.types.is_large_string(file_schema.field(c).type)
            )
        ]
        table = pq.read_table(path, columns=present, read_dictionary=dict_cols)
        return table.to_pandas(), None
    if suffix.endswith((".csv", ".tsv", ".txt", ".csv.gz")):
        sep = "\t" if ".tsv" in suffix else ","
        try:
            frame = pd.read_csv(
                path,
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                usecols=lambda c: c in wanted,
            )
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise AnalyticsInputError(name, f"not a readable CSV file: {exc}") from exc
        except pd.errors.EmptyDataError as exc:
            raise AnalyticsInputError(name, "the file is empty (no header row)") from exc
        return frame, 1
    raise AnalyticsInputError(name, "unsupported file type; use .csv, .tsv or .parquet")


def read_table(
    path: str | Path,
    schema: Schema,
    *,
    columns: Sequence[str] = (),
    require: Sequence[str] = (),
    rename: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a CSV or Parquet file and validate it against ``schema``.

    Only the schema's columns, ``require`` and ``columns`` are loaded: an events file
    of 50 million rows must not drag every property column into memory. ``rename``
    maps the file's column names to the schema's (``{"mql_id": "contact_id"}``).
    """
    path = Path(path)
    rename = {k: v for k, v in (rename or {}).items() if k != v}
    back = {v: k for k, v in rename.items()}
    wanted = set(schema.required) | set(require) | set(columns)
    wanted |= set(schema.optional_timestamps) | set(schema.optional_numeric)
    wanted |= set(schema.booleans)
    wanted = {back.get(c, c) for c in wanted}
    ids = [back.get(c, c) for c in schema.identifiers]
    frame, line_offset = _read_raw(path, wanted, ids)
    if rename:
        # A file that already has the schema's name keeps it; the alias is then unused.
        frame = frame.rename(columns={k: v for k, v in rename.items() if v not in frame.columns})
    try:
        return validate(frame, schema, path.name, line_offset=line_offset, require=require)
    except AnalyticsInputError as exc:
        raise _in_file_terms(exc, back) from None


def _in_file_terms(exc: AnalyticsInputError, names: Mapping[str, str]) -> AnalyticsInputError:
    """The same error, naming the column as the file does (``won_date``, not ours)."""
    column = names.get(exc.column, exc.column) if exc.column else None
    return AnalyticsInputError(exc.source, exc.detail, row=exc.row, column=column, line=exc.line)


_MILESTONE = Schema(
    "milestone",
    ("contact_id", "stage"),
    optional_timestamps=("timestamp",),
    identifiers=("contact_id",),
)


def read_milestone(path: str | Path, stage: str, column: str, id_column: str) -> pd.DataFrame:
    """Stage rows from one date column of a wide export (see :func:`stages_from_milestones`).

    Rows are validated in the file's own numbering before blank dates (milestone not
    reached) are dropped, so an error points at the right line.
    """
    path = Path(path)
    if stage not in KNOWN_STAGES:
        raise AnalyticsInputError(
            path.name, f"unknown stage {stage!r}; expected one of {', '.join(KNOWN_STAGES)}"
        )
    frame, line_offset = _read_raw(path, {id_column, column}, [id_column])
    for needed in (id_column, column):
        if needed not in frame.columns:
            raise AnalyticsInputError(
                path.name, f"missing column {needed!r} for milestone {stage!r}"
            )
    part = pd.DataFrame(
        {"contact_id": frame[id_column], "stage": stage, "timestamp": frame[column]}
    )
    try:
        part = validate(part, _MILESTONE, path.name, line_offset=line_offset)
    except AnalyticsInputError as exc:
        raise _in_file_terms(exc, {"timestamp": column, "contact_id": id_column}) from None
    return part[part["timestamp"].notna()].reset_index(drop=True)


def harmonise_ids(*frames: pd.DataFrame | None, column: str = "contact_id") -> None:
    """Give ``column`` one dtype across frames, in place.

    A CSV export keeps ids as text and a Parquet file may hold integers; joining them
    would silently match nothing, so mixed kinds are all turned into text.
    """
    present = [f for f in frames if f is not None and column in f.columns]
    kinds = {pd.api.types.is_numeric_dtype(f[column].dtype) for f in present}
    if len(kinds) > 1:
        for f in present:
            f[column] = f[column].astype("string").astype(object)


def stages_from_milestones(
    milestones: Mapping[str, tuple[pd.DataFrame, str]],
    *,
    id_column: str = "contact_id",
    value_column: str | None = None,
) -> pd.DataFrame:
    """Build a stage-transition table from "wide" exports.

    CRMs and public data sets (Olist) often store one date column per milestone in
    a row per lead or deal; each ``stage -> (frame, date_column)`` becomes rows of
    ``contact_id, stage, timestamp`` (and ``value`` where given). Rows with no date
    mean the milestone was not reached and are dropped.
    """
    parts = []
    for stage, (frame, column) in milestones.items():
        for needed in (id_column, column):
            if needed not in frame.columns:
                raise AnalyticsInputError(
                    f"milestone '{stage}'",
                    f"missing column {needed!r}; found: {', '.join(map(str, frame.columns))}",
                )
        part = pd.DataFrame(
            {
                "contact_id": frame[id_column].to_numpy(),
                "stage": stage,
                "timestamp": frame[column].to_numpy(),
            }
        )
        if value_column and value_column in frame.columns:
            part["value"] = frame[value_column].to_numpy()
        blank = part["timestamp"].isna()
        if part["timestamp"].dtype == object:
            blank = blank | (part["timestamp"].astype("string").str.strip() == "")
        parts.append(part[~blank])
    if not parts:
        return pd.DataFrame(columns=["contact_id", "stage", "timestamp"])
    return pd.concat(parts, ignore_index=True)


def naive_utc(values: pd.Series) -> pd.Series:
    """UTC wall-clock timestamps without a zone, for handing to DuckDB.

    DuckDB's TIMESTAMPTZ follows the session time zone and needs pytz to come back
    into pandas; plain UTC timestamps avoid both traps.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def read_events(
    path: str | Path,
    *,
    columns: Sequence[str] = (),
    rename: Mapping[str, str] | None = None,
) -> object:
    """Events for the analytics: a lazy Parquet file when possible, else a frame.

    A Parquet file whose ``timestamp`` column is typed as a timestamp needs no parsing,
    and its null counts are in the file's metadata, so it is validated without reading
    a single row and handed over as :class:`ParquetEvents`, which DuckDB scans in
    place: 50 million events never pass through pandas. CSV files, renamed columns
    and text timestamps go through :func:`read_table` and come back as a data frame.
    """
    path = Path(path)
    rename = {k: v for k, v in (rename or {}).items() if k != v}
    if path.suffix.lower() not in (".parquet", ".pq") or rename:
        return read_table(path, EVENTS, require=columns, rename=rename)
    if not path.exists():
        raise AnalyticsInputError(str(path), "file not found")
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several unrelated types here
        raise AnalyticsInputError(path.name, f"not a readable Parquet file: {exc}") from exc
    schema = meta.schema_arrow
    needed = [*EVENTS.required, *columns]
    missing = [c for c in needed if c not in schema.names]
    if missing:
        raise AnalyticsInputError(
            path.name,
            f"missing column(s) {', '.join(repr(c) for c in missing)}; found: "
            + ", ".join(schema.names),
        )
    if not pa.types.is_timestamp(schema.field("timestamp").type):
        # Text timestamps need parsing row by row: take the eager, checked path.
        return read_table(path, EVENTS, require=columns)
    md = meta.metadata
    names = schema.names
    for column in ["event_id", "contact_id", "timestamp"]:
        index = names.index(column)
        offset = 0
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            stats = rg.column(index).statistics
            if stats is None or not stats.has_null_count:
                # No statistics: fall back to reading and checking the rows.
                return read_table(path, EVENTS, require=columns)
            if stats.null_count:
                values = meta.read_row_group(g, columns=[column]).column(0)
                import pyarrow.compute as pc

                pos = int(pc.index(pc.is_null(values), True).as_py())
                what = "empty timestamp" if column == "timestamp" else "empty identifier"
                raise AnalyticsInputError(path.name, what, row=offset + pos + 1, column=column)
            offset += rg.num_rows
    return ParquetEvents(path.resolve(), schema)


@dataclass(frozen=True)
class ParquetEvents:
    """A validated Parquet events file, left on disk for DuckDB's own reader.

    DuckDB reads Parquet in parallel with projection and filter pushdown; going
    through a pyarrow dataset or pandas costs more time than the query itself.
    """

    path: Path
    schema: pa.Schema

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)
