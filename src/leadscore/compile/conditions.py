"""Operators, conditions and place weights as SQL predicates.

Mirrors :mod:`leadscore.rules.matchers` operator by operator. Every predicate is
two-valued (TRUE or FALSE, never NULL): the model language has no "unknown", and
a NULL leaking into ``NOT`` would flip a rule silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from leadscore.compile.dialect import Dialect
from leadscore.compile.errors import CompileError
from leadscore.compile.regex import translate
from leadscore.compile.sqlexp import all_of as _and
from leadscore.compile.sqlexp import any_of as _or
from leadscore.compile.sqlexp import paren as _paren
from leadscore.compile.values import as_flag, as_text, dbl, lit, number_of_text
from leadscore.spec.model import (
    AllCondition,
    AnyCondition,
    CheckCondition,
    FieldCondition,
    NotCondition,
    PlaceTable,
    Test,
)


def true_(cond: exp.Expr) -> exp.Expr:
    """``cond`` with NULL read as FALSE."""
    return exp.func("COALESCE", _paren(cond), exp.false())


@dataclass
class FieldReader:
    """Reads fields of one table alias; remembers text expressions already built."""

    alias: str
    kinds: Mapping[str, str]  # column -> kind; absent columns read as missing
    dialect: Dialect
    what: str  # "contacts" or "events", for error messages
    rule_id: str | None = None
    _texts: dict[str, exp.Expr] = field(default_factory=dict)

    def column(self, name: str) -> exp.Expr:
        return exp.column(name, table=self.alias, quoted=True)

    def text(self, name: str) -> exp.Expr:
        if name not in self.kinds:
            return exp.cast(exp.null(), "TEXT")
        try:
            return as_text(
                self.column(name), self.kinds[name], self.dialect, f"{self.what} column '{name}'"
            )
        except CompileError as exc:
            raise CompileError(str(exc), self.rule_id, self.dialect.name) from None

    def number(self, name: str) -> exp.Expr:
        kind = self.kinds.get(name)
        col = self.column(name)
        if kind in ("int", "decimal"):
            return exp.cast(col, "DOUBLE")
        if kind == "float":
            d = self.dialect
            return (
                exp.Case()
                .when(d.is_nan(col), exp.cast(exp.null(), "DOUBLE"))
                .when(d.is_inf(col), exp.cast(exp.null(), "DOUBLE"))
                .else_(exp.cast(col, "DOUBLE"))
            )
        if kind == "bool" or kind is None:
            return exp.cast(exp.null(), "DOUBLE")
        return number_of_text(self.text(name), self.dialect)


def test_predicate(
    test: Test,
    text: exp.Expr,
    number: Callable[[], exp.Expr],
    d: Dialect,
    rule_id: str | None,
) -> exp.Expr:
    """One operator on one field's text, as ``leadscore.rules.matchers.compile_test``."""
    op, value = test.op, test.value
    present = exp.Not(this=exp.Is(this=text, expression=exp.null()))
    missing = exp.Is(this=text, expression=exp.null())
    if op == "exists":
        return present
    if op == "missing":
        return missing
    if op in ("is_true", "is_false"):
        flag = as_flag(text)
        return true_(exp.EQ(this=flag, expression=exp.true() if op == "is_true" else exp.false()))
    if op in ("equals", "not_equals", "in", "not_in"):
        values = value if op in ("in", "not_in") else (value,)
        match = _equals_any(values, text, number)
        if op in ("equals", "in"):
            return _and(present, true_(match))
        return _or(missing, exp.Not(this=true_(match)))
    if op in ("contains", "starts_with", "ends_with"):
        needle = str(value).lower()
        low = exp.Lower(this=text)
        found: exp.Expr
        if op == "contains":
            found = exp.GT(this=exp.StrPosition(this=low, substr=lit(needle)), expression=lit(0))
        elif op == "starts_with":
            found = exp.EQ(
                this=exp.Left(this=low, expression=lit(len(needle))), expression=lit(needle)
            )
        else:
            found = exp.EQ(
                this=exp.Right(this=low, expression=lit(len(needle))), expression=lit(needle)
            )
        if not needle:
            found = exp.true()
        return _and(present, true_(found))
    if op == "regex":
        if not d.supports_regex:
            raise CompileError("regex conditions cannot run here", rule_id, d.name)
        tr = translate(str(value), d.regex_flavour, rule_id, d.name)
        return _and(present, true_(d.regex_search(text, tr.pattern, tr.ignore_case)))
    n = number()
    if op == "between":
        low_, high_ = float(value[0]), float(value[1])
        return true_(
            _and(
                exp.GTE(this=n, expression=dbl(low_)), exp.LTE(this=n.copy(), expression=dbl(high_))
            )
        )
    bound = dbl(float(value))
    cmp = {"lt": exp.LT, "lte": exp.LTE, "gt": exp.GT, "gte": exp.GTE}[op]
    return true_(cmp(this=n, expression=bound))


