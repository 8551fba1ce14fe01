"""The long plan: one row per matching (event, rule), which also yields the evidence.

    keys      DISTINCT (type, props...) over the events
    rulemap   per rule: the keys it matches, with its constants (UNION ALL)
    hits      events JOIN rulemap: (contact, slot, ts, age, points, in window)
    ranked    only rules with first_time_only / max_count: row numbers
    kept      hits plus ranked, with the "kept" flag of the language's steps 2-4
    agg       per (contact, slot): sum, surge sum, counts  (GROUP BY)
    rv        per (contact, slot): the rule's contribution (caps, tiers)
    pc        per contact: one column per event-driven rule  (GROUP BY)

The explain query uses all of it; the wide plan (:mod:`.plan_wide`) reuses it from
``ranked`` on for the rules that need row numbers, over its own ``hits``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from leadscore.compile import steps
from leadscore.compile.conditions import FieldReader
from leadscore.compile.context import Context, RuleColumn
from leadscore.compile.sqlexp import alias as _as
from leadscore.compile.sqlexp import all_of as _and
from leadscore.compile.sqlexp import any_of as _or
from leadscore.compile.sqlexp import case as _case
from leadscore.compile.sqlexp import paren as _paren
from leadscore.compile.values import dbl, lit
from leadscore.spec.model import EventRule, VolumeRule

Ctes = list[tuple[str, exp.Expr]]


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def union_all(selects: list[exp.Select]) -> exp.Expr:
    union: exp.Expr = selects[0]
    for b in selects[1:]:
        union = exp.union(union, b, distinct=False, copy=False)
    return union


def long_ctes(
    cx: Context,
    explain: bool,
    slots: list[RuleColumn] | None = None,
    hits_cte: exp.Expr | None = None,
    prefix: str = "",
) -> Ctes:
    """The long (contact, rule) shape: every matching (event, rule) pair is a row.

    ``slots`` limits it to some rules and ``hits_cte`` replaces the rule-map join
    (the wide plan uses both for the rules that need row numbers); CTE names get
    ``prefix``.
    """
    slots = cx.event_slots if slots is None else slots
    ranked_slots = [c for c in cx.ranked_slots if c in slots]
    need_eid = explain or bool(ranked_slots)

    def n(name: str) -> str:
        return prefix + name

    if hits_cte is None:
        key_cols = ["type", *cx.props()]
        ctes: Ctes = [
            ("keys", cx.keys_select(key_cols)),
            ("rulemap", rulemap(cx, slots, key_cols)),
            ("hits", hits(cx, key_cols, need_eid)),
        ]
    else:
        ctes = [(n("hits"), hits_cte)]
    base_cols = ["cid", "ts_us", "slot", "age", "pts", "in_win"] + (["eid"] if need_eid else [])
    ctes += kept(cx, ranked_slots, base_cols, n)
    ctes.append((n("agg"), aggregate(cx, slots, explain, n)))
    ctes.append((n("rv"), contributions(cx, slots, explain, n)))
    ctes.append((n("pc"), per_contact(slots, explain, n)))
    return ctes


def rulemap(cx: Context, slots: list[RuleColumn], key_cols: list[str]) -> exp.Expr:
    """Per rule, the event keys it matches with its constants (points, decay, window)."""
    reader = FieldReader("k", cx.ek, cx.d, "events")
    branches: list[exp.Select] = []
    for c in slots:
        rule = cx.rule(c)
        conds = steps.matches(rule, reader)
        pw = steps.points_with_place(rule, cx.model.places, reader)
        hl, dd = steps.null_double(), steps.null_double()
        if isinstance(rule, EventRule):
            if rule.half_life_days is not None:
                hl = dbl(rule.half_life_days)
            if rule.decay_days is not None:
                dd = dbl(rule.decay_days)
        days = steps.window_of(rule)
        win = steps.null_double() if days is None else dbl(days)
        select = exp.select(
            *[_as(cx.join_key("k", k), f"k_{i}") for i, k in enumerate(key_cols)],
            _as(lit(c.index), "slot"),
            _as(pw, "pw"),
            _as(hl, "hl"),
            _as(dd, "dd"),
            _as(win, "win"),
        ).from_(_as(exp.to_table("keys"), "k"))
        if conds:
            select = select.where(_and(*conds) if len(conds) > 1 else conds[0], copy=False)
        branches.append(select)
    return exp.select("*").distinct().from_(_as(exp.Subquery(this=union_all(branches)), "u"))


def hits(cx: Context, key_cols: list[str], need_eid: bool) -> exp.Select:
    """Events joined to the rule map: each (event, rule) with its age, points and window."""
    # The timestamp conversion is computed once per event in a subquery.
    e2_cols: list[exp.Expr] = [
        _as(cx.cid("e", cx.ek), "cid"),
        _as(cx.ts_us("e"), "ts_us"),
        *[_as(exp.column(k, table="e", quoted=True), k) for k in key_cols],
    ]
    if need_eid:
        e2_cols.append(_as(cx.eid("e"), "eid"))
    e2 = exp.select(*e2_cols).from_(_as(cx.events_table(), "e"))
    on_e2 = [
        exp.EQ(this=cx.join_key("e2", k), expression=col(f"k_{i}", "m"))
        for i, k in enumerate(key_cols)
    ]
    age = cx.age_days(col("ts_us", "e2"))
    decay = _case(
        [
            (
                exp.Not(this=exp.Is(this=col("hl", "m"), expression=exp.null())),
                steps.half_life_decay(age.copy(), col("hl", "m")),
            ),
            (
                exp.Not(this=exp.Is(this=col("dd", "m"), expression=exp.null())),
                steps.linear_decay(age.copy(), col("dd", "m")),
            ),
        ],
        dbl(1),
    )
    in_win = _or(
        exp.Is(this=col("win", "m"), expression=exp.null()),
        exp.LTE(this=age.copy(), expression=col("win", "m")),
    )
    hit_cols: list[exp.Expr] = [
        col("cid", "e2"),
        col("ts_us", "e2"),
        _as(col("slot", "m"), "slot"),
        _as(age, "age"),
        _as(exp.Mul(this=col("pw", "m"), expression=_paren(decay)), "pts"),
        _as(in_win, "in_win"),
    ]
    if need_eid:
        hit_cols.append(col("eid", "e2"))
    return (
        exp.select(*hit_cols)
        .from_(_as(exp.Subquery(this=e2), "e2"))
        .join(_as(exp.to_table("rulemap"), "m"), on=_and(*on_e2))
        .where(exp.LTE(this=col("ts_us", "e2"), expression=cx.asof_us.copy()))
    )


def kept(
    cx: Context, ranked_slots: list[RuleColumn], base_cols: list[str], n: Callable[[str], str]
) -> Ctes:
    """The "kept" flag: in the window, and for first-time/max-count rules, by row number."""
    plain = exp.select(*[col(c) for c in base_cols], _as(col("in_win"), "kept")).from_(n("hits"))
    if not ranked_slots:
        return [(n("kept"), plain)]
    plain = plain.where(
        exp.Not(this=exp.In(this=col("slot"), expressions=[lit(c.index) for c in ranked_slots]))
    )
    kept_whens = [
        (
            exp.EQ(this=col("slot"), expression=lit(c.index)),
            steps.kept_by_rank(cx.rule(c), col("rn"), col("in_win")),
        )
        for c in ranked_slots
    ]
    kept_ranked = exp.select(
        *[col(c) for c in base_cols], _as(_case(kept_whens, exp.false()), "kept")
    ).from_(n("ranked"))
    return [
        (n("ranked"), ranked(cx, ranked_slots, base_cols, n)),
        (n("kept"), exp.union(plain, kept_ranked, distinct=False, copy=False)),
    ]


def ranked(
    cx: Context, ranked_slots: list[RuleColumn], base_cols: list[str], n: Callable[[str], str]
) -> exp.Expr:
    """Row numbers of each rule's events: oldest first (first_time_only), newest first."""
    eid_order = cx.d.binary_text(col("eid"))
    rn_first = exp.Window(
        this=exp.RowNumber(),
        partition_by=[col("cid"), col("slot")],
        order=exp.Order(expressions=[exp.Ordered(this=col("ts_us")), exp.Ordered(this=eid_order)]),
    )
    rn_last = exp.Window(
        this=exp.RowNumber(),
        partition_by=[col("cid"), col("slot"), col("in_win")],
        order=exp.Order(
            expressions=[
                exp.Ordered(this=col("ts_us"), desc=True),
                exp.Ordered(this=eid_order.copy(), desc=True),
            ]
        ),
    )
    # Each rule needs one of the two orders: a window (a sort) per kind, over the
    # rows of the rules of that kind only.
    first_ids = [c.index for c in ranked_slots if cx.rule(c).first_time_only]
    last_ids = [c.index for c in ranked_slots if not cx.rule(c).first_time_only]
    parts: list[exp.Select] = []
    for ids, window in ((first_ids, rn_first), (last_ids, rn_last)):
        if ids:
            parts.append(
                exp.select(*[col(c) for c in base_cols], _as(window, "rn"))
                .from_(n("hits"))
                .where(exp.In(this=col("slot"), expressions=[lit(i) for i in ids]))
            )
    return union_all(parts)


