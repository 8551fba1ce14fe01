"""How a field value is read: the one value semantics every executor follows.

A value is read as trimmed text (or None when missing); string operators compare
lower-cased text, numeric operators parse the text as a decimal number, flags read
a fixed set of words (:mod:`leadscore.spec.semantics`). The SQL compiler implements
exactly these functions, and the parity tests hold the two to each other (see
docs/model-language.md).
"""

from __future__ import annotations

import math
from typing import Any

# The facts (number pattern, flag words, whitespace) live in spec/semantics, which
# the SQL compiler imports too; re-exported here for existing importers.
from leadscore.spec.semantics import FALSE_WORDS, NUMBER_RE, TRUE_WORDS


def as_text(value: Any) -> str | None:
    """The trimmed text of a value; None when it is missing (None, NaN, blank)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(value)
    # numpy/pandas scalars and NA markers behave like their Python counterparts
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    item = getattr(value, "item", None)
    if callable(item):
        return as_text(item())
    text = str(value).strip()
    return text or None


def as_number(text: str | None) -> float | None:
    """A decimal number read from text (ASCII digits only), or None when the text is not one."""
    if text is None or not NUMBER_RE.match(text):
        return None
    return float(text)


def as_flag(text: str | None) -> bool | None:
    """True/False for the flag words, None otherwise."""
    if text is None:
        return None
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


__all__ = ["FALSE_WORDS", "NUMBER_RE", "TRUE_WORDS", "as_flag", "as_number", "as_text"]
