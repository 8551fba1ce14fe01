"""The language's value facts, written once: both interpreters import them from here.

The online evaluator (:mod:`leadscore.rules`) and the SQL compiler
(:mod:`leadscore.compile`) read a field the same way because they share these
constants rather than each spelling them out (docs/model-language.md, "Value
semantics"):

- text is trimmed of :data:`WHITESPACE` (exactly what Python's ``str.strip()``
  removes) and is missing when nothing is left;
- a number is text matching :data:`NUMBER_PATTERN`, whose digits are the ASCII
  ``0-9`` only. Python's ``\\d`` and ``float()`` also accept other scripts' digits
  ("١٢", full-width "１２"), which no SQL engine casts; ASCII is the one reading
  every engine (DuckDB, PostgreSQL, Spark, BigQuery, Snowflake) can do exactly;
- a flag is one of :data:`TRUE_WORDS` / :data:`FALSE_WORDS`, compared lower-cased;
- a ``regex`` condition's ``\\d`` is ``[0-9]`` too (:func:`ascii_digits`), for the
  same reason;
- a profile condition reads the contact fields :func:`condition_fields` lists.
"""

from __future__ import annotations

import re
from typing import Any

from leadscore.spec.model import CheckCondition, FieldCondition, NotCondition

# A decimal number: [+-]digits[.digits][e[+-]digits], ASCII digits only (see above).
NUMBER_PATTERN = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
NUMBER_RE = re.compile(NUMBER_PATTERN)

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0"})

# Python's str.strip() removes exactly these characters (every c with c.isspace());
# the SQL compiler trims the same set (tests/spec/test_semantics.py checks it).
WHITESPACE = "".join(
    chr(c)
    for c in (
        *range(0x09, 0x0E),
        *range(0x1C, 0x21),
        0x85,
        0xA0,
        0x1680,
        *range(0x2000, 0x200B),
        0x2028,
        0x2029,
        0x202F,
        0x205F,
        0x3000,
    )
)


def ascii_digits(pattern: str) -> str:
    """A Python regex with ``\\d`` read as ``[0-9]`` (and ``\\D`` outside brackets as ``[^0-9]``).

    The SQL engines' regex flavours (RE2, Java, PostgreSQL) read ``\\d`` as ASCII
    digits; Python's ``re`` reads every script's digits, so the evaluator compiles
    this rewrite instead. Escapes (``\\\\d`` is a backslash and a "d") are kept.
    """
    out: list[str] = []
    i, in_class, class_start = 0, False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "d":
                out.append("0-9" if in_class else "[0-9]")
            elif nxt == "D" and not in_class:
                out.append("[^0-9]")
            else:
                out.append(ch + nxt)
            i += 2
            continue
        if not in_class and ch == "[":
            in_class, class_start = True, i + 1
            if pattern.startswith("^", class_start):
                out.append("[^")
                i, class_start = i + 2, class_start + 1
                continue
        elif in_class and ch == "]" and i != class_start:
            # A "]" right after "[" (or "[^") is a literal, not the class's end.
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


def condition_fields(cond: Any) -> list[str]:
    """The contact fields a condition reads (its evidence), in order."""
    if isinstance(cond, FieldCondition):
        return [cond.field]
    if isinstance(cond, CheckCondition):
        return list(cond.targets)
    children = getattr(cond, "all", None) or getattr(cond, "any", None)
    if children is None and isinstance(cond, NotCondition):
        children = (cond.not_,)
    out: list[str] = []
    for child in children or ():
        out.extend(f for f in condition_fields(child) if f not in out)
    return out


__all__ = [
    "FALSE_WORDS",
    "NUMBER_PATTERN",
    "NUMBER_RE",
    "TRUE_WORDS",
    "WHITESPACE",
    "ascii_digits",
    "condition_fields",
]
