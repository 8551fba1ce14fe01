"""What a value from outside may contain: one check used at every door.

Text with a NUL character cannot be stored by PostgreSQL (text or JSON) and a
lone surrogate (``"\\ud800"`` is valid JSON) cannot be encoded to UTF-8 by any
store; NaN and infinities are valid Python floats and JSON extensions that make
sums, comparisons and charts meaningless. The API, the file readers and the
model loader refuse them with the field named; the readers of stored data skip
what got in before (see :mod:`leadscore.analytics.inputs`).
"""

from __future__ import annotations

import math
import re
from typing import Any

# Integers beyond 64 bits do not fit a BIGINT column (a 500 on PostgreSQL).
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why this text cannot be stored, or None when it can."""
    found = _BAD_CHAR.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000)"
    return f"contains a lone surrogate (\\u{ord(found.group()):04x}), which is not Unicode text"


def number_problem(value: float | int) -> str | None:
    """Why this number cannot be stored, or None when it can."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if INT_MIN <= value <= INT_MAX:
            return None
        return "is an integer outside the 64-bit range"
    if math.isfinite(value):
        return None
    return "must be a finite number (not NaN or infinity)"


def value_problem(value: Any) -> str | None:
    """The problem of a scalar (text, number, flag or null), or None."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, int | float):
        return number_problem(value)
    return None


def clean_text(text: str) -> str:
    """``text`` itself, or ValueError saying what is wrong (a pydantic validator)."""
    problem = text_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


def clean_number(value: Any) -> Any:
    """``value`` itself, or ValueError saying what is wrong (a pydantic validator)."""
    problem = number_problem(value) if isinstance(value, int | float) else None
    if problem is not None:
        raise ValueError(problem)
    return value
