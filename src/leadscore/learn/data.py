"""Reading contacts and events into pandas for learning (CSV or Parquet).

The online scorer reads rows one by one into ``Contact``/``Event`` objects; learning
works on whole columns, so here the same files are read as DataFrames. Errors name
the file, and the row and column where a value is wrong.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from leadscore.io import InputError

EVENT_COLUMNS = ("event_id", "contact_id", "type", "timestamp")


def read_frame(path: str | Path, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """A CSV (only empty cells are missing: "NA" stays text) or Parquet file."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, keep_default_na=False, na_values=[""], low_memory=False)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            raise InputError(path, f"unsupported file type '{suffix}' (use .csv or .parquet)")
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise InputError(path, f"cannot read: {exc}") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            path,
            f"missing required column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns)) or 'none'}",
        )
    for col in required:
        empty = frame[col].isna() | (frame[col].astype(str).str.strip() == "")
        if empty.any():
            row = int(empty.to_numpy().nonzero()[0][0]) + 1
            raise InputError(
                path,
                f"{col} is empty",
                row=row,
                column=col,
                line=row + 1 if suffix == ".csv" else None,
            )
    return frame


def read_contacts(path: str | Path, outcome_column: str | None = None) -> pd.DataFrame:
    frame = read_frame(path, ("contact_id",))
    if outcome_column is not None and outcome_column not in frame.columns:
        raise InputError(
            path,
            f"no outcome column '{outcome_column}' (when each lead converted; empty if it did not). "
            f"Columns: {', '.join(map(str, frame.columns))}",
        )
    dupes = frame["contact_id"].astype(str).duplicated()
    if dupes.any():
        row = int(dupes.to_numpy().nonzero()[0][0]) + 1
        raise InputError(
            path,
            f"duplicate contact_id '{frame['contact_id'].iloc[row - 1]}'",
            row=row,
            column="contact_id",
        )
    frame["contact_id"] = frame["contact_id"].astype(str).str.strip()
    return frame


def read_events(path: str | Path | None) -> pd.DataFrame | None:
    if path is None:
        return None
    frame = read_frame(path, EVENT_COLUMNS)
    frame["contact_id"] = frame["contact_id"].astype(str).str.strip()
    stamps = pd.to_datetime(
        frame["timestamp"].astype(str).str.strip(), errors="coerce", utc=True, format="ISO8601"
    )
    bad = stamps.isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 1
        raise InputError(
            path,
            f"cannot read timestamp '{frame['timestamp'].iloc[row - 1]}' (use ISO 8601, e.g. 2026-03-01T14:30:00Z)",
            row=row,
            column="timestamp",
            line=row + 1 if Path(path).suffix.lower() == ".csv" else None,
        )
    frame["timestamp"] = stamps
    return frame


UNKNOWN_POLICIES = ("error", "skip")


def unknown_contacts(
    events: pd.DataFrame | None,
    contacts: pd.DataFrame,
    path: str | Path | None,
    policy: str = "error",
) -> tuple[pd.DataFrame | None, int]:
    """Events whose contact is not in the contacts file: an error naming how many and
    the first one (``policy="error"``), or left out and counted (``"skip"``).

    The same rule for ``score``, ``train``, ``evaluate``, ``readiness``...: events of
    a lead nobody exported are a sign of mismatched files, not something to guess at.
    """
    if policy not in UNKNOWN_POLICIES:
        raise InputError(
            path or "events", f"--unknown-contacts must be error or skip, not {policy!r}"
        )
    if events is None or not len(events):
        return events, 0
    known = set(contacts["contact_id"].astype(str))
    unknown = ~events["contact_id"].astype(str).isin(known).to_numpy()
    count = int(unknown.sum())
    if not count:
        return events, 0
    if policy == "skip":
        return events.loc[~unknown].reset_index(drop=True), count
    first = int(unknown.nonzero()[0][0])
    leads = events.loc[unknown, "contact_id"].astype(str).nunique()
    suffix = Path(path).suffix.lower() if path is not None else ""
    raise InputError(
        path or "events",
        f"{count:,} event(s) of {leads:,} contact(s) not in the contacts file, the first "
        f"'{events['contact_id'].iloc[first]}'; pass --unknown-contacts skip to leave them out",
        row=first + 1,
        column="contact_id",
        line=first + 2 if suffix == ".csv" else None,
    )


def read_split(path: str | Path) -> dict[str, set[str]]:
    """A split file: ``contact_id, split`` with ``train`` or ``test`` in each row
    (CSV or Parquet); returns the ids of each side."""
    frame = read_frame(path, ("contact_id", "split"))
    sides = frame["split"].astype(str).str.strip().str.lower()
    bad = ~sides.isin(("train", "test"))
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 1
        raise InputError(
            path,
            f"split is {frame['split'].iloc[row - 1]!r}; write train or test",
            row=row,
            column="split",
            line=row + 1 if Path(path).suffix.lower() == ".csv" else None,
        )
    ids = frame["contact_id"].astype(str).str.strip()
    both = set(ids[sides == "train"]) & set(ids[sides == "test"])
    if both:
        raise InputError(path, f"contact_id '{sorted(both)[0]}' is in both train and test")
    return {side: set(ids[sides == side]) for side in ("train", "test")}


def read_ids(path: str | Path) -> set[str]:
    """Contact ids: a CSV/Parquet with a ``contact_id`` column, or a text file with one
    id per line."""
    path = Path(path)
    if path.suffix.lower() in (".csv", ".parquet", ".pq"):
        frame = read_frame(path, ("contact_id",))
        return set(frame["contact_id"].astype(str).str.strip())
    if not path.exists():
        raise InputError(path, "file not found")
    ids = {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    ids.discard("")
    if not ids:
        raise InputError(path, "no contact ids in the file")
    return ids
