"""Turn spec conditions into plain Python predicates, once per model.

The evaluator calls these millions of times, so every operator is resolved to a
closure up front (lower-casing, number parsing and regex compiling happen here,
not per event). The semantics are those of :mod:`leadscore.rules.values`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from leadscore.quality import Checker
from leadscore.rules.values import as_flag, as_number, as_text
from leadscore.spec.model import (
    AllCondition,
    AnyCondition,
    CheckCondition,
    FieldCondition,
    NotCondition,
    PlaceTable,
    Test,
)
from leadscore.spec.semantics import condition_fields

TextTest = Callable[[str | None], bool]
FieldsTest = Callable[[Mapping[str, Any]], bool]


def compile_test(test: Test) -> TextTest:
    """A predicate on one field's text (None when missing)."""
    op, value = test.op, test.value
    if op == "exists":
        return lambda t: t is not None
    if op == "missing":
        return lambda t: t is None
    if op in ("is_true", "is_false"):
        want = op == "is_true"
        return lambda t: as_flag(t) is want
    if op in ("equals", "not_equals", "in", "not_in"):
        values = value if op in ("in", "not_in") else (value,)
        match = _equals_any(values)
        if op in ("equals", "in"):
            return lambda t: t is not None and match(t)
        return lambda t: t is None or not match(t)
    if op in ("contains", "starts_with", "ends_with"):
        needle = str(value).lower()
        if op == "contains":
            return lambda t: t is not None and needle in t.lower()
        if op == "starts_with":
            return lambda t: t is not None and t.lower().startswith(needle)
        return lambda t: t is not None and t.lower().endswith(needle)
    if op == "regex":
        # RE2: linear time on any value, the same engine and pattern as DuckDB's.
        from leadscore.compile.regex import linear_regex  # lazy: compile imports this module

        found_in = linear_regex(value).found_in
        return lambda t: t is not None and found_in(t)
    if op == "between":
        low, high = float(value[0]), float(value[1])
        return lambda t: (n := as_number(t)) is not None and low <= n <= high
    bound = float(value)
    compare: dict[str, Callable[[float], bool]] = {
        "lt": lambda n: n < bound,
        "lte": lambda n: n <= bound,
        "gt": lambda n: n > bound,
        "gte": lambda n: n >= bound,
    }
    cmp = compare[op]
    return lambda t: (n := as_number(t)) is not None and cmp(n)


def _equals_any(values: tuple[Any, ...]) -> Callable[[str], bool]:
    words = frozenset(v.strip().lower() for v in values if isinstance(v, str))
    numbers = frozenset(
        float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
    )
    flags = frozenset(v for v in values if isinstance(v, bool))

    def match(text: str) -> bool:
        if words and text.lower() in words:
            return True
        if numbers and (n := as_number(text)) is not None and n in numbers:
            return True
        return bool(flags) and as_flag(text) in flags

    return match


def compile_tests(tests: tuple[Test, ...]) -> TextTest:
    compiled = [compile_test(t) for t in tests]
    if len(compiled) == 1:
        return compiled[0]
    return lambda t: all(c(t) for c in compiled)


def compile_condition(cond: Any, checker: Checker) -> FieldsTest:
    """A predicate on a contact's field mapping."""
    if isinstance(cond, FieldCondition):
        name, test = cond.field, compile_test(cond.test)
        return lambda fields: test(as_text(fields.get(name)))
    if isinstance(cond, CheckCondition):
        check, targets = cond.check, cond.targets
        return lambda fields: any(checker(check, as_text(fields.get(f))) for f in targets)
    if isinstance(cond, AllCondition):
        parts = [compile_condition(c, checker) for c in cond.all]
        return lambda fields: all(p(fields) for p in parts)
    if isinstance(cond, AnyCondition):
        parts = [compile_condition(c, checker) for c in cond.any]
        return lambda fields: any(p(fields) for p in parts)
    if isinstance(cond, NotCondition):
        inner = compile_condition(cond.not_, checker)
        return lambda fields: not inner(fields)
    raise TypeError(f"not a condition: {cond!r}")


def compile_where(where: Mapping[str, tuple[Test, ...]]) -> FieldsTest:
    """A predicate on an event's properties: every listed property must match."""
    parts = [(prop, compile_tests(tests)) for prop, tests in where.items()]
    if not parts:
        return lambda props: True
    return lambda props: all(test(as_text(props.get(prop))) for prop, test in parts)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A place pattern: `*` is the only wildcard, matched case-insensitively on the whole value.

    The meaning, as a regex; :func:`glob_matcher` is what the evaluator runs.
    """
    parts = [re.escape(piece) for piece in pattern.strip().lower().split("*")]
    return re.compile("^" + ".*".join(parts) + "$", re.DOTALL)


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """:func:`glob_regex`'s meaning without its backtracking: ``*a*a*a*a*b`` against a
    long run of ``a`` is polynomial for ``re`` (seconds on a 3,000-character url) and
    one pass of ``str.find`` per piece here (the leftmost match of each piece is
    always the right one when ``*`` is the only wildcard)."""
    parts = pattern.strip().lower().split("*")
    if len(parts) == 1:
        exact = parts[0]
        return lambda text: text == exact
    first, *middle, last = parts

    def match(text: str) -> bool:
        if len(text) < len(first) + len(last) or not text.startswith(first):
            return False
        if not text.endswith(last):
            return False
        at, end = len(first), len(text) - len(last)
        for piece in middle:
            found = text.find(piece, at, end)
            if found < 0:
                return False
            at = found + len(piece)
        return True

    return match


def compile_place(table: PlaceTable) -> Callable[[Mapping[str, Any]], float]:
    """The place weight of an event: first matching pattern wins, else the default."""
    patterns = [(glob_matcher(p), w) for p, w in table.weights.items()]
    field, default = table.field, table.default

    def weight(props: Mapping[str, Any]) -> float:
        text = as_text(props.get(field))
        if text is None:
            return default
        lowered = text.lower()
        for match, w in patterns:
            if match(lowered):
                return w
        return default

    return weight


__all__ = [
    "compile_condition",
    "compile_place",
    "compile_test",
    "compile_tests",
    "compile_where",
    "condition_fields",
    "glob_matcher",
    "glob_regex",
]
