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
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.types import Strict

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


def clean_value(value: Any) -> Any:
    """``value`` itself when every text, number, key and item in it can be stored;
    else ValueError naming the key or item (a pydantic validator for whole fields)."""
    if isinstance(value, str | int | float):
        problem = value_problem(value)
        if problem is not None:
            raise ValueError(problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = value_problem(key) if isinstance(key, str) else None
            if problem is not None:
                raise ValueError(f"the key {_shown(key)} {problem}")
            problem = value_problem(item) if not isinstance(item, dict | list) else None
            if problem is not None:
                raise ValueError(f"the value of {_shown(key)} {problem}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            problem = value_problem(item)
            if problem is not None:
                raise ValueError(f"item {i} {problem}")
    return value


def shown(text: str) -> str:
    """Text safe to put in an error answer (NUL and lone surrogates escaped)."""
    return _BAD_CHAR.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _shown(key: Any) -> str:
    return repr(shown(key)) if isinstance(key, str) else repr(key)


# Checked by pydantic-core itself (no Python call per value: batch ingest validates
# 10,000 events in one pass of the Rust validator). Lone surrogates are refused by
# pydantic's own str validation; NaN/Infinity by allow_inf_nan=False on the model
# (see STORABLE); an integer past 64 bits fails the int member and is kept as the
# nearest (finite) float.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
Int64 = Annotated[int, Field(ge=INT_MIN, le=INT_MAX)]
# A profile field or event property value: text, number, flag or null, storable.
Scalar = Text | Int64 | Annotated[float, Strict()] | bool | None
# A name chosen by the sender (a field or property name).
Key = Text
STORABLE = ConfigDict(allow_inf_nan=False)

#: pydantic error types -> what to tell the sender (see service.events.clean_errors).
MESSAGES = {
    "finite_number": "must be a finite number (not NaN or infinity)",
    "string_unicode": "contains a lone surrogate, which is not Unicode text",
}


def storable_message(error: Mapping[str, Any]) -> str | None:
    """The sender's message for a pydantic error raised by these types, else None."""
    kind = error.get("type")
    if kind == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == NO_NUL:
        return "contains a NUL character (\\u0000)"
    return MESSAGES.get(str(kind))


class CleanInput(BaseModel):
    """Base of request bodies: every field's text free of NUL and lone surrogates,
    every number finite and within 64 bits. Declared once here instead of per field;
    a failing field is named in the 422 like any other validation error. (EventIn,
    validated 10,000 at a time, uses only the native types above.)"""

    model_config = STORABLE

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return clean_value(value)
