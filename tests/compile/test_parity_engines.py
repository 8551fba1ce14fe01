"""The online evaluator and the compiled SQL agree on PostgreSQL and Spark.

PostgreSQL runs against the real server (one schema per test session, dropped
afterwards); Spark runs in local mode with one shared session. Spark gets fewer
examples: each query costs it about a second.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).parent))
from parity import AS_OF, Dataset, assert_same, datasets, models

from leadscore.spec.model import ScoringModel

SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]


# ---------------------------------------------------------------- PostgreSQL --


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Any]:
    import psycopg

    from leadscore.engines.postgres import PostgresEngine

    schema = f"leadscore_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    con = psycopg.connect(pg_url, autocommit=True)
    con.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield PostgresEngine(pg_url, search_path=schema, connection=con), schema
    finally:
        con.execute(f'DROP SCHEMA "{schema}" CASCADE')
        con.close()


def load_pg(con: Any, schema: str, data: Dataset) -> None:
    con.execute(f'DROP TABLE IF EXISTS "{schema}".contacts, "{schema}".events')
    con.execute(
        f'CREATE TABLE "{schema}".contacts (contact_id text, f_text text, f_int bigint, '
        "f_float double precision, f_bool boolean, email text, phone text, first_name text)"
    )
    con.execute(
        f'CREATE TABLE "{schema}".events (event_id text, contact_id text, type text, '
        '"timestamp" timestamptz, url text, form text, n bigint)'
    )
    with con.cursor() as cur:
        with cur.copy(f'COPY "{schema}".contacts FROM STDIN') as copy:
            for row in data.contacts_table().to_pylist():
                copy.write_row(list(row.values()))
        with cur.copy(f'COPY "{schema}".events FROM STDIN') as copy:
            for row in data.events_table().to_pylist():
                copy.write_row(list(row.values()))


@pytest.mark.postgres
@settings(max_examples=40, deadline=None, suppress_health_check=SLOW)
@given(model=models(), data=datasets())
def test_postgres_matches_online_evaluator(
    pg_engine: Any, model: ScoringModel, data: Dataset
) -> None:
    engine, schema = pg_engine
    load_pg(engine.con, schema, data)
    result = engine.score(
        model, f'"{schema}".contacts', f'"{schema}".events', AS_OF, explain=True, validate=False
    )
    assert_same(model, data, result.rows(), result.contributions())


# --------------------------------------------------------------------- Spark --


@pytest.fixture(scope="session")
def spark_session(spark_available: bool) -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("leadscore-tests")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.spark
@settings(max_examples=8, deadline=None, suppress_health_check=SLOW)
@given(model=models(), data=datasets())
def test_spark_matches_online_evaluator(
    spark_session: Any, model: ScoringModel, data: Dataset
) -> None:
    from leadscore.engines.spark import SparkEngine

    contacts = data.contacts_table()
    events = data.events_table()
    spark_session.createDataFrame(
        contacts.to_pylist(), schema=_schema(contacts)
    ).createOrReplaceTempView("t_contacts")
    spark_session.createDataFrame(
        events.to_pylist(), schema=_schema(events)
    ).createOrReplaceTempView("t_events")
    result = SparkEngine(session=spark_session).score(
        model, "t_contacts", "t_events", AS_OF, explain=True, validate=False
    )
    assert_same(model, data, result.rows(), result.contributions())


def _schema(table: Any) -> str:
    names = {"string": "STRING", "int64": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN"}
    parts = []
    for field in table.schema:
        kind = "TIMESTAMP" if str(field.type).startswith("timestamp") else names[str(field.type)]
        parts.append(f"`{field.name}` {kind}")
    return ", ".join(parts)


@pytest.mark.spark
def test_spark_quality_checks_after_a_field_with_no_values(spark_session: Any) -> None:
    """The pre-pass's table has one Arrow batch per field; a field with no values makes
    an empty one, and PySpark drops every batch after it unless the table is one chunk."""
    from leadscore.engines.spark import SparkEngine
    from leadscore.spec import model_from_dict

    model = model_from_dict(
        {
            "scores": {
                "fit": {
                    "rules": [
                        {"id": "free", "when": {"check": "free_email"}, "points": -10},
                        {"id": "name", "when": {"check": "not_capitalised"}, "points": -3},
                        {"id": "phone", "when": {"check": "invalid_phone"}, "points": -5},
                    ]
                }
            }
        }
    )
    spark_session.createDataFrame(
        [("c1", "ann@gmail.com", None, "12345"), ("c2", "bo@acme.com", None, "+1 650 253 0000")],
        schema="contact_id STRING, email STRING, first_name STRING, phone STRING",
    ).createOrReplaceTempView("q_contacts")
    result = SparkEngine(session=spark_session).score(
        model, "q_contacts", None, AS_OF, validate=False
    )
    fit = {r["contact_id"]: r["fit"] for r in result.rows()}
    assert fit == {"c1": -15.0, "c2": 0.0}
