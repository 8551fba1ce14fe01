"""`leadscore score --engine ...` writes the same files as the Python evaluator.

The example model, contacts and events are scored with ``--engine python`` and
with each SQL engine; the score files and the contribution files must have the
same columns, rows and values (floats to 1e-9). PostgreSQL and Spark run when
available (always in CI); Spark gets one run because starting it is slow.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def score(tmp: Path, engine: str, *extra: str, suffix: str = "csv") -> tuple[Path, Path]:
    out, why = tmp / f"scores.{engine}.{suffix}", tmp / f"why.{engine}.{suffix}"
    result = runner.invoke(
        app,
        [
            "score",
            "--engine",
            engine,
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
            "--explain",
            str(why),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"with {engine}" in result.output
    return out, why


def same_cell(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)


def assert_same_csv(expected: Path, got: Path) -> None:
    with expected.open(newline="") as e, got.open(newline="") as g:
        want, have = list(csv.reader(e)), list(csv.reader(g))
    assert have[0] == want[0], "columns differ"
    assert len(have) == len(want), f"{len(have) - 1} rows instead of {len(want) - 1}"
    for number, (w, h) in enumerate(zip(want[1:], have[1:], strict=True), start=1):
        bad = [
            (name, a, b) for name, a, b in zip(want[0], w, h, strict=True) if not same_cell(a, b)
        ]
        assert not bad, f"{got.name} row {number}: {bad}"


@pytest.fixture(scope="module")
def python_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return score(tmp_path_factory.mktemp("python"), "python")


def test_duckdb_writes_what_python_writes(python_files: tuple[Path, Path], tmp_path: Path) -> None:
    out, why = score(tmp_path, "duckdb")
    assert_same_csv(python_files[0], out)
    assert_same_csv(python_files[1], why)
    header = next(csv.reader(out.open()))
    assert header == [
        "contact_id",
        "fit",
        "fit_grade",
        "engagement",
        "engagement_grade",
        "grade",
        "stage",
        "surging",
        "top_reasons",
    ]
    long = list(csv.DictReader(why.open()))
    assert len(long) > 1000 and {r["score"] for r in long} == {"fit", "engagement"}
    demo = next(r for r in long if r["rule_id"] == "demo-request")
    assert isinstance(json.loads(demo["evidence"]), list)


def test_duckdb_parquet_output_has_the_python_types(tmp_path: Path) -> None:
    py_out, py_why = score(tmp_path, "python", suffix="parquet")
    dk_out, dk_why = score(tmp_path, "duckdb", suffix="parquet")
    for a, b in ((py_out, dk_out), (py_why, dk_why)):
        want, have = pq.read_table(a), pq.read_table(b)
        assert have.schema == want.schema
        assert have.num_rows == want.num_rows


def test_duckdb_reads_tables_of_a_database_file(
    python_files: tuple[Path, Path], tmp_path: Path
) -> None:
    import duckdb

    db = tmp_path / "crm.duckdb"
    with duckdb.connect(str(db)) as con:
        # all text, as a CSV reads; the row order is not the file's, so compare sorted.
        # "web events" is not a plain identifier: the engine must quote it.
        for name, table in (("contacts", "contacts"), ("events", '"web events"')):
            path = str(EXAMPLES / f"{name}.csv").replace("'", "''")
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{path}', all_varchar=1)")
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        app,
        [
            "score",
            "--db",
            str(db),
            "-m",
            str(EXAMPLES / "model.yaml"),
            "-c",
            "contacts",
            "-e",
            "web events",
            "--as-of",
            "2026-11-01",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    sorted_csv(out)
    assert_same_csv(sorted_csv(python_files[0], tmp_path / "python.csv"), out)


def sorted_csv(path: Path, target: Path | None = None) -> Path:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    target = target or path
    with target.open("w", newline="") as handle:
        csv.writer(handle).writerows([rows[0], *sorted(rows[1:])])
    return target


def test_unknown_table_and_missing_db_are_clean_errors(tmp_path: Path) -> None:
    def run(*args: str) -> Any:
        return runner.invoke(
            app, ["score", "-m", str(EXAMPLES / "model.yaml"), "-o", str(tmp_path / "s.csv"), *args]
        )

    result = run("-c", "crm.contacts")
    assert result.exit_code == 1 and "duckdb engine:" in result.output
    assert "crm.contacts" in result.output and "Traceback" not in result.output
    # a name that is not an identifier is a table name that does not exist, never SQL
    result = run("-c", "contacts; SELECT 1")
    assert result.exit_code == 1 and "Table with name contacts; SELECT 1 does not" in result.output
    result = run("--engine", "postgres", "-c", str(EXAMPLES / "contacts.csv"))
    assert result.exit_code == 1 and "needs --db postgresql://" in result.output
    result = run("--db", str(tmp_path / "none.duckdb"), "-c", "contacts")
    assert result.exit_code == 1 and "no DuckDB database file there" in result.output
    assert not (tmp_path / "none.duckdb").exists()
    result = run("--engine", "python", "-c", "crm.contacts")
    assert result.exit_code == 1 and "python engine reads CSV or Parquet files" in result.output
    assert not (tmp_path / "s.csv").exists()


def test_error_messages_keep_square_brackets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rich reads ``[...]`` as markup: an error quoting a name or a pip extra must keep it."""
    import leadscore.cli.batch as batch_cli

    def run(*args: str) -> Any:
        return runner.invoke(
            app, ["score", "-m", str(EXAMPLES / "model.yaml"), "-o", str(tmp_path / "s.csv"), *args]
        )

    result = run("-c", str(tmp_path / "leads[2026].csv"))
    assert result.exit_code == 1 and "leads[2026].csv: file not found" in result.output

    def no_driver(engine: str) -> tuple[type[BaseException], ...]:
        raise ImportError("No module named 'psycopg'", name="psycopg")

    monkeypatch.setattr(batch_cli, "_driver_errors", no_driver)
    result = run("--engine", "postgres", "--db", "postgresql://x@127.0.0.1/none", "-c", "contacts")
    assert result.exit_code == 1
    assert "needs psycopg: pip install 'leadscore[postgres]'" in result.output


