"""`leadscore score` and `leadscore explain` end to end, including bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()

CONTACTS = "contact_id,first_name,email,country\nc1,Ann,ann@acme.com,US\nc2,bob,bob@gmail.com,DE\n"
EVENTS = (
    "event_id,contact_id,type,timestamp,url\n"
    "e1,c1,page_view,2026-10-30T10:00:00Z,/pricing\n"
    "e2,c1,page_view,2026-10-31T10:00:00,/pricing\n"
    "e3,c2,page_view,2026-10-01T10:00:00+02:00,/blog\n"
)
MODEL = """
scores:
  fit:
    grades: {A: 10, B: null}
    rules:
      - {id: us, when: {field: country, equals: US}, points: 10}
      - {id: free, description: Free email, when: {check: free_email}, points: -5}
  engagement:
    rules:
      - {id: pricing, description: Pricing page, on: page_view, where: {url: {starts_with: /pricing}}, points: 7}
lifecycle:
  mql: {fit: ">= 10", engagement: ">= 14"}
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "contacts": tmp_path / "contacts.csv",
        "events": tmp_path / "events.csv",
        "model": tmp_path / "m.yaml",
    }
    paths["contacts"].write_text(CONTACTS)
    paths["events"].write_text(EVENTS)
    paths["model"].write_text(MODEL)
    return paths


def run_score(files: dict[str, Path], out: Path, *extra: str) -> object:
    return runner.invoke(
        app,
        [
            "score",
            "-m",
            str(files["model"]),
            "-c",
            str(files["contacts"]),
            "-e",
            str(files["events"]),
            "--as-of",
            "2026-11-01T00:00:00Z",
            "-o",
            str(out),
            *extra,
        ],
    )


def test_score_csv_with_explanations(files: dict[str, Path], tmp_path: Path) -> None:
    deep = tmp_path / ("a-folder-name-long-enough-to-pass-the-console-width-" * 2)
    deep.mkdir()
    out, explain = deep / "scores.csv", tmp_path / "why.csv"
    result = run_score(files, out, "--explain", str(explain))
    assert result.exit_code == 0, result.output
    assert f"-> {out} (contributions: {explain})" in result.output  # one line, to copy
    rows = {r["contact_id"]: r for r in csv.DictReader(out.open())}
    assert rows["c1"]["fit"] == "10.0" and rows["c1"]["engagement"] == "14.0"
    assert rows["c1"]["stage"] == "mql" and rows["c1"]["fit_grade"] == "A"
    assert rows["c1"]["top_reasons"] == "Pricing page +14; us +10"
    assert (
        rows["c2"]["fit"] == "-5.0"
        and rows["c2"]["stage"] == "lead"
        and rows["c2"]["surging"] == "False"
    )
    long = list(csv.DictReader(explain.open()))
    assert {(r["contact_id"], r["rule_id"], r["points"]) for r in long} == {
        ("c1", "us", "10.0"),
        ("c1", "pricing", "14.0"),
        ("c2", "free", "-5.0"),
    }
    pricing = next(r for r in long if r["rule_id"] == "pricing")
    assert json.loads(pricing["evidence"]) == ["e1", "e2"]


def test_score_parquet_in_and_jsonl_out(files: dict[str, Path], tmp_path: Path) -> None:
    rows = list(csv.DictReader(files["events"].open()))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "events.parquet")
    files = {**files, "events": tmp_path / "events.parquet"}
    out = tmp_path / "scores.jsonl"
    result = run_score(files, out)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[0]["contact_id"] == "c1" and records[0]["engagement"] == 14.0
    out_pq = tmp_path / "scores.parquet"
    assert run_score(files, out_pq).exit_code == 0
    assert pq.read_table(out_pq).num_rows == 2


