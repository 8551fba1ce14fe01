"""The contact side both plans end in: every rule's points, then bounds, grades, stage.

base      contacts LEFT JOIN pc LEFT JOIN quality: every rule's points
scored    raw sums
result    bounds, grades, combined grade, surge, lifecycle stage
"""

from __future__ import annotations

from sqlglot import exp

from leadscore.compile import steps
from leadscore.compile.conditions import condition_predicate, true_
from leadscore.compile.context import Context
from leadscore.compile.plan_long import Ctes, col
from leadscore.compile.plan_wide import sum_of
from leadscore.compile.sqlexp import alias as _as
from leadscore.compile.sqlexp import all_of as _and
from leadscore.compile.sqlexp import case as _case
from leadscore.compile.sqlexp import paren as _paren
from leadscore.compile.values import dbl, lit
from leadscore.spec.model import InactivityRule, ProfileRule


def rule_points(cx: Context) -> tuple[list[exp.Expr], list[exp.Expr]]:
    """Each rule's points column in base, and the explain plan's evidence columns.

    Building the profile rules' conditions registers the quality checks they read.
    """
    cols: list[exp.Expr] = [_as(cx.cid("c", cx.ck), "contact_id")]
    if cx.row_column is not None:
        cols.append(_as(exp.column(cx.row_column, table="c", quoted=True), "row_no"))
    else:
        cols.append(_as(lit(0), "row_no"))
    explain_extra: list[exp.Expr] = []
    for c in cx.columns:
        rule = cx.rule(c)
        if isinstance(rule, ProfileRule):
            reader = cx.contact_reader(rule.id)
            cond = true_(condition_predicate(rule.when, reader, cx.quality, rule.id))
            cols.append(_as(_case([(cond, dbl(rule.points))]), c.column))
            texts = [reader.text(f) for f in c.fields]
            explain_extra.append(_as(exp.Array(expressions=texts), f"t{c.index}"))
        elif isinstance(rule, InactivityRule):
            n_recent = exp.column(f"w{c.index}", table="pc")
            cols.append(_as(steps.inactive(rule, n_recent), c.column))
            explain_extra.append(_as(exp.column(f"l{c.index}", table="pc"), f"l{c.index}"))
        else:
            cols.append(_as(exp.column(c.column, table="pc"), c.column))
    if cx.event_slots:
        cols.append(_as(steps.coalesce0(exp.column("surge_points", table="pc")), "surge_points"))
    else:
        cols.append(_as(dbl(0), "surge_points"))
    return cols, explain_extra


def base_selects(cx: Context) -> tuple[exp.Select, exp.Select]:
    """base: contacts with every rule's points (and, for explain, evidence texts)."""
    cols, explain_extra = rule_points(cx)

    def make(extra: list[exp.Expr], explain: bool) -> exp.Select:
        select = exp.select(*cols, *extra).from_(_as(cx.contacts_table(), "c"))
        if cx.event_slots:
            # The explain plan keys pc by the contact id's text; the wide plan by cid_key.
            key = cx.cid("c", cx.ck) if explain else cx.cid_key("c", cx.ck)
            select = select.join(
                _as(exp.to_table("pc"), "pc"),
                on=exp.EQ(this=exp.column("cid", table="pc"), expression=key),
                join_type="left",
            )
        for f in sorted(cx.quality_fields):
            alias = cx.quality_alias(f)
            on = _and(
                exp.EQ(this=exp.column("field", table=alias), expression=lit(f)),
                exp.EQ(
                    this=exp.column("value", table=alias),
                    expression=cx.contact_reader(None).text(f),
                ),
            )
            table = exp.to_table(cx.tables.quality, dialect=cx.d.name)
            select = select.join(_as(table, alias), on=on, join_type="left")
        return select

    return make([], False), make(explain_extra, True)


def scored_select(cx: Context, source: str) -> exp.Select:
    """scored: base plus each score's raw sum (``raw_<score>``)."""
    cols: list[exp.Expr] = [exp.Star()]
    for name in cx.model.scores:
        parts = [steps.coalesce0(col(c.column)) for c in cx.columns if c.score == name]
        cols.append(_as(_paren(sum_of(parts)), f"raw_{name}"))
    return exp.select(*cols).from_(source)


def final_query(cx: Context, ctes: Ctes) -> exp.Expr:
    """The result: scores, grades, combined grade, stage, surge and every rule's points."""
    ctes = [*ctes, ("scored", scored_select(cx, "base"))]
    cols: list[exp.Expr] = [col("contact_id")]
    values: dict[str, exp.Expr] = {}
    grades: dict[str, exp.Expr] = {}
    for name, spec in cx.model.scores.items():
        values[name] = steps.bounded(spec, col(f"raw_{name}"))
        grades[name] = steps.grade_of(spec.grades, values[name])
    for name in cx.model.scores:
        cols += [_as(values[name].copy(), name), _as(grades[name].copy(), f"{name}_grade")]
    combined = steps.combined_grade(cx.model, grades)
    surging = steps.is_surging(cx.model.surge, col("surge_points"))
    stage = steps.stage_of(cx.model, values, grades, combined, surging)
    cols += [
        _as(combined, "grade"),
        _as(stage, "stage"),
        _as(surging.copy(), "surging"),
        col("surge_points"),
        *[col(c.column) for c in cx.columns],
    ]
    select = exp.select(*cols).from_("scored").order_by(col("row_no"), col("contact_id"))
    for name, q in ctes:
        select = select.with_(name, as_=q, copy=False)
    return select
