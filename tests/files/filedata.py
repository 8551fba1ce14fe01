"""Helpers for the file tests: example data cut down, written as a CRM or Excel would."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

from typer.testing import CliRunner

from leadscore.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AS_OF = "2026-11-01T00:00:00Z"
N_CONTACTS = 60

Table = tuple[list[str], list[list[str]]]


def _read(path: Path) -> Table:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def example_data() -> dict[str, Table]:
    """The first 60 example contacts (every field the example model reads) and their events."""
    header, rows = _read(EXAMPLES / "contacts.csv")
    rows = rows[:N_CONTACTS]
    keep = {r[0] for r in rows}
    e_header, e_rows = _read(EXAMPLES / "events.csv")
    return {
        "contacts": (header, rows),
        "events": (e_header, [r for r in e_rows if r[1] in keep]),
    }


def write_csv(
    path: Path,
    table: Table,
    *,
    rename: dict[str, str] | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    values: Callable[[str, str], str] | None = None,
) -> Path:
    """``table`` as a CSV file with renamed columns, another delimiter or encoding."""
    header, rows = table
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow([(rename or {}).get(h, h) for h in header])
        for row in rows:
            if values is not None:
                row = [values(h, v) for h, v in zip(header, row, strict=True)]
            writer.writerow(row)
    return path


def score(
    model: Path, contacts: Path, events: Path, out: Path, *extra: str
) -> tuple[int, str, str | None]:
    """(exit code, output, the scores file's text or None) of `leadscore score`."""
    result = CliRunner().invoke(
        app,
        [
            "score",
            "-m",
            str(model),
            "-c",
            str(contacts),
            "-e",
            str(events),
            "--as-of",
            AS_OF,
            "-o",
            str(out),
            *extra,
        ],
    )
    text = out.read_text(encoding="utf-8") if out.exists() else None
    return result.exit_code, result.output, text


def expected(canonical: dict[str, Path], engine: str) -> str:
    return canonical[engine].read_text(encoding="utf-8")


ENGINES: Sequence[str] = ("duckdb", "python")
