"""The language's steps as SQL fragments, one function per step.

Each function here is the SQL of one step of docs/model-language.md and carries
the name of its Python home in :mod:`leadscore.rules.evaluate` (or
:mod:`leadscore.rules.matchers`), so the two interpreters read side by side:

=====================  ==============================  ==========================
step                   Python (rules/)                 SQL (here)
=====================  ==============================  ==========================
match                  ``Scorer._matches``             :func:`matches`
place weight           ``matchers.compile_place``      :func:`points_with_place`
decay                  ``decay``                       :func:`decay`
window                 ``_kept`` (within_days)         :func:`window_of`,
                                                       :func:`in_window`
first-time/max-count   ``_kept``                       :func:`kept_by_rank`
caps                   ``_capped``                     :func:`capped`
tiers                  ``tier_of``                     :func:`tier_of`
day counts             ``day_number``                  :func:`day_number`
inactivity             ``inactive``                    :func:`inactive`
surge                  ``is_surging``                  :func:`is_surging`
bounds                 ``bounded``                     :func:`bounded`
grades                 ``grade_of``                    :func:`grade_of`,
                                                       :func:`combined_grade`
stages                 ``Scorer._stage``, ``_holds``   :func:`stage_of`,
                                                       :func:`holds`
=====================  ==============================  ==========================

The plans (:mod:`~leadscore.compile.plan_wide`, :mod:`~leadscore.compile.plan_long`,
:mod:`~leadscore.compile.plan_result`, :mod:`~leadscore.compile.plan_explain`)
decide where each fragment is evaluated (per rule-map row, per event, per contact).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlglot import exp

from leadscore.compile.conditions import FieldReader, place_weight, true_, where_predicate
from leadscore.compile.sqlexp import all_of as _and
from leadscore.compile.sqlexp import any_of as _or
from leadscore.compile.sqlexp import case as _case
from leadscore.compile.sqlexp import paren as _paren
from leadscore.compile.values import dbl, lit
from leadscore.spec.model import (
    EventRule,
    InactivityRule,
    PlaceTable,
    Score,
    ScoringModel,
    StageCondition,
    Surge,
    VolumeRule,
)

Rule = EventRule | VolumeRule | InactivityRule


def null_double() -> exp.Expr:
    return exp.cast(exp.null(), "DOUBLE")


def coalesce0(x: exp.Expr) -> exp.Expr:
    return exp.func("COALESCE", x, dbl(0))


# -- match and place weight ------------------------------------------------------
def matches(rule: Rule, reader: FieldReader) -> list[exp.Expr]:
    """The rule's event predicates: its types (``on``) and property tests (``where``)."""
    reader.rule_id = rule.id
    conds: list[exp.Expr] = []
    if rule.on is not None:
        type_text = reader.text("type")
        conds.append(true_(exp.In(this=type_text, expressions=[lit(t) for t in rule.on])))
    if rule.where:
        conds.append(true_(where_predicate(rule.where, reader, rule.id)))
    return conds


def points_with_place(
    rule: Rule, places: Mapping[str, PlaceTable], reader: FieldReader
) -> exp.Expr:
    """An event rule's points times its place weight (0 for volume and inactivity rules)."""
    if not isinstance(rule, EventRule):
        return dbl(0)
    pw: exp.Expr = dbl(rule.points)
    if rule.place is not None:
        pw = exp.Mul(this=pw, expression=_paren(place_weight(places[rule.place], reader)))
    return pw


# -- decay and window --------------------------------------------------------------
def half_life_decay(age: exp.Expr, half_life: exp.Expr) -> exp.Expr:
    return exp.Pow(this=dbl(0.5), expression=exp.Div(this=age, expression=half_life))


def linear_decay(age: exp.Expr, decay_days: exp.Expr) -> exp.Expr:
    return exp.Greatest(
        this=dbl(0),
        expressions=[exp.Sub(this=dbl(1), expression=exp.Div(this=age, expression=decay_days))],
    )


def decay(rule: Any, age: exp.Expr) -> exp.Expr | None:
    """How much of an event's points are left at ``age`` days; None: no decay."""
    if not isinstance(rule, EventRule):
        return None
    if rule.half_life_days is not None:
        return half_life_decay(age, dbl(rule.half_life_days))
    if rule.decay_days is not None:
        return linear_decay(age, dbl(rule.decay_days))
    return None


def decayed(points: exp.Expr, rule: Any, age: exp.Expr) -> exp.Expr:
    """``points`` times the rule's decay at ``age`` (the evaluator's ``_points``)."""
    factor = decay(rule, age)
    return points if factor is None else exp.Mul(this=points, expression=factor)


def window_of(rule: Any) -> float | None:
    """The days an event counts for: within_days, or inactive_days for inactivity."""
    if isinstance(rule, EventRule | VolumeRule):
        return rule.within_days
    return float(rule.inactive_days)


def in_window(age: exp.Expr, days: float | None) -> exp.Expr:
    return exp.true() if days is None else exp.LTE(this=age, expression=dbl(days))


# -- first-time/max-count, caps, tiers ------------------------------------------
def kept_by_rank(rule: EventRule, rn: exp.Expr, in_win: exp.Expr) -> exp.Expr:
    """first_time_only keeps the first event (if in the window); max_count the last n."""
    if rule.first_time_only:
        return _and(exp.EQ(this=rn, expression=lit(1)), in_win)
    return _and(in_win, exp.LTE(this=rn, expression=lit(rule.max_count)))


