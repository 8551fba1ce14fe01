"""The one error the compiler raises."""

from __future__ import annotations


class CompileError(ValueError):
    """A model (or one of its rules) cannot be compiled for a dialect.

    Raised at compile time, never at run time: a rule an engine cannot run must
    fail loudly instead of silently scoring differently (DESIGN.md, principle 8).
    """

    def __init__(self, message: str, rule_id: str | None = None, dialect: str | None = None):
        self.rule_id, self.dialect = rule_id, dialect
        self.detail = message  # without the rule and dialect (for the model validator)
        where = f"rule '{rule_id}': " if rule_id else ""
        on = f" (dialect {dialect})" if dialect else ""
        super().__init__(f"{where}{message}{on}")
