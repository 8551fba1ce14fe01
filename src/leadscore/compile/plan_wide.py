"""The wide plan, for scores without explanations: one pass, one GROUP BY contact.

    keys      DISTINCT (type, props...) over the events
    keymap    per key: p<i> for every event-driven rule (+ h, the key hash)
    ev        events JOIN keymap: (contact, ts, age, p<i>...)
    wide      per contact: sums / counts per rule  (GROUP BY contact)
    evs, surge  the last surge days only: the surge sums
    rev, r_*  the long plan (:mod:`.plan_long`) for the ranked rules only
    pc        per contact: one column per event-driven rule (caps, tiers)

Each event row gets one column per rule, ``p<i>`` = points x place weight when
the rule matches, else NULL; the predicates read the event's own columns, which
DuckDB evaluates once per dictionary entry of a Parquet column rather than per
row. One GROUP BY contact then sums each rule's decayed points (and counts) with
CASE filters, so there is no (event, rule) fan-out and no join to a rule map.
first_time_only and max_count rules join the same GROUP BY when
:meth:`Context.foldable`; the others (with a place, or max_count where the dialect
has no top-n aggregate) take the long path, over a second, filtered scan of just
their events, where ROW_NUMBER picks the events they count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from leadscore.compile import steps
from leadscore.compile.conditions import FieldReader
from leadscore.compile.context import DAY_US, Context, RuleColumn
from leadscore.compile.plan_long import Ctes, col, long_ctes, union_all
from leadscore.compile.sqlexp import alias as _as
from leadscore.compile.sqlexp import all_of as _and
from leadscore.compile.sqlexp import any_of as _or
from leadscore.compile.sqlexp import case as _case
from leadscore.compile.values import dbl, lit
from leadscore.spec.model import EventRule, VolumeRule


@dataclass
class Wide:
    """What the rules add to the plan: aggregates, per-contact values, surge parts."""

    aggs: list[exp.Expr] = field(default_factory=lambda: [col("cid")])
    # Surge sums read only the last few days: a separate, time-filtered aggregate
    # instead of one more CASE per rule over every event.
    surge_aggs: list[exp.Expr] = field(default_factory=lambda: [col("cid")])
    out: dict[int, exp.Expr] = field(default_factory=dict)
    surge_parts: list[exp.Expr] = field(default_factory=list)


class EventKeys:
    """How events meet the key map: raw values under a hash join, else COALESCE(text, '')."""

    def __init__(self, cx: Context, key_cols: list[str]):
        self.cx, self.key_cols = cx, key_cols
        # With a hash join the key is the raw values: NULL and '' then make two rule-map
        # rows with the same points, and no event pays for a COALESCE per key column.
        self.hashed = cx.d.supports_key_hash

    def key(self, alias: str, name: str) -> exp.Expr:
        if self.hashed and self.cx.ek[name] != "float":  # -0.0 and 0.0 hash alike
            return exp.column(name, table=alias, quoted=True)
        return self.cx.join_key(alias, name)

    def join(self, alias: str) -> exp.Expr:
        event_keys = [self.key(alias, k) for k in self.key_cols]
        if self.hashed:
            return exp.EQ(this=col("h", "m"), expression=self.cx.d.key_hash(event_keys))
        return _and(
            *[exp.EQ(this=k, expression=col(f"k_{i}", "m")) for i, k in enumerate(event_keys)]
        )


def wide_ctes(cx: Context) -> Ctes:
    """The CTEs of the wide plan, up to ``pc`` (one column per event-driven rule)."""
    folded = [c for c in cx.ranked_slots if cx.foldable(cx.rule(c))]
    ranked = [c for c in cx.ranked_slots if c not in folded]
    plain = [c for c in cx.event_slots if c not in ranked]
    keys = EventKeys(cx, ["type", *cx.props()])
    wide = Wide()
    for c in plain:
        add_rule(cx, wide, c, folded=c in folded)
    ctes: Ctes = [
        ("keys", cx.keys_select(keys.key_cols)),
        ("keymap", keymap(cx, keys)),
        ("ev", scan(cx, keys, plain, with_eid=False)),
        ("wide", exp.select(*wide.aggs).from_("ev").group_by(col("cid"))),
    ]
    surge = cx.model.surge
    with_surge = surge is not None and len(wide.surge_aggs) > 1
    if surge is not None and with_surge:
        ctes.append(("evs", scan(cx, keys, plain, with_eid=False, recent_days=surge.days)))
        ctes.append(("surge", exp.select(*wide.surge_aggs).from_("evs").group_by(col("cid"))))
    if ranked:
        ctes += ranked_ctes(cx, keys, ranked)
    ctes.append(("pc", per_contact(cx, wide, ranked, with_surge)))
    return ctes


def keymap(cx: Context, keys: EventKeys) -> exp.Expr:
    """The rule map, wide: one row per distinct (type, props...) with p<i> for every rule."""
    reader = FieldReader("k", cx.ek, cx.d, "events")
    km_cols: list[exp.Expr] = [_as(keys.key("k", k), f"k_{i}") for i, k in enumerate(keys.key_cols)]
    for c in cx.event_slots:
        rule = cx.rule(c)
        conds = steps.matches(rule, reader)
        pw = steps.points_with_place(rule, cx.model.places, reader)
        m = _and(*conds) if len(conds) > 1 else (conds[0] if conds else None)
        km_cols.append(_as(_case([(m, pw)]) if m is not None else pw, f"p{c.index}"))
    plain: exp.Expr = exp.select(*km_cols).distinct().from_(_as(exp.to_table("keys"), "k"))
    if not keys.hashed:
        return plain
    # Join on one 64-bit hash of the key instead of several strings per event; two
    # keys of one data set with the same hash stop the query instead of mixing up.
    hashed = cx.d.key_hash([col(f"k_{i}") for i in range(len(keys.key_cols))])
    with_hash = exp.select(exp.Star(), _as(hashed, "h")).from_(_as(exp.Subquery(this=plain), "km"))
    dup = exp.Window(this=exp.Count(this=exp.Star()), partition_by=[col("h")])
    counted = exp.select(exp.Star(), _as(dup, "n_same")).from_(
        _as(exp.Subquery(this=with_hash), "kh")
    )
    collision = cx.d.raise_error("leadscore: event key hash collision")
    return (
        exp.select(exp.Star())
        .from_(_as(exp.Subquery(this=counted), "kd"))
        .where(_case([(exp.GT(this=col("n_same"), expression=lit(1)), collision)], exp.true()))
    )


def scan(
    cx: Context,
    keys: EventKeys,
    slots: list[RuleColumn],
    with_eid: bool,
    recent_days: float | None = None,
) -> exp.Select:
    """Events joined to the key map (``keymap_r`` for the ranked rules), with their age."""
    cols: list[exp.Expr] = [_as(cx.cid_key("e", cx.ek), "cid"), _as(cx.ts_us("e"), "ts_us")]
    if with_eid:
        cols.append(_as(cx.eid("e"), "eid"))
    cols += [_as(col(f"p{c.index}", "m"), f"p{c.index}") for c in slots]
    source = "keymap_r" if with_eid else "keymap"
    inner = (
        exp.select(*cols)
        .from_(_as(cx.events_table(), "e"))
        .join(_as(exp.to_table(source), "m"), on=keys.join("e"))
    )
    when: exp.Expr = exp.LTE(this=col("ts_us", "e2"), expression=cx.asof_us.copy())
    if recent_days is not None:
        # A superset by a second; the exact age test is in the aggregate.
        lead = int(recent_days * DAY_US) + 1_000_000
        since = exp.Sub(this=cx.asof_us.copy(), expression=exp.cast(lit(lead), "BIGINT"))
        when = _and(when, exp.GTE(this=col("ts_us", "e2"), expression=since))
        raw = cx.raw_since(lead)
        if raw is not None:
            inner = inner.where(raw, copy=False)
    return (
        exp.select(exp.Star(), _as(cx.age_days(col("ts_us", "e2")), "age"))
        .from_(_as(exp.Subquery(this=inner), "e2"))
        .where(when)
    )


def add_rule(cx: Context, wide: Wide, c: RuleColumn, folded: bool) -> None:
    """One rule's aggregates in the wide GROUP BY and its per-contact value."""
    rule = cx.rule(c)
    age = col("age")
    cond: exp.Expr = exp.Not(this=exp.Is(this=col(f"p{c.index}"), expression=exp.null()))
    win = steps.window_of(rule)
    if win is not None and not (folded and rule.first_time_only):
        cond = _and(cond, exp.LTE(this=age.copy(), expression=dbl(win)))
    surge = cx.model.surge
    in_surge = surge is not None and c.score == surge.score
    if folded:
        part = folded_rule(cx, wide, c, cond, in_surge)
        if part is not None:
            wide.surge_parts.append(part)
    elif isinstance(rule, EventRule):
        event_rule(cx, wide, c, cond, in_surge)
    else:
        n_i = col(f"n{c.index}", "w")
        counted = col(f"p{c.index}") if win is None else _case([(cond.copy(), lit(1))])
        wide.aggs.append(_as(exp.Count(this=counted), f"n{c.index}"))
        if isinstance(rule, VolumeRule):
            wide.out[c.index] = volume_rule(wide, c, rule, cond, n_i)
        else:
            wide.out[c.index] = n_i.copy()


