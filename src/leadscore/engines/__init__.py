"""Engines that run a compiled scoring model where the data lives.

Each driver is imported only when its engine is used (DESIGN.md, principle 9):
``import leadscore.engines`` loads neither DuckDB, psycopg nor PySpark.
"""

from __future__ import annotations

from typing import Any

from leadscore.engines.results import BatchResult

ENGINES = ("duckdb", "postgres", "spark")


def get_engine(name: str, **options: Any) -> Any:
    """An engine by name: ``duckdb`` (database=), ``postgres`` (url=), ``spark`` (master=)."""
    if name == "duckdb":
        from leadscore.engines.duckdb import DuckDBEngine

        return DuckDBEngine(**options)
    if name == "postgres":
        from leadscore.engines.postgres import PostgresEngine

        return PostgresEngine(**options)
    if name == "spark":
        from leadscore.engines.spark import SparkEngine

        return SparkEngine(**options)
    raise ValueError(f"unknown engine '{name}' (use one of {', '.join(ENGINES)})")


__all__ = ["ENGINES", "BatchResult", "get_engine"]