def test_naive_timestamps_are_utc(files: dict[str, Path], tmp_path: Path) -> None:
    # e2 is naive (read as UTC); with as_of one hour before it, it must not count
    out = tmp_path / "s.csv"
    result = runner.invoke(
        app,
        [
            "score",
            "-m",
            str(files["model"]),
            "-c",
            str(files["contacts"]),
            "-e",
            str(files["events"]),
            "--as-of",
            "2026-10-31T09:00:00",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = {r["contact_id"]: r for r in csv.DictReader(out.open())}
    assert rows["c1"]["engagement"] == "7.0"


@pytest.mark.parametrize(
    ("which", "content", "expected"),
    [
        (
            "events",
            EVENTS.replace("2026-10-31T10:00:00", "yesterday"),
            "row 2, column 'timestamp': cannot read timestamp 'yesterday'",
        ),
        (
            "events",
            EVENTS.replace("e3,c2", "e3,c9"),
            "row 3, column 'contact_id': unknown contact_id 'c9'",
        ),
        (
            "events",
            EVENTS.replace("e3,c2", "e1,c2"),
            "row 3, column 'event_id': duplicate event_id 'e1' (first at row 1)",
        ),
        ("events", EVENTS.replace("event_id,", "id,"), "missing required column(s) event_id"),
        (
            "events",
            EVENTS + "e4,c1,page_view\n",
            "row 4: expected 5 values (as in the header), found 3",
        ),
        ("events", EVENTS.replace("e2,c1,", ",c1,"), "row 2, column 'event_id': event_id is empty"),
        (
            "contacts",
            CONTACTS + "c1,Dup,d@x.com,US\n",
            "row 3, column 'contact_id': duplicate contact_id 'c1'",
        ),
        ("contacts", 'contact_id,name\nc1,"unclosed\n', "malformed CSV"),
        ("contacts", "", "the file is empty"),
        (
            "model",
            "scores:\n  fit:\n    rules:\n      - {id: x, when: {field: a, equals: 1}, points: many}\n",
            "scores.fit.rules[0].points (line 4)",
        ),
    ],
)
@pytest.mark.parametrize(
    "engine", ["python", "duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_bad_input_names_file_row_column_and_leaves_no_output(
    files: dict[str, Path],
    tmp_path: Path,
    which: str,
    content: str,
    expected: str,
    engine: str,
    request: pytest.FixtureRequest,
) -> None:
    files[which].write_text(content)
    out, explain = tmp_path / "scores.csv", tmp_path / "why.csv"
    db = ["--db", request.getfixturevalue("pg_url")] if engine == "postgres" else []
    result = run_score(files, out, "--explain", str(explain), "--engine", engine, *db)
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert expected in message, message
    assert str(files[which].name) in message
    assert not out.exists() and not explain.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_failed_run_keeps_the_previous_output(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    out.write_text("previous results\n")
    files["events"].write_text(EVENTS.replace("e3,c2", "e3,c9"))
    assert run_score(files, out).exit_code == 1
    assert out.read_text() == "previous results\n"


def test_bad_as_of_and_output_type(files: dict[str, Path], tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "score",
            "-m",
            str(files["model"]),
            "-c",
            str(files["contacts"]),
            "--as-of",
            "soon",
            "-o",
            str(tmp_path / "s.csv"),
        ],
    )
    assert result.exit_code == 1 and "--as-of" in result.output
    result = run_score(files, tmp_path / "scores.xlsx")
    assert result.exit_code == 1 and "unsupported output type '.xlsx'" in result.output


def test_explain_command_prints_breakdown() -> None:
    result = runner.invoke(
        app,
        [
            "explain",
            "--contact",
            "c0003",
            "-m",
            str(EXAMPLES / "model.yaml"),
            "-c",
            str(EXAMPLES / "contacts.csv"),
            "-e",
            str(EXAMPLES / "events.csv"),
            "--as-of",
            "2026-11-01",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "demo-request" in result.output and "combined grade" in result.output
    unknown = runner.invoke(
        app,
        [
            "explain",
            "--contact",
            "nobody",
            "-m",
            str(EXAMPLES / "model.yaml"),
            "-c",
            str(EXAMPLES / "contacts.csv"),
        ],
    )
    assert unknown.exit_code == 1 and "'nobody' is not in" in unknown.output


def test_example_run_matches_the_evaluator(tmp_path: Path) -> None:
    """The README's quick start: every example contact scored, grades and stages filled."""
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        app,
        [
            "score",
            "-m",
            str(EXAMPLES / "model.yaml"),
            "-c",
            str(EXAMPLES / "contacts.csv"),
            "-e",
            str(EXAMPLES / "events.csv"),
            "--as-of",
            "2026-11-01",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 200
    stages = {r["stage"] for r in rows}
    assert "lead" in stages and stages & {"mql", "sql"}
    assert all(r["grade"][0] in "ABCD" and r["grade"][1] in "1234" for r in rows)