def event_rule(cx: Context, wide: Wide, c: RuleColumn, cond: exp.Expr, in_surge: bool) -> None:
    """An event rule's decayed sum (and surge sum), capped: its contribution."""
    rule: EventRule = cx.rule(c)
    i, age = c.index, col("age")
    p = col(f"p{i}")
    value = steps.decayed(p.copy(), rule, age.copy())
    # NULL p (rule not matched) leaves a product NULL, which SUM skips; the CASE is
    # kept where it saves work (decay) or is needed (window).
    plain_sum = steps.decay(rule, age.copy()) is None and steps.window_of(rule) is None
    summed = value.copy() if plain_sum else _case([(cond.copy(), value.copy())])
    wide.aggs.append(_as(exp.Sum(this=summed), f"t{i}"))
    # The sum is NULL exactly when no event was kept (every kept value is a number).
    t_i = col(f"t{i}", "w")
    kept_any = exp.Not(this=exp.Is(this=t_i.copy(), expression=exp.null()))
    wide.out[i] = steps.listed_points(kept_any, steps.capped(rule, steps.coalesce0(t_i)))
    if in_surge:
        assert cx.model.surge is not None
        recent = _and(cond.copy(), exp.LTE(this=age.copy(), expression=dbl(cx.model.surge.days)))
        wide.surge_aggs.append(_as(exp.Sum(this=_case([(recent, value.copy())])), f"s{i}"))
        s_i = col(f"s{i}", "sg")
        wide.surge_parts.append(
            steps.coalesce0(_case([(kept_any.copy(), steps.capped(rule, steps.coalesce0(s_i)))]))
        )


