"""`leadscore compile`: the query a team runs in its own warehouse, and its errors."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.io import read_contacts, read_events
from leadscore.rules import Scorer
from leadscore.spec import load_model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def compile_(*args: str) -> object:
    return runner.invoke(app, ["compile", *args])


def test_printed_duckdb_query_runs_on_plain_tables_and_scores_as_online(tmp_path: Path) -> None:
    """What a team does: its own contacts/events tables, the printed query, the same scores."""
    model = EXAMPLES / "seed004.yaml"
    result = compile_("-m", str(model), "-d", "duckdb", "--as-of", "2026-11-01")
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    contacts, events = (str(EXAMPLES / f"{n}.csv") for n in ("contacts", "events"))
    con.execute(f"CREATE TABLE contacts AS SELECT * FROM read_csv('{contacts}', all_varchar=1)")
    con.execute(
        "CREATE TABLE events AS SELECT * REPLACE (timestamp::TIMESTAMPTZ AS timestamp) "
        f"FROM read_csv('{events}', all_varchar=1)"
    )
    query = result.stdout.rstrip().removesuffix(";")
    got = {
        r[0]: r[1:4]
        for r in con.execute(
            f"SELECT contact_id, engagement, engagement_grade, stage FROM ({query})"
        ).fetchall()
    }
    spec = load_model(model)
    leads = read_contacts(contacts)
    by_contact: dict[str, list[object]] = {}
    for e in read_events(events):
        by_contact.setdefault(e.contact_id, []).append(e)
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    scorer = Scorer(spec)
    assert len(got) == len(leads) == 200
    for lead in leads:
        want = scorer.score(lead, by_contact.get(lead.contact_id, ()), as_of)  # type: ignore[arg-type]
        value, grade, stage = got[lead.contact_id]
        assert math.isclose(value, want.scores["engagement"].value, abs_tol=1e-9)
        assert (grade, stage) == (want.scores["engagement"].grade, want.stage)


def test_table_names_and_dialect_are_used() -> None:
    result = compile_(
        "-m",
        str(EXAMPLES / "model.yaml"),
        "-d",
        "snowflake",
        "--contacts",
        "crm.people",
        "--events",
        "crm.activity",
        "--quality",
        "crm.lead_quality",
    )
    assert result.exit_code == 0, result.output
    tree = sqlglot.parse_one(result.stdout.rstrip().rstrip(";"), read="snowflake")
    tables = {f"{t.db}.{t.name}" for t in tree.find_all(exp.Table) if t.db}
    assert tables == {"crm.people", "crm.activity", "crm.lead_quality"}


def test_what_a_dialect_cannot_run_is_a_clean_compile_error(tmp_path: Path) -> None:
    model = tmp_path / "m.yaml"
    # PostgreSQL forbids \D inside brackets; RE2 (the online evaluator, DuckDB) runs it.
    model.write_text(
        "scores:\n  fit:\n    rules:\n"
        "      - {id: not-test, when: {field: email, regex: '^[\\Da]'}, points: 5}\n"
    )
    out = tmp_path / "q.sql"
    result = compile_("-m", str(model), "-d", "postgres", "-o", str(out))
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "rule 'not-test'" in message and "postgres" in message and "regex" in message
    assert "Traceback" not in result.output and not out.exists()
    assert compile_("-m", str(model), "-d", "duckdb").exit_code == 0
    # A look-ahead no engine runs linearly is refused when the model is read.
    model.write_text(
        "scores:\n  fit:\n    rules:\n"
        "      - {id: not-test, when: {field: email, regex: '^(?!test)'}, points: 5}\n"
    )
    result = compile_("-m", str(model), "-d", "bigquery")
    assert result.exit_code == 1 and "look-ahead" in result.output


def test_bad_model_and_dialect() -> None:
    bad = compile_("-m", str(EXAMPLES / "nope.yaml"))
    assert bad.exit_code == 1 and "nope.yaml" in bad.output
    unknown = compile_("-m", str(EXAMPLES / "model.yaml"), "-d", "oracle")
    assert unknown.exit_code == 2 and "oracle" in unknown.output
