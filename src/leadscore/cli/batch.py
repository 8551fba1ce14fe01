"""Batch scoring on a SQL engine for `leadscore score`, and `leadscore compile`.

`leadscore score --engine duckdb|postgres|spark` runs the compiled query where
the data lives and turns its answer into exactly the rows the Python evaluator
(`--engine python`) gives, so the written files are the same whichever engine
computed them. `leadscore compile` prints that query for a team's own warehouse.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from leadscore.cli.console import err, fail, load_model_or_exit, parse_as_of

ENGINE_HELP = (
    "Where to score: duckdb (default; embedded, reads CSV/Parquet files or tables of a "
    "DuckDB --db file), postgres (tables in a server or CSV files copied into it; needs "
    "--db postgresql://...), spark (PySpark; --master or spark-submit) or python (the "
    "online evaluator, one contact at a time; CSV/Parquet files only)."
)
DB_HELP = (
    "postgres: the server URL (postgresql://user@host:5432/db). duckdb: a DuckDB database "
    "file whose tables --contacts/--events may name. Also read from $LEADSCORE_BATCH_DB."
)
MASTER_HELP = (
    "spark: the master URL (spark://host:7077, yarn, k8s://...). Default local[2], or the "
    "master spark-submit gives when run under it."
)


class Engine(StrEnum):
    duckdb = "duckdb"
    postgres = "postgres"
    spark = "spark"
    python = "python"


class SqlDialect(StrEnum):
    duckdb = "duckdb"
    postgres = "postgres"
    spark = "spark"
    bigquery = "bigquery"
    snowflake = "snowflake"


EngineOpt = Annotated[Engine | None, typer.Option("--engine", help=ENGINE_HELP)]
DbOpt = Annotated[str | None, typer.Option("--db", help=DB_HELP, envvar="LEADSCORE_BATCH_DB")]
MasterOpt = Annotated[str | None, typer.Option("--master", help=MASTER_HELP)]


def choose_engine(engine: Engine | None, db: str | None) -> str:
    """The engine to use: as asked, else postgres for a postgresql:// --db, else duckdb."""
    if engine is not None:
        return engine.value
    if db is not None and db.startswith(("postgresql://", "postgres://")):
        return "postgres"
    return "duckdb"


@contextmanager
def _steps(title: str) -> Iterator[Callable[[str], None]]:
    """A spinner with the engine's current step and the elapsed time (on stderr)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(title)
        yield lambda step: progress.update(task, description=f"{title}: {step}")


def _driver_errors(engine: str) -> tuple[type[BaseException], ...]:
    """The database driver's own error types, shown as clean messages, not tracebacks."""
    if engine == "duckdb":
        import duckdb

        return (duckdb.Error,)
    if engine == "postgres":
        import psycopg

        return (psycopg.Error,)
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JJavaError)


def _first_line(exc: BaseException) -> str:
    """The driver's message without the Java/Python call-site lines around it."""
    for line in str(exc).splitlines():
        line = line.strip().removeprefix(": ")
        if line and not line.startswith("An error occurred while calling"):
            return line
    return type(exc).__name__


def _make_engine(engine: str, db: str | None, master: str | None) -> Any:
    from leadscore.engines import get_engine

    if engine == "postgres":
        if not db:
            raise fail("--engine postgres needs --db postgresql://user@host:5432/database")
        return get_engine("postgres", url=db)
    if engine == "spark":
        if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
            master = "local[2]"  # not under spark-submit, which brings its own master
        runner = get_engine("spark", master=master)
        if master and master.startswith("local"):
            # Spark's own log lines would repeat, less clearly, the error shown here.
            runner.spark.sparkContext.setLogLevel("FATAL")
        return runner
    if db is None:
        return get_engine("duckdb")
    if db.startswith(("postgresql://", "postgres://")):
        raise fail("--db is a PostgreSQL URL: use --engine postgres")
    if not Path(db).is_file():
        raise fail(f"--db {db}: no DuckDB database file there")
    import duckdb

    # Read-only: scoring never changes the team's database (views are temporary).
    return get_engine("duckdb", connection=duckdb.connect(db, read_only=True))


