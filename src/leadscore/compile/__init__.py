"""Scoring models compiled to one SQL query (sqlglot), for any supported dialect.

>>> compiled = compile_model(model, "postgres")      # doctest: +SKIP
>>> print(compiled.sql())                            # doctest: +SKIP

The query reads ``contacts``, ``events`` and, when the model uses quality checks,
``leadscore_quality`` (see :func:`quality_table`); see docs/batch.md.
"""

from __future__ import annotations

from leadscore.compile.dialect import DIALECTS
from leadscore.compile.errors import CompileError
from leadscore.compile.quality import quality_table
from leadscore.compile.query import CompiledModel, RuleColumn, Tables, compile_model

__all__ = [
    "DIALECTS",
    "CompileError",
    "CompiledModel",
    "RuleColumn",
    "Tables",
    "compile_model",
    "quality_table",
]