def capped(rule: EventRule, total: exp.Expr) -> exp.Expr:
    """The rule's total held within +-max_points (``_capped``)."""
    if rule.max_points is None:
        return total
    m = rule.max_points
    # total is never NULL here (callers coalesce), so GREATEST/LEAST cannot skip it.
    return exp.Greatest(this=dbl(-m), expressions=[exp.Least(this=dbl(m), expressions=[total])])


def listed_points(kept_any: exp.Expr, total: exp.Expr) -> exp.Expr:
    """An event rule's contribution: its points when it kept an event and they are not 0."""
    return _case([(_and(kept_any, exp.NEQ(this=total, expression=dbl(0))), total.copy())])


def tier_of(rule: VolumeRule, count: exp.Expr) -> exp.Expr:
    """The points of the highest tier the count reaches (NULL: none, or 0 points)."""
    return _case(
        [
            (
                exp.GTE(this=count.copy(), expression=lit(t.at_least)),
                dbl(t.points) if t.points != 0 else null_double(),
            )
            for t in reversed(rule.tiers)
        ]
    )


def day_number(ts_us: exp.Expr) -> exp.Expr:
    """The UTC day of a timestamp (``floor(ts / DAY)``), for ``count: days``."""
    seconds = exp.Div(this=exp.cast(ts_us, "DOUBLE"), expression=dbl(1e6))
    return exp.Floor(this=exp.Div(this=seconds, expression=dbl(86_400)))


# -- inactivity and surge ---------------------------------------------------------
def inactive(rule: InactivityRule, n_recent: exp.Expr) -> exp.Expr:
    """The rule's points when no matching event is in its window (NULL otherwise)."""
    if rule.points == 0:
        return null_double()
    recent = exp.GT(this=coalesce0(n_recent), expression=lit(0))
    return _case([(exp.Not(this=recent), dbl(rule.points))])


def is_surging(surge: Surge | None, surge_points: exp.Expr) -> exp.Expr:
    if surge is None:
        return exp.false()
    return exp.GTE(this=surge_points, expression=dbl(surge.min_points))


# -- bounds, grades, stages ------------------------------------------------------
def bounded(spec: Score, raw: exp.Expr) -> exp.Expr:
    """The raw sum held between the score's floor and ceiling."""
    whens: list[tuple[exp.Expr, exp.Expr]] = []
    if spec.ceiling is not None:
        whens.append((exp.GT(this=raw.copy(), expression=dbl(spec.ceiling)), dbl(spec.ceiling)))
    if spec.floor is not None:
        whens.append((exp.LT(this=raw.copy(), expression=dbl(spec.floor)), dbl(spec.floor)))
    return _case(whens, raw.copy()) if whens else raw.copy()


def grade_of(grades: Mapping[str, float | None] | None, value: exp.Expr) -> exp.Expr:
    """The first band whose threshold the value reaches; a null band catches the rest."""
    if not grades:
        return exp.cast(exp.null(), "TEXT")
    whens = []
    default: exp.Expr | None = None
    for label, threshold in grades.items():
        if threshold is None:
            default = lit(label)
        else:
            whens.append((exp.GTE(this=value.copy(), expression=dbl(threshold)), lit(label)))
    if not whens:
        return default if default is not None else exp.cast(exp.null(), "TEXT")
    return _case(whens, default)


def combined_grade(model: ScoringModel, grades: Mapping[str, exp.Expr]) -> exp.Expr:
    """The listed scores' grades joined ("A4"); NULL when one of them has none."""
    if not model.combined_grade:
        return exp.cast(exp.null(), "TEXT")
    parts = [grades[n].copy() for n in model.combined_grade]
    any_null = _or(*[exp.Is(this=p.copy(), expression=exp.null()) for p in parts])
    joined = parts[0]
    for p in parts[1:]:
        joined = exp.DPipe(this=joined, expression=p, safe=True)
    if len(parts) == 1:
        joined = exp.cast(joined, "TEXT")
    return _case([(any_null, exp.cast(exp.null(), "TEXT"))], joined)


def holds(
    cond: StageCondition,
    values: Mapping[str, exp.Expr],
    grades: Mapping[str, exp.Expr],
    combined: exp.Expr,
    surging: exp.Expr,
) -> exp.Expr:
    """One lifecycle condition (``_holds``)."""
    if cond.flag is not None:
        return surging.copy() if cond.flag else exp.Not(this=_paren(surging.copy()))
    if cond.labels is not None:
        grade = combined if cond.key == "grade" else grades[cond.key.removesuffix("_grade")]
        return true_(exp.In(this=grade.copy(), expressions=[lit(x) for x in cond.labels]))
    ops = {">=": exp.GTE, ">": exp.GT, "<=": exp.LTE, "<": exp.LT, "==": exp.EQ}
    assert cond.number is not None
    return ops[cond.op or ">="](this=values[cond.key].copy(), expression=dbl(cond.number))


def stage_of(
    model: ScoringModel,
    values: Mapping[str, exp.Expr],
    grades: Mapping[str, exp.Expr],
    combined: exp.Expr,
    surging: exp.Expr,
) -> exp.Expr:
    """The last lifecycle stage whose conditions all hold; "lead" when none does."""
    stage_whens: list[tuple[exp.Expr, exp.Expr]] = []
    for name, conditions in reversed(list(model.lifecycle.items())):
        conds = [holds(cond, values, grades, combined, surging) for cond in conditions]
        stage_whens.append((_and(*conds) if len(conds) > 1 else conds[0], lit(name)))
    if not stage_whens:
        return lit("lead")
    return _case(stage_whens, lit("lead"))