def aggregate(
    cx: Context, slots: list[RuleColumn], explain: bool, n: Callable[[str], str]
) -> exp.Select:
    """Per (contact, rule): the kept points, the surge points, the counts (and evidence)."""
    days_slots = [c for c in cx.days_slots if c in slots]
    kept_col = col("kept")
    aggs: list[exp.Expr] = [
        col("cid"),
        col("slot"),
        _as(exp.Sum(this=_case([(kept_col, col("pts"))])), "total"),
        _as(exp.Sum(this=_case([(kept_col.copy(), lit(1))], lit(0))), "n_kept"),
        _as(exp.Sum(this=_case([(col("in_win"), lit(1))], lit(0))), "n_win"),
    ]
    surge = cx.model.surge
    if surge is not None:
        recent = _and(kept_col.copy(), exp.LTE(this=col("age"), expression=dbl(surge.days)))
        aggs.append(_as(exp.Sum(this=_case([(recent, col("pts"))])), "surge_total"))
    if days_slots:
        cond = _and(
            col("in_win"),
            exp.In(this=col("slot"), expressions=[lit(c.index) for c in days_slots]),
        )
        day = steps.day_number(col("ts_us"))
        aggs.append(_as(exp.Count(this=exp.Distinct(expressions=[_case([(cond, day)])])), "n_days"))
    if explain:
        aggs.append(_as(exp.Min(this=col("age")), "min_age"))
        volumes = [lit(c.index) for c in slots if c.kind == "volume"] or [lit(-1)]
        evidence_flag = _case(
            [(exp.In(this=col("slot"), expressions=volumes), col("in_win"))], kept_col.copy()
        )
        aggs.append(_as(cx.d.ordered_ids(col("eid"), col("ts_us"), evidence_flag), "ids"))
    return exp.select(*aggs).from_(n("kept")).group_by(col("cid"), col("slot"))