@pytest.mark.postgres
def test_postgres_writes_what_python_writes(
    python_files: tuple[Path, Path], tmp_path: Path, pg_url: str
) -> None:
    out, why = score(tmp_path, "postgres", "--db", pg_url)
    assert_same_csv(python_files[0], out)
    assert_same_csv(python_files[1], why)


@pytest.mark.postgres
def test_postgres_reads_tables_in_the_server(
    python_files: tuple[Path, Path], tmp_path: Path, pg_scratch_url: str
) -> None:
    import psycopg

    with psycopg.connect(pg_scratch_url, autocommit=True) as con:
        # "cli crm events" is not a plain identifier: the engine must quote it
        for name, table in (("contacts", "cli_crm_contacts"), ("events", '"cli crm events"')):
            path = EXAMPLES / f"{name}.csv"
            header = path.open().readline().strip().split(",")
            columns = ", ".join(f'"{h}" text' for h in header)
            con.execute(f"CREATE TABLE {table} ({columns})")
            with con.cursor().copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER)") as cp:
                cp.write(path.read_bytes())
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        app,
        [
            "score",
            "--db",
            pg_scratch_url,
            "-m",
            str(EXAMPLES / "model.yaml"),
            "-c",
            "cli_crm_contacts",
            "-e",
            "cli crm events",
            "--as-of",
            "2026-11-01",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "with postgres" in result.output
    sorted_csv(out)
    assert_same_csv(sorted_csv(python_files[0], tmp_path / "python.csv"), out)


@pytest.mark.spark
def test_spark_writes_what_python_writes(
    python_files: tuple[Path, Path], tmp_path: Path, spark_available: bool
) -> None:
    out, why = score(tmp_path, "spark", "--master", "local[1]")
    assert_same_csv(python_files[0], out)
    assert_same_csv(python_files[1], why)


def test_duckdb_keeps_the_connections_optimizer_setting() -> None:
    # The engine switches DuckDB's build-side optimizer off for its own queries only.
    from datetime import UTC, datetime

    import duckdb

    from leadscore.engines import get_engine
    from leadscore.spec import load_model

    model = load_model(EXAMPLES / "model.yaml")
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    for setting in ("top_n", ""):
        con = duckdb.connect()
        con.execute(f"SET disabled_optimizers = '{setting}'")
        result = get_engine("duckdb", connection=con).score(
            model, EXAMPLES / "contacts.csv", EXAMPLES / "events.csv", as_of, explain=True
        )
        assert result.table.num_rows == 200 and result.explain_table is not None
        kept = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()
        assert kept == (setting,)


@pytest.mark.postgres
def test_postgres_planner_settings_hold_for_the_score_query_only(pg_url: str) -> None:
    # The engine turns merge joins, nested loops and JIT off with SET LOCAL inside its
    # scoring transaction: in force for both queries, gone afterwards from the connection.
    from datetime import UTC, datetime

    import psycopg

    from leadscore.engines import get_engine
    from leadscore.spec import load_model

    model = load_model(EXAMPLES / "model.yaml")
    names = ("enable_mergejoin", "enable_nestloop", "jit")
    with psycopg.connect(pg_url, autocommit=True) as con:
        before = [con.execute(f"SHOW {n}").fetchone() for n in names]
        engine = get_engine("postgres", url=pg_url, connection=con)
        seen = []
        arrow = engine._arrow

        def spy(sql: str) -> Any:
            seen.append(tuple(con.execute(f"SHOW {n}").fetchone()[0] for n in names))
            return arrow(sql)

        engine._arrow = spy  # type: ignore[method-assign]
        result = engine.score(
            model,
            EXAMPLES / "contacts.csv",
            EXAMPLES / "events.csv",
            datetime(2026, 11, 1, tzinfo=UTC),
            explain=True,
        )
        assert result.table.num_rows == 200 and result.explain_table is not None
        assert seen == [("off", "off", "off"), ("off", "off", "off")]
        assert [con.execute(f"SHOW {n}").fetchone() for n in names] == before