def volume_rule(
    wide: Wide, c: RuleColumn, rule: VolumeRule, cond: exp.Expr, n_i: exp.Expr
) -> exp.Expr:
    """A volume rule's tier, by events in the window or by distinct days."""
    count: exp.Expr = n_i.copy()
    if rule.count == "days":
        day = steps.day_number(col("ts_us"))
        days = exp.Count(this=exp.Distinct(expressions=[_case([(cond.copy(), day)])]))
        wide.aggs.append(_as(days, f"d{c.index}"))
        count = col(f"d{c.index}", "w")
    return steps.tier_of(rule, count)


def folded_rule(
    cx: Context, wide: Wide, c: RuleColumn, cond: exp.Expr, in_surge: bool
) -> exp.Expr | None:
    """Aggregates and contribution of a :meth:`Context.foldable` rule; returns its surge part.

    ``cond`` is "the rule matches" (and, for max_count, "within its window");
    ``in_surge`` when the rule's score is the surge score.
    """
    if cx.rule(c).first_time_only:
        return first_time_rule(cx, wide, c, cond, in_surge)
    return max_count_rule(cx, wide, c, cond, in_surge)


def first_time_rule(
    cx: Context, wide: Wide, c: RuleColumn, cond: exp.Expr, in_surge: bool
) -> exp.Expr | None:
    """first_time_only: the first matching event's timestamp, then its decayed points."""
    rule: EventRule = cx.rule(c)
    i = c.index
    first = col(f"f{i}", "w")
    wide.aggs.append(_as(exp.Min(this=_case([(cond, col("ts_us"))])), f"f{i}"))
    first_age = cx.age_days(first)
    kept: exp.Expr = exp.Not(this=exp.Is(this=first.copy(), expression=exp.null()))
    win = steps.window_of(rule)
    if win is not None:
        kept = _and(kept, exp.LTE(this=first_age.copy(), expression=dbl(win)))
    total = steps.decayed(dbl(rule.points), rule, first_age.copy())
    wide.out[i] = steps.listed_points(kept, steps.capped(rule, total))
    surge = cx.model.surge
    if not in_surge or surge is None:
        return None
    first_recent = _case(
        [(exp.LTE(this=first_age.copy(), expression=dbl(surge.days)), total.copy())], dbl(0)
    )
    return steps.coalesce0(_case([(kept.copy(), steps.capped(rule, first_recent))]))


