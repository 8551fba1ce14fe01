"""The explain query: one row per (contact, contribution), in the evaluator's order.

It runs the long plan (:mod:`.plan_long`), whose ``rv`` carries each event and
volume rule's evidence, then the contact side (:mod:`.plan_result`), and lists a
row for every profile and inactivity rule that fired, every listed event or
volume rule, and every bound that moved a score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from leadscore.compile.context import Context, RuleColumn
from leadscore.compile.plan_long import Ctes, col, union_all
from leadscore.compile.plan_result import scored_select
from leadscore.compile.sqlexp import alias as _as
from leadscore.compile.sqlexp import all_of as _and
from leadscore.compile.sqlexp import case as _case
from leadscore.compile.values import dbl, lit


@dataclass
class Row:
    """One branch of the contributions UNION: where it reads and what it says."""

    source: str | exp.Expr
    score: str | exp.Expr
    rule_id: str | exp.Expr
    order: int | exp.Expr
    points: exp.Expr
    where: exp.Expr
    ids: exp.Expr | None = None
    count: exp.Expr | None = None
    age: exp.Expr | None = None
    texts: exp.Expr | None = None
    contact: exp.Expr | None = None

    def select(self, cx: Context) -> exp.Select:
        text_array = cx.d.null_text_array()

        def value(x: Any) -> exp.Expr:
            return x if isinstance(x, exp.Expr) else lit(x)

        return (
            exp.select(
                _as(self.contact if self.contact is not None else col("contact_id"), "contact_id"),
                _as(col("row_no"), "row_no"),
                _as(value(self.order), "ord"),
                _as(value(self.score), "score"),
                _as(value(self.rule_id), "rule_id"),
                _as(self.points, "points"),
                _as(self.ids if self.ids is not None else text_array.copy(), "ids"),
                _as(
                    self.count if self.count is not None else exp.cast(exp.null(), "BIGINT"),
                    "n_count",
                ),
                _as(self.age if self.age is not None else exp.cast(exp.null(), "DOUBLE"), "age"),
                _as(self.texts if self.texts is not None else text_array.copy(), "texts"),
            )
            .from_(self.source)
            .where(self.where)
        )


def explain_query(cx: Context, event_ctes: Ctes, base: exp.Select) -> exp.Expr:
    """The long table: one row per (contact, contribution), in the evaluator's order."""
    ctes = [*event_ctes, ("base", base), ("scored", scored_select(cx, "base"))]
    rows = [*contact_rows(cx), *event_rows(cx), *bound_rows(cx)]
    branches = [r.select(cx) for r in rows] or [
        Row("scored", "", "", 0, dbl(0), exp.false()).select(cx)
    ]
    select = (
        exp.select("*")
        .from_(_as(exp.Subquery(this=union_all(branches)), "contributions"))
        .order_by(col("row_no"), col("contact_id"), col("ord"))
    )
    for name, q in ctes:
        select = select.with_(name, as_=q, copy=False)
    return select


def contact_rows(cx: Context) -> list[Row]:
    """Profile rules (with the fields' texts) and inactivity rules (with the last age)."""
    rows = []
    for c in cx.columns:
        not_null = exp.Not(this=exp.Is(this=col(c.column), expression=exp.null()))
        head = ("scored", c.score, c.rule_id, c.order, col(c.column), not_null)
        if c.kind == "profile":
            rows.append(Row(*head, texts=col(f"t{c.index}")))
        elif c.kind == "inactivity":
            rows.append(Row(*head, age=col(f"l{c.index}")))
    return rows


def event_rows(cx: Context) -> list[Row]:
    """One branch for every event and volume rule (slot -> score, rule, order).

    ``rv`` is joined to base once so the contact's row number (output order) comes along.
    """
    listed = [c for c in cx.event_slots if c.kind in ("event", "volume")]
    if not listed:
        return []
    src = (
        exp.select(
            col("cid", "rv"),
            col("slot", "rv"),
            col("value", "rv"),
            col("ids", "rv"),
            col("n_count", "rv"),
            _as(col("row_no", "b"), "row_no"),
        )
        .from_(_as(exp.to_table("rv"), "rv"))
        .join(
            _as(exp.to_table("base"), "b"),
            on=exp.EQ(this=col("contact_id", "b"), expression=col("cid", "rv")),
        )
    )
    volumes = [lit(c.index) for c in listed if c.kind == "volume"]
    count: exp.Expr | None = None
    if volumes:
        in_volumes = exp.In(this=col("slot"), expressions=volumes)
        count = _case([(in_volumes, exp.cast(col("n_count"), "BIGINT"))])
    return [
        Row(
            _as(exp.Subquery(this=src), "x"),
            by_slot(listed, lambda c: c.score),
            by_slot(listed, lambda c: c.rule_id),
            by_slot(listed, lambda c: c.order),
            col("value"),
            exp.Not(this=exp.Is(this=col("value"), expression=exp.null())),
            ids=col("ids"),
            count=count,
            contact=col("cid"),
        )
    ]


def by_slot(listed: list[RuleColumn], value: Callable[[RuleColumn], Any]) -> exp.Expr:
    return _case(
        [(exp.EQ(this=col("slot"), expression=lit(c.index)), lit(value(c))) for c in listed]
    )


def bound_rows(cx: Context) -> list[Row]:
    """The ceiling's and the floor's adjustments, where they moved a score."""
    rows = []
    for i, (name, spec) in enumerate(cx.model.scores.items()):
        raw = col(f"raw_{name}")
        if spec.ceiling is not None:
            rows.append(
                Row(
                    "scored",
                    name,
                    "ceiling",
                    i * 1_000_000 + 999_998,
                    exp.Sub(this=dbl(spec.ceiling), expression=raw.copy()),
                    exp.GT(this=raw.copy(), expression=dbl(spec.ceiling)),
                )
            )
        if spec.floor is not None:
            below: exp.Expr = exp.LT(this=raw.copy(), expression=dbl(spec.floor))
            if spec.ceiling is not None:
                below = _and(below, exp.LTE(this=raw.copy(), expression=dbl(spec.ceiling)))
            rows.append(
                Row(
                    "scored",
                    name,
                    "floor",
                    i * 1_000_000 + 999_999,
                    exp.Sub(this=dbl(spec.floor), expression=raw.copy()),
                    below,
                )
            )
    return rows
