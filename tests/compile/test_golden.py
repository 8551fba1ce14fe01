"""Golden SQL: what `leadscore compile` prints for the example models, per dialect.

Each file is the compiler's output for ``examples/<model>.yaml`` in one dialect
(``.explain.sql``: the contributions query), compiled without data, so with the
column kinds `leadscore compile` assumes: every field is text and ``timestamp``
is a TIMESTAMP column; the scoring moment is the warehouse's current time. Every
file must also parse back with sqlglot in its own dialect.

When the compiler's output changes on purpose, regenerate them all and review the diff:

    LEADSCORE_UPDATE_GOLDEN=1 PYTHONPATH=$PWD/src python3 -m pytest tests/compile/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.compile import DIALECTS, compile_model
from leadscore.spec import load_model

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
MODELS = ("model", "seed004")
UPDATE = os.environ.get("LEADSCORE_UPDATE_GOLDEN") == "1"
CASES = [(m, d, e) for m in MODELS for d in DIALECTS for e in (False, True)]


def golden_path(model: str, dialect: str, explain: bool) -> Path:
    return GOLDEN / f"{model}.{dialect}{'.explain' if explain else ''}.sql"


def compiled_text(model: str, dialect: str, explain: bool) -> str:
    compiled = compile_model(load_model(REPO / "examples" / f"{model}.yaml"), dialect)
    return (compiled.explain_sql() if explain else compiled.sql()) + ";\n"


def read(path: Path) -> str:
    # newline="": the string literals hold \r and other control characters
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


@pytest.mark.parametrize(("model", "dialect", "explain"), CASES)
def test_compiler_output_matches_the_golden_file(model: str, dialect: str, explain: bool) -> None:
    path = golden_path(model, dialect, explain)
    text = compiled_text(model, dialect, explain)
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    assert path.exists(), f"{path.name} is missing; regenerate (see this module's docstring)"
    assert read(path) == text, (
        f"{path.name} differs from the compiler's output; if the change is intended, "
        "regenerate with LEADSCORE_UPDATE_GOLDEN=1 (see this module's docstring)"
    )


@pytest.mark.parametrize(("model", "dialect", "explain"), CASES)
def test_golden_file_parses_back_in_its_dialect(model: str, dialect: str, explain: bool) -> None:
    sql = read(golden_path(model, dialect, explain)).rstrip().removesuffix(";")
    tree = sqlglot.parse_one(sql, read=dialect)
    assert isinstance(tree, exp.Select)
    tables = {t.name for t in tree.find_all(exp.Table)}
    assert {"contacts", "events"} <= tables, tables
    # the example model has quality checks, seed004 has none
    assert ("leadscore_quality" in tables) == (model == "model")
    # and the parsed tree prints back to SQL the dialect parses again
    sqlglot.parse_one(tree.sql(dialect=dialect), read=dialect)


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake"])
def test_leadscore_compile_prints_the_golden_file(dialect: str, tmp_path: Path) -> None:
    model = str(REPO / "examples" / "model.yaml")
    result = CliRunner().invoke(app, ["compile", "-m", model, "--dialect", dialect])
    assert result.exit_code == 0, result.output
    assert result.stdout == read(golden_path("model", dialect, False))
    out = tmp_path / "q.sql"
    result = CliRunner().invoke(
        app, ["compile", "-m", model, "-d", dialect, "--explain", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert read(out) == read(golden_path("model", dialect, True))
