"""Spark: the same compiled query in Spark SQL, for data that outgrows one machine.

Tests run PySpark in local mode. On a cluster, pass ``master`` (``spark://host:7077``,
``yarn``, ``k8s://...``) or run under ``spark-submit``, which supplies its own
session: ``SparkEngine()`` then picks up the active session. Inputs are CSV or
Parquet paths (any Spark-readable URI) or names of tables/views in the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from leadscore.engines.base import (
    ROW,
    TEMP,
    BatchEngine,
    Inputs,
    check_csv_text,
    check_file_header,
    is_file,
    kind_of,
    table_sql,
)


class SparkEngine(BatchEngine):
    """Scores with Spark SQL through PySpark (installed with ``leadscore[spark]``)."""

    name = "spark"

    def __init__(
        self,
        master: str | None = None,
        session: Any = None,
        app_name: str = "leadscore",
        config: Mapping[str, str] | None = None,
    ):
        from pyspark.sql import SparkSession  # lazily: an optional extra

        if session is None:
            session = SparkSession.getActiveSession()
        if session is None:
            builder = SparkSession.builder.appName(app_name)
            if master:
                builder = builder.master(master)
            if master and master.startswith("local"):
                # One machine: a few shuffle partitions, not Spark's 200 (each a task).
                builder = builder.config("spark.sql.shuffle.partitions", "4")
                builder = builder.config("spark.ui.enabled", "false")
                builder = builder.config("spark.ui.showConsoleProgress", "false")
            for key, value in (config or {}).items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
        self.spark = session
        # Naive text timestamps are UTC, as in the Python reader.
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")

    def _source(
        self, name: str | Path, view: str, required: tuple[str, ...]
    ) -> tuple[str, str, bool]:
        from pyspark.sql import functions as F

        if is_file(name):
            path = str(name)
            if path.lower().endswith(".csv"):
                df = (
                    self.spark.read.option("header", True)
                    .option("inferSchema", False)
                    .option("quote", '"')
                    .option("escape", '"')
                    .option("multiLine", True)
                    .option("mode", "FAILFAST")  # a short row is an error, as in leadscore.io
                    .csv(path)
                )
            else:
                df = self.spark.read.parquet(path)
            check_file_header(Path(path), df.columns, required)
            # Ids increase with the file order, which the output keeps.
            df = df.withColumn(ROW, F.monotonically_increasing_id())
            if view == TEMP.contacts:
                # The ids are not deterministic across recomputations; pin them once
                # because the query reads the contacts more than once.
                df = df.localCheckpoint()
            df.createOrReplaceTempView(view)
            return view, path, True
        table = table_sql(str(name), self.name)
        check_file_header(Path(str(name)), self.spark.table(table).columns, required)
        return table, str(name), False

    def _kinds(self, table: str) -> dict[str, str]:
        schema = self.spark.table(table).schema
        return {f.name: kind_of(f.dataType.simpleString()) for f in schema.fields if f.name != ROW}

    def _row_number(self, relation: str, row_id: int) -> int:
        """The 1-based file row of a monotonically increasing id (they skip between partitions)."""
        got = self._fetch(f"SELECT COUNT(*) FROM {relation} WHERE {ROW} < {int(row_id)}")
        return int(got[0][0]) + 1

    def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def _csv_errors(self) -> tuple[type[BaseException], ...]:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        return (PySparkException, Py4JJavaError)

    def _no_events(self) -> str:
        self.spark.sql(
            "CREATE OR REPLACE TEMP VIEW leadscore_no_events AS SELECT CAST(NULL AS STRING) AS event_id, "
            "CAST(NULL AS STRING) AS contact_id, CAST(NULL AS STRING) AS type, "
            "CAST(NULL AS TIMESTAMP) AS timestamp WHERE false"
        )
        return "leadscore_no_events"

    def _check_inputs(self, inputs: Inputs) -> None:
        # Spark replaces bytes that are not UTF-8, so the bytes are checked first.
        check_csv_text(inputs.contacts_name, inputs.events_name)
        # ROW holds increasing ids, not row numbers: a reported id is counted into one.
        inputs.check(self._fetch, "spark", row_of=self._row_number)

    # The quality pre-pass goes through Arrow both ways: collecting 100,000 distinct
    # e-mails as Row objects and uploading the answers as Python tuples took 6.3 s of a
    # 100k / 5M score call.
    def _distinct(self, sql: str) -> pa.ChunkedArray:
        return self.spark.sql(sql).toArrow().column(0)

    def _upload_quality(self, quality: pa.Table) -> None:
        # One chunk: PySpark 4.3 stops reading an Arrow table at its first empty record
        # batch, and a field with no values (no last names at all) makes one.
        table = quality.combine_chunks()
        self.spark.createDataFrame(table).createOrReplaceTempView(TEMP.quality)

    def _arrow(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()