def engine_rows(
    engine: str,
    spec: Any,
    contacts: str,
    events: str | None,
    moment: datetime,
    explain: bool,
    db: str | None = None,
    master: str | None = None,
    unknown_contacts: str = "error",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(score rows, contribution rows) computed by a SQL engine, as the evaluator gives them."""
    from leadscore.compile import CompileError
    from leadscore.io import InputError

    try:
        errors = _driver_errors(engine)
    except ImportError as exc:
        extra = "postgres" if engine == "postgres" else "spark"
        raise fail(
            f"the {engine} engine needs {exc.name}: pip install 'leadscore[{extra}]'"
        ) from None
    runner = None
    with _steps(f"scoring with {engine}") as step:
        try:
            step("starting" if engine == "spark" else "connecting")
            runner = _make_engine(engine, db, master)
            result = runner.score(
                spec,
                contacts,
                events,
                moment,
                explain=explain,
                progress=step,
                unknown_contacts=unknown_contacts,
            )
            step("formatting results")
            rows = result.rows()
            long_rows = result.contributions() if explain else []
        except (InputError, CompileError) as exc:
            raise fail(str(exc)) from None
        except errors as exc:
            raise fail(f"{engine} engine: {_first_line(exc)}") from None
        finally:
            if runner is not None and hasattr(runner, "close"):
                runner.close()
    if result.skipped_events:
        # the python engine's words (cli/scoring.py _known_events)
        err.print(
            f"left out {result.skipped_events:,} event(s) of contacts not in the contacts file"
        )
    return rows, long_rows


# ------------------------------------------------------------ leadscore compile


COMPILE_HELP = """Print the SQL query that scores every contact, for your own warehouse.

The query reads three relations (rename them with --contacts/--events/--quality):

\b
  contacts(contact_id, <every field a profile rule reads>)
  events(event_id, contact_id, type, timestamp, <every property a where: or place reads>)
  leadscore_quality(field, value, <check>...)   only when the model uses checks

Fields are read as text (as from a CSV) and timestamp as a TIMESTAMP column; a
field your table lacks reads as missing, as online. leadscore_quality holds one
row per distinct (field, value) with a boolean column per check (free_email,
invalid_phone...); `leadscore.compile.quality_table` computes it in Python.
The result has one row per contact: contact_id, each score and its grade,
grade, stage, surging, surge_points and one column per rule (r0, r1, ...:
its points, NULL when not listed). --explain prints the long table instead:
contact_id, row_no, ord, score, rule_id, points and the evidence: ids (event
ids), n_count (volume rules), age (days since the last event) and texts
(the profile fields' values). See docs/batch.md.
"""


def compile_command(
    model: Annotated[Path, typer.Option("--model", "-m", help="Scoring-model YAML file.")],
    dialect: Annotated[
        SqlDialect, typer.Option("--dialect", "-d", help="SQL dialect to print.")
    ] = SqlDialect.duckdb,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the contributions (long table) query.")
    ] = False,
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the SQL to this file.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Fix the scoring moment (ISO 8601). Default: the warehouse's now."
        ),
    ] = None,
    contacts: Annotated[str, typer.Option("--contacts", help="Contacts table name.")] = "contacts",
    events: Annotated[str, typer.Option("--events", help="Events table name.")] = "events",
    quality: Annotated[
        str, typer.Option("--quality", help="Quality-check table name.")
    ] = "leadscore_quality",
) -> None:
    from leadscore.compile import CompileError, Tables, compile_model
    from leadscore.engines.base import as_of_micros
    from leadscore.io import atomic_path

    spec = load_model_or_exit(model)
    as_of_us = None
    if as_of is not None:
        as_of_us = as_of_micros(parse_as_of(as_of))
    try:
        compiled = compile_model(
            spec, dialect.value, as_of_us=as_of_us, tables=Tables(contacts, events, quality)
        )
        sql = (compiled.explain_sql() if explain else compiled.sql()) + ";\n"
    except CompileError as exc:
        raise fail(f"{model}: {exc}") from None
    if out_path is None:
        # Plain stdout, not Rich: the query's string literals hold control characters.
        sys.stdout.write(sql)
        sys.stdout.flush()
        return
    with atomic_path(out_path) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        handle.write(sql)
    err.print(f"wrote the {dialect.value} query to {out_path}", highlight=False)


compile_command.__doc__ = COMPILE_HELP


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_command)