def max_count_rule(
    cx: Context, wide: Wide, c: RuleColumn, cond: exp.Expr, in_surge: bool
) -> exp.Expr | None:
    """max_count: the n largest decayed values (smallest for negative points), summed."""
    rule: EventRule = cx.rule(c)
    i, n, age = c.index, rule.max_count, col("age")
    assert n is not None
    value = steps.decayed(col(f"p{i}"), rule, age.copy())
    top = cx.d.top_n(_case([(cond, value)]), n, rule.points >= 0, cond.copy())
    wide.aggs.append(_as(top, f"m{i}"))
    total = steps.coalesce0(cx.d.list_sum(col(f"m{i}", "w")))
    # The list is NULL exactly when no event was kept (the FILTER passed no row).
    kept = exp.Not(this=exp.Is(this=col(f"m{i}", "w"), expression=exp.null()))
    wide.out[i] = steps.listed_points(kept, steps.capped(rule, total))
    surge = cx.model.surge
    if not in_surge or surge is None:
        return None
    # The events of the last surge days are the most recent ones: all of them are
    # kept when there are at most max_count, else every kept event is one of them.
    recent = _and(cond.copy(), exp.LTE(this=age.copy(), expression=dbl(surge.days)))
    wide.surge_aggs.append(_as(exp.Sum(this=_case([(recent, value.copy())])), f"s{i}"))
    wide.surge_aggs.append(_as(exp.Count(this=_case([(recent.copy(), lit(1))])), f"c{i}"))
    at_most_n = exp.LTE(this=steps.coalesce0(col(f"c{i}", "sg")), expression=lit(n))
    in_recent = _case([(at_most_n, steps.coalesce0(col(f"s{i}", "sg")))], total.copy())
    return steps.coalesce0(_case([(kept.copy(), steps.capped(rule, in_recent))]))


def ranked_ctes(cx: Context, keys: EventKeys, ranked: list[RuleColumn]) -> Ctes:
    """The rules that need row numbers: their events only, then the long plan's steps."""
    age = col("age")
    branches: list[exp.Select] = []
    for c in ranked:
        rule = cx.rule(c)
        p = col(f"p{c.index}")
        branches.append(
            exp.select(
                col("cid"),
                col("ts_us"),
                _as(lit(c.index), "slot"),
                age.copy(),
                _as(steps.decayed(p.copy(), rule, age.copy()), "pts"),
                _as(steps.in_window(age.copy(), steps.window_of(rule)), "in_win"),
                col("eid"),
            )
            .from_("rev")
            .where(exp.Not(this=exp.Is(this=p.copy(), expression=exp.null())))
        )
    any_ranked = [
        exp.Not(this=exp.Is(this=col(f"p{c.index}"), expression=exp.null())) for c in ranked
    ]
    keymap_r = (
        exp.select(exp.Star())
        .from_("keymap")
        .where(_or(*any_ranked) if len(any_ranked) > 1 else any_ranked[0])
    )
    return [
        ("keymap_r", keymap_r),
        ("rev", scan(cx, keys, ranked, with_eid=True)),
        *long_ctes(cx, explain=False, slots=ranked, hits_cte=union_all(branches), prefix="r_"),
    ]


def per_contact(cx: Context, wide: Wide, ranked: list[RuleColumn], with_surge: bool) -> exp.Select:
    """pc: one column per event-driven rule, and the surge points."""
    pc_cols: list[exp.Expr] = [col("cid", "w")]
    for c in cx.event_slots:
        if c in ranked:
            pc_cols.append(_as(col(c.column, "r"), c.column))
        elif c.kind == "inactivity":
            pc_cols.append(_as(wide.out[c.index], f"w{c.index}"))
        else:
            pc_cols.append(_as(wide.out[c.index], c.column))
    surge_parts = list(wide.surge_parts)
    if ranked:
        surge_parts.append(steps.coalesce0(col("surge_points", "r")))
    pc_cols.append(_as(sum_of(surge_parts), "surge_points"))
    pc = exp.select(*pc_cols).from_(_as(exp.to_table("wide"), "w"))
    if with_surge:
        pc = pc.join(
            _as(exp.to_table("surge"), "sg"),
            on=exp.EQ(this=col("cid", "sg"), expression=col("cid", "w")),
            join_type="left",
        )
    if ranked:
        pc = pc.join(
            _as(exp.to_table("r_pc"), "r"),
            on=exp.EQ(this=col("cid", "r"), expression=col("cid", "w")),
            join_type="left",
        )
    return pc


def sum_of(parts: list[exp.Expr]) -> exp.Expr:
    if not parts:
        return dbl(0)
    total = parts[0]
    for part in parts[1:]:
        total = exp.Add(this=total, expression=part)
    return total
