"""Small sqlglot builders shared by the compiler and the engines' input checks.

Each builds in place (``copy=False``): the trees are made fresh for one query.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp


def alias(e: exp.Expr | str, name: str) -> exp.Expr:
    return exp.alias_(e, name, copy=False)


def paren(e: exp.Expr) -> exp.Expr:
    return exp.Paren(this=e)


def all_of(*parts: exp.Expr) -> exp.Expr:
    return exp.and_(*parts, copy=False)


def any_of(*parts: exp.Expr) -> exp.Expr:
    return exp.or_(*parts, copy=False)


def case(whens: Sequence[tuple[exp.Expr, exp.Expr]], default: exp.Expr | None = None) -> exp.Case:
    out = exp.Case()
    for cond, value in whens:
        out = out.when(cond, value, copy=False)
    if default is not None:
        out = out.else_(default, copy=False)
    return out