def _equals_any(
    values: tuple[Any, ...], text: exp.Expr, number: Callable[[], exp.Expr]
) -> exp.Expr:
    words = sorted({v.strip().lower() for v in values if isinstance(v, str)})
    numbers = sorted(
        {float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)}
    )
    flags = sorted({v for v in values if isinstance(v, bool)})
    parts: list[exp.Expr] = []
    if words:
        parts.append(exp.In(this=exp.Lower(this=text), expressions=[lit(w) for w in words]))
    if numbers:
        parts.append(exp.In(this=number(), expressions=[dbl(n) for n in numbers]))
    if flags:
        parts.append(
            exp.In(
                this=as_flag(text), expressions=[exp.true() if f else exp.false() for f in flags]
            )
        )
    return _or(*[true_(p) for p in parts]) if parts else exp.false()


def tests_predicate(
    tests: tuple[Test, ...], reader: FieldReader, name: str, rule_id: str | None
) -> exp.Expr:
    text = reader.text(name)
    parts = [
        test_predicate(t, text.copy(), lambda: reader.number(name), reader.dialect, rule_id)
        for t in tests
    ]
    return _and(*parts) if len(parts) > 1 else parts[0]


def where_predicate(
    where: Mapping[str, tuple[Test, ...]], reader: FieldReader, rule_id: str | None
) -> exp.Expr:
    parts = [tests_predicate(tests, reader, prop, rule_id) for prop, tests in where.items()]
    if not parts:
        return exp.true()
    return _and(*parts) if len(parts) > 1 else parts[0]


QualityLookup = Callable[[str, str], exp.Expr]
"""(check, field) -> a TRUE/FALSE expression from the pre-computed quality table."""


def condition_predicate(
    cond: Any, reader: FieldReader, quality: QualityLookup, rule_id: str | None
) -> exp.Expr:
    """A profile condition (``when:``), as ``leadscore.rules.matchers.compile_condition``."""
    if isinstance(cond, FieldCondition):
        return tests_predicate((cond.test,), reader, cond.field, rule_id)
    if isinstance(cond, CheckCondition):
        parts: list[exp.Expr] = []
        for target in cond.targets:
            if cond.check.startswith("missing_"):
                parts.append(exp.Is(this=reader.text(target), expression=exp.null()))
            else:
                parts.append(quality(cond.check, target))
        return _or(*parts) if len(parts) > 1 else parts[0]
    if isinstance(cond, AllCondition):
        return _and(*[condition_predicate(c, reader, quality, rule_id) for c in cond.all])
    if isinstance(cond, AnyCondition):
        return _or(*[condition_predicate(c, reader, quality, rule_id) for c in cond.any])
    if isinstance(cond, NotCondition):
        return exp.Not(this=_paren(condition_predicate(cond.not_, reader, quality, rule_id)))
    raise TypeError(f"not a condition: {cond!r}")


def like_pattern(glob: str) -> tuple[str, bool]:
    """A place pattern as a LIKE pattern (``*`` only); True when it needs an ESCAPE."""
    out, escaped = [], False
    for ch in glob.strip().lower():
        if ch == "*":
            out.append("%")
        elif ch in "%_!":
            out.append("!" + ch)
            escaped = True
        else:
            out.append(ch)
    return "".join(out), escaped


def place_weight(table: PlaceTable, reader: FieldReader) -> exp.Expr:
    """First matching glob wins, a missing value or no match gives the default."""
    text = reader.text(table.field)
    low = exp.Lower(this=text)
    case = exp.Case().when(exp.Is(this=text.copy(), expression=exp.null()), dbl(table.default))
    for pattern, weight in table.weights.items():
        like, escaped = like_pattern(pattern)
        cond: exp.Expr = exp.Like(this=low.copy(), expression=lit(like))
        if escaped:
            cond = exp.Escape(this=cond, expression=lit("!"))
        case = case.when(cond, dbl(weight))
    return case.else_(dbl(table.default))