def contributions(
    cx: Context, slots: list[RuleColumn], explain: bool, n: Callable[[str], str]
) -> exp.Select:
    """rv: each event-driven rule's contribution (caps, tiers; NULL when not listed)."""
    days_slots = [c for c in cx.days_slots if c in slots]
    value_whens = []
    surge_whens = []
    surge = cx.model.surge
    for c in slots:
        rule = cx.rule(c)
        is_slot = exp.EQ(this=col("slot"), expression=lit(c.index))
        if isinstance(rule, EventRule):
            capped = steps.capped(rule, col("total"))
            n_kept = exp.GT(this=col("n_kept"), expression=lit(0))
            value_whens.append((is_slot, steps.listed_points(n_kept, capped)))
            if surge is not None and c.score == surge.score:
                surge_whens.append(
                    (
                        _and(is_slot.copy(), n_kept.copy()),
                        steps.capped(rule, steps.coalesce0(col("surge_total"))),
                    )
                )
        elif isinstance(rule, VolumeRule):
            count = col("n_days") if rule.count == "days" else col("n_win")
            value_whens.append((is_slot, steps.tier_of(rule, count)))
    rv_cols: list[exp.Expr] = [
        col("cid"),
        col("slot"),
        col("n_win"),
        _as(_case(value_whens) if value_whens else steps.null_double(), "value"),
        _as(_case(surge_whens) if surge_whens else steps.null_double(), "surge_value"),
    ]
    if explain:
        count_expr: exp.Expr = col("n_win")
        if days_slots:
            in_days = exp.In(this=col("slot"), expressions=[lit(c.index) for c in days_slots])
            count_expr = _case([(in_days, col("n_days"))], col("n_win"))
        rv_cols += [col("min_age"), col("ids"), _as(count_expr, "n_count")]
    return exp.select(*rv_cols).from_(n("agg"))


def per_contact(slots: list[RuleColumn], explain: bool, n: Callable[[str], str]) -> exp.Select:
    """pc: one column per event-driven rule (inactivity: its window count and last age)."""
    pc_cols: list[exp.Expr] = [col("cid")]
    for c in slots:
        is_slot = exp.EQ(this=col("slot"), expression=lit(c.index))
        if c.kind == "inactivity":
            pc_cols.append(_as(exp.Max(this=_case([(is_slot, col("n_win"))])), f"w{c.index}"))
            if explain:
                pc_cols.append(
                    _as(exp.Min(this=_case([(is_slot.copy(), col("min_age"))])), f"l{c.index}")
                )
        else:
            pc_cols.append(_as(exp.Max(this=_case([(is_slot, col("value"))])), c.column))
    pc_cols.append(_as(exp.Sum(this=col("surge_value")), "surge_points"))
    return exp.select(*pc_cols).from_(n("rv")).group_by(col("cid"))
