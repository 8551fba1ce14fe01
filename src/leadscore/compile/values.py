"""The value semantics of :mod:`leadscore.rules.values`, as SQL expressions.

A field is read as trimmed text (NULL when missing), as a number, or as a flag.
How depends on the column's type in the source table: a typed Parquet or
database column must read exactly as the Python readers would see it
(booleans ``true``/``false``, integers in decimal, floats as Python's
``str(float)``), so the compiler is told each column's kind.
"""

from __future__ import annotations

from typing import Literal

from sqlglot import exp

from leadscore.compile.dialect import Dialect
from leadscore.compile.errors import CompileError
from leadscore.compile.sqlexp import all_of as _and
from leadscore.compile.sqlexp import any_of as _or
from leadscore.compile.sqlexp import case
from leadscore.spec.semantics import FALSE_WORDS, NUMBER_PATTERN, TRUE_WORDS, WHITESPACE

Kind = Literal["text", "int", "float", "bool", "decimal", "temporal", "other"]
KINDS: tuple[str, ...] = ("text", "int", "float", "bool", "decimal", "temporal", "other")


def lit(value: str | float | int | bool | None) -> exp.Expr:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, float) and value.is_integer():
        # Keep a float a float, so that integer division never sneaks in.
        return exp.Literal.number(repr(value))
    return exp.Literal.number(repr(value) if isinstance(value, float) else str(value))


def dbl(value: float | int) -> exp.Expr:
    """A numeric literal that every engine reads as a DOUBLE."""
    return exp.cast(exp.Literal.number(repr(float(value))), "DOUBLE")


def _case(*whens: tuple[exp.Expr, exp.Expr], default: exp.Expr | None = None) -> exp.Case:
    return case(whens, default)


def trim_text(x: exp.Expr, d: Dialect | None = None) -> exp.Expr:
    """Python's ``str.strip()``, NULL when nothing is left.

    DuckDB's TRIM with Python's 27 whitespace characters costs about 1 microsecond a
    string (a million e-mails: over a second, per use); text whose first and last
    characters are printable ASCII ('!'..'~') has nothing to strip, so DuckDB checks
    those two characters first and trims only the rest.
    """
    trimmed = exp.Nullif(
        this=exp.Trim(this=x, expression=exp.Literal.string(WHITESPACE), position="BOTH"),
        expression=exp.Literal.string(""),
    )
    if d is None or not d.trim_checks_ascii_edges:
        return trimmed
    edges = [
        exp.Between(
            this=exp.Anonymous(this="ARRAY_EXTRACT", expressions=[x.copy(), lit(i)]),
            low=lit("!"),
            high=lit("~"),
        )
        for i in (1, -1)
    ]
    return _case((_and(*edges), x.copy()), default=trimmed)


def as_text(x: exp.Expr, kind: str, d: Dialect, what: str) -> exp.Expr:
    """The trimmed text of a column (NULL when missing), as ``leadscore.rules.values.as_text``."""
    if kind == "text":
        return trim_text(x, d)
    if kind in ("int", "decimal"):
        return exp.cast(x, "TEXT")
    if kind == "bool":
        return _case((x, lit("true")), (exp.Not(this=x), lit("false")))
    if kind == "float":
        # FLOAT columns read as the double Python sees (0.1f is 0.10000000149011612).
        return float_text(exp.cast(x, "DOUBLE"), d)
    raise CompileError(
        f"{what} has a {kind} type; rules read fields as text, numbers or flags, so cast it "
        "to text (or a number) in the source, or use --engine python"
    )


def float_text(x: exp.Expr, d: Dialect) -> exp.Expr:
    """Python's ``str(float)`` for the values engines agree on, an error otherwise.

    Integral values below 1e16 print as ``123.0`` everywhere (PostgreSQL would
    print ``123``); other values use the engine's shortest round-trip text, which
    equals Python's in DuckDB and PostgreSQL for |x| < 1e15. Spark prints Java's
    ``1.0E7`` form outside [1e-3, 1e7), so there it raises instead of guessing.
    """
    as_int = exp.cast(exp.cast(x, "BIGINT"), "TEXT")
    neg_zero = _and(
        exp.EQ(this=x, expression=dbl(0)),
        exp.Like(this=exp.cast(x, "TEXT"), expression=lit("-%")),
    )
    integral = _and(
        exp.EQ(this=exp.Floor(this=x), expression=x),
        exp.LT(this=exp.Abs(this=x), expression=dbl(1e16)),
    )
    fallback: exp.Expr = exp.cast(x, "TEXT")
    if not d.prints_floats_like_python:
        odd = _or(
            exp.LT(this=exp.Abs(this=x), expression=dbl(1e-3)),
            exp.GTE(this=exp.Abs(this=x), expression=dbl(1e7)),
        )
        fallback = _case(
            (
                odd,
                exp.Anonymous(
                    this="RAISE_ERROR",
                    expressions=[
                        lit(
                            "leadscore: a text operator read a floating-point value outside "
                            "[1e-3, 1e7) that Spark cannot print as Python does; cast the column"
                        )
                    ],
                ),
            ),
            default=exp.cast(x, "TEXT"),
        )
    return _case(
        (exp.Is(this=x, expression=exp.null()), exp.null()),
        (d.is_nan(x), exp.null()),
        (
            d.is_inf(x),
            _case((exp.GT(this=x, expression=dbl(0)), lit("inf")), default=lit("-inf")),
        ),
        (neg_zero, lit("-0.0")),
        (integral, exp.DPipe(this=as_int, expression=lit(".0"), safe=True)),
        default=fallback,
    )


def as_number(x: exp.Expr, kind: str, d: Dialect, what: str) -> exp.Expr:
    """``as_number(as_text(x))``: a DOUBLE, or NULL when the text is not a decimal number."""
    if kind in ("int", "decimal"):
        return exp.cast(x, "DOUBLE")
    if kind == "float":
        # float(str(x)) == x for finite floats; NaN is missing and "inf" is not a number.
        return _case(
            (d.is_nan(x), exp.null()),
            (d.is_inf(x), exp.null()),
            default=exp.cast(x, "DOUBLE"),
        )
    if kind == "bool":
        return exp.cast(exp.null(), "DOUBLE")
    text = as_text(x, kind, d, what)
    return number_of_text(text, d)


def number_of_text(text: exp.Expr, d: Dialect) -> exp.Expr:
    ok = d.regex_search(text, NUMBER_PATTERN, ignore_case=False)
    return _case((ok, exp.cast(text, "DOUBLE")), default=exp.cast(exp.null(), "DOUBLE"))


def as_flag(text: exp.Expr) -> exp.Expr:
    """TRUE/FALSE for the flag words, NULL otherwise (``as_flag``)."""
    low = exp.Lower(this=text)
    return _case(
        (exp.In(this=low, expressions=[lit(w) for w in sorted(TRUE_WORDS)]), exp.true()),
        (exp.In(this=low, expressions=[lit(w) for w in sorted(FALSE_WORDS)]), exp.false()),
        default=exp.cast(exp.null(), "BOOLEAN"),
    )
