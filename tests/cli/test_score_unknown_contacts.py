"""`leadscore score --unknown-contacts error|skip` on the SQL engines, as on the python one.

The example events against contacts with three of their contacts removed: by
default every engine refuses with the count of such events and contacts; with
``skip`` it leaves them out, says how many, and writes the python engine's files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tests.cli.test_score_engines import EXAMPLES, assert_same_csv
from typer.testing import CliRunner

from leadscore.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """(contacts without three contacts that have events, their events' counts)."""
    root = tmp_path_factory.mktemp("unknown")
    with (EXAMPLES / "events.csv").open(newline="") as f:
        events = list(csv.DictReader(f))
    with (EXAMPLES / "contacts.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        header, contacts = list(reader.fieldnames or []), list(reader)
    with_events = list(dict.fromkeys(e["contact_id"] for e in events))
    gone = set(with_events[1:4])
    path = root / "contacts.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows(c for c in contacts if c["contact_id"] not in gone)
    left_out = sum(e["contact_id"] in gone for e in events)
    assert left_out > 3
    return {"root": root, "contacts": path, "left_out": left_out, "gone": gone}


def run(inputs: dict[str, object], engine: str, *extra: str) -> tuple[int, str, Path, Path]:
    root = inputs["root"]
    assert isinstance(root, Path)
    out, why = root / f"s.{engine}.{len(extra)}.csv", root / f"w.{engine}.{len(extra)}.csv"
    args = ["score", "--engine", engine, "-m", str(EXAMPLES / "model.yaml")]
    args += ["-c", str(inputs["contacts"]), "-e", str(EXAMPLES / "events.csv")]
    args += ["--as-of", "2026-11-01", "-o", str(out), "--explain", str(why), *extra]
    result = runner.invoke(app, args)
    return result.exit_code, " ".join(result.output.split()), out, why


def count_text(inputs: dict[str, object]) -> str:
    gone = inputs["gone"]
    assert isinstance(gone, set)
    return (
        f"{inputs['left_out']:,} event(s) of {len(gone)} contact(s) not in the contacts file "
        "in all: pass --unknown-contacts skip to leave them out"
    )


def test_duckdb_refuses_unknown_contacts_with_their_count(inputs: dict[str, object]) -> None:
    code, output, out, _ = run(inputs, "duckdb")
    assert code == 1
    assert "events.csv" in output and "unknown contact_id" in output
    assert count_text(inputs) in output
    assert not out.exists()
    # the python engine says the same
    code, python_output, _, _ = run(inputs, "python")
    assert code == 1 and count_text(inputs) in python_output


def skip_matches_python(inputs: dict[str, object], engine: str, *extra: str) -> None:
    code, python_output, want, want_why = run(inputs, "python", "--unknown-contacts", "skip")
    assert code == 0, python_output
    left = f"left out {inputs['left_out']:,} event(s) of contacts not in the contacts file"
    assert left in python_output
    code, output, got, got_why = run(inputs, engine, "--unknown-contacts", "skip", *extra)
    assert code == 0, output
    assert left in output and f"with {engine}" in output
    assert_same_csv(want, got)
    assert_same_csv(want_why, got_why)


def test_duckdb_skip_writes_what_python_writes(inputs: dict[str, object]) -> None:
    skip_matches_python(inputs, "duckdb")


@pytest.mark.postgres
def test_postgres_skip_writes_what_python_writes(inputs: dict[str, object], pg_url: str) -> None:
    skip_matches_python(inputs, "postgres", "--db", pg_url)


@pytest.mark.spark
def test_spark_skip_writes_what_python_writes(
    inputs: dict[str, object], spark_available: bool
) -> None:
    skip_matches_python(inputs, "spark", "--master", "local[1]")
