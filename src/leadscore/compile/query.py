"""A scoring model compiled to ONE SQL query, built as a sqlglot expression tree.

The query is "tuned" as DESIGN.md's batch notes ask: string predicates are
evaluated once per *distinct* combination of event type and the properties the
rules read (a few thousand rows, not tens of millions), giving a small rule map.
Two plans read that map:

Scores (``query``), the wide plan: the map has one row per key and one column
``p<i>`` per rule (points x place weight, NULL when the rule does not match).
Events join it 1:1 (DuckDB on one 64-bit hash of the key, other engines on the
key columns), and ONE GROUP BY contact sums every rule's decayed points with
CASE filters: no (event, rule) fan-out, no second aggregation over millions of
(contact, rule) groups. Rules that need row numbers (first_time_only,
max_count) take the long plan below over a second scan limited to their keys.

    keys      DISTINCT (type, props...) over the events
    keymap    per key: p<i> for every event-driven rule (+ h, the key hash)
    ev        events JOIN keymap: (contact, ts, age, p<i>...)
    wide      per contact: sums / counts per rule  (GROUP BY contact)
    rev, r_*  the long plan for the ranked rules only
    pc        per contact: one column per event-driven rule (caps, tiers)

Explanations (``explain_query``), the long plan, which also yields each rule's
evidence (event ids):

    keys      DISTINCT (type, props...) over the events
    rulemap   per rule: the keys it matches, with its constants (UNION ALL)
    hits      events JOIN rulemap: (contact, slot, ts, age, points, in window)
    ranked    only rules with first_time_only / max_count: row numbers
    kept      hits plus ranked, with the "kept" flag of the language's steps 2-4
    agg       per (contact, slot): sum, surge sum, counts  (GROUP BY)
    rv        per (contact, slot): the rule's contribution (caps, tiers)
    pc        per contact: one column per event-driven rule  (GROUP BY)

Both end in the same contact side:

    base      contacts LEFT JOIN pc LEFT JOIN quality: every rule's points
    scored    raw sums, bounds, grades
    result    combined grade, surge, lifecycle stage
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlglot import exp

from leadscore.compile.conditions import (
    FieldReader,
    condition_predicate,
    place_weight,
    true_,
    where_predicate,
)
from leadscore.compile.dialect import Dialect, get_dialect
from leadscore.compile.errors import CompileError
from leadscore.compile.sqlexp import alias as _as
from leadscore.compile.sqlexp import all_of as _and
from leadscore.compile.sqlexp import any_of as _or
from leadscore.compile.sqlexp import case as _case
from leadscore.compile.sqlexp import paren as _paren
from leadscore.compile.values import as_text, dbl, lit, trim_text
from leadscore.spec.model import (
    CHECKS,
    CheckCondition,
    EventRule,
    InactivityRule,
    ProfileRule,
    ScoringModel,
    StageCondition,
    VolumeRule,
)
from leadscore.spec.semantics import condition_fields

DAY_US = 86_400_000_000
# max_count rules up to this count are scored with a top-n heap per contact (see foldable).
FOLD_MAX_COUNT = 64
EVENT_COLUMNS = ("event_id", "contact_id", "type", "timestamp")


@dataclass(frozen=True)
class Tables:
    """Names of the input relations the query reads."""

    contacts: str = "contacts"
    events: str = "events"
    quality: str = "leadscore_quality"


@dataclass(frozen=True)
class RuleColumn:
    """One rule's column in the result: its points when listed, else NULL."""

    index: int
    score: str
    rule_id: str
    description: str
    kind: str  # profile, event, volume, inactivity
    column: str
    order: int  # position of the contribution in the online evaluator's list
    fields: tuple[str, ...] = ()  # profile rules: evidence fields


@dataclass(frozen=True)
class CompiledModel:
    """The compiled query and what a runner needs to feed and read it."""

    dialect: str
    scores: tuple[str, ...]
    rules: tuple[RuleColumn, ...]
    query: exp.Expr
    # The explain query is built on first use: most score calls never ask for it, and
    # building it is about a third of the compile time of a 30-rule model.
    build_explain: Callable[[], exp.Expr] = field(repr=False, compare=False)
    quality_fields: Mapping[str, tuple[str, ...]]  # field -> checks computed in the pre-pass
    quality_inputs: Mapping[str, exp.Expr]  # field -> SELECT DISTINCT text of it
    result_columns: tuple[str, ...]
    tables: Tables = field(default_factory=Tables)

    def sql(self, pretty: bool = True) -> str:
        return self.query.sql(dialect=self.dialect, pretty=pretty)

    @cached_property
    def explain_query(self) -> exp.Expr:
        return self.build_explain()

    def explain_sql(self, pretty: bool = True) -> str:
        return self.explain_query.sql(dialect=self.dialect, pretty=pretty)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def _sum(parts: Sequence[exp.Expr]) -> exp.Expr:
    if not parts:
        return dbl(0)
    total = parts[0]
    for part in parts[1:]:
        total = exp.Add(this=total, expression=part)
    return total


def _coalesce0(x: exp.Expr) -> exp.Expr:
    return exp.func("COALESCE", x, dbl(0))


def compile_model(
    model: ScoringModel,
    dialect: str = "duckdb",
    *,
    contact_kinds: Mapping[str, str] | None = None,
    event_kinds: Mapping[str, str] | None = None,
    as_of_us: int | None = None,
    tables: Tables | None = None,
    row_column: str | None = None,
) -> CompiledModel:
    """Compile ``model`` for ``dialect``.

    ``contact_kinds``/``event_kinds`` map each input column to its kind (text,
    int, float, bool, decimal, temporal); a column not listed reads as missing,
    as an absent key does online. Without them every column a rule reads is
    assumed to be text (what ``leadscore compile`` prints). ``as_of_us`` is the
    scoring moment in epoch microseconds; None means the engine's current time.
    ``row_column`` names a contacts column that orders the output rows.
    """
    return _Compiler(
        model,
        get_dialect(dialect),
        contact_kinds,
        event_kinds,
        as_of_us,
        tables or Tables(),
        row_column,
    ).build()


class _Compiler:
    def __init__(
        self,
        model: ScoringModel,
        d: Dialect,
        contact_kinds: Mapping[str, str] | None,
        event_kinds: Mapping[str, str] | None,
        as_of_us: int | None,
        tables: Tables,
        row_column: str | None,
    ):
        self.model, self.d, self.tables, self.row_column = model, d, tables, row_column
        self.rules = model.rules()
        if contact_kinds is None:
            contact_kinds = {"contact_id": "text"}
            for _, rule in self.rules:
                if isinstance(rule, ProfileRule):
                    for f in condition_fields(rule.when):
                        contact_kinds[f] = "text"
        if event_kinds is None:
            event_kinds = dict.fromkeys(EVENT_COLUMNS, "text")
            for _, rule in self.rules:
                for prop in getattr(rule, "where", {}) or {}:
                    event_kinds[prop] = "text"
            for table in model.places.values():
                event_kinds[table.field] = "text"
            event_kinds["timestamp"] = "temporal"
        for column in ("contact_id",):
            if column not in contact_kinds:
                raise CompileError(f"the contacts table has no '{column}' column")
        for column in EVENT_COLUMNS:
            if column not in event_kinds:
                raise CompileError(f"the events table has no '{column}' column")
        self.ck, self.ek = dict(contact_kinds), dict(event_kinds)
        self.as_of_int = None if as_of_us is None else int(as_of_us)
        if as_of_us is None:
            self.asof_us: exp.Expr = d.epoch_us(exp.CurrentTimestamp())
        else:
            self.asof_us = exp.cast(lit(int(as_of_us)), "BIGINT")
        self.asof_s = exp.Div(this=exp.cast(self.asof_us.copy(), "DOUBLE"), expression=dbl(1e6))
        self.columns: list[RuleColumn] = []
        score_index = {name: i for i, name in enumerate(model.scores)}
        for i, (score, rule) in enumerate(self.rules):
            kind = {
                ProfileRule: "profile",
                EventRule: "event",
                VolumeRule: "volume",
                InactivityRule: "inactivity",
            }[type(rule)]
            order = score_index[score] * 1_000_000 + (0 if kind == "profile" else 500_000) + i
            fields = tuple(condition_fields(rule.when)) if isinstance(rule, ProfileRule) else ()
            self.columns.append(
                RuleColumn(i, score, rule.id, rule.description or "", kind, f"r{i}", order, fields)
            )
        self.event_slots = [c for c in self.columns if c.kind != "profile"]
        self.ranked_slots = [
            c
            for c in self.event_slots
            if isinstance(r := self.rules[c.index][1], EventRule)
            and (r.first_time_only or r.max_count is not None)
        ]
        self.days_slots = [
            c
            for c in self.event_slots
            if isinstance(r := self.rules[c.index][1], VolumeRule) and r.count == "days"
        ]
        self.quality_fields: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ helpers
    def rule(self, c: RuleColumn) -> Any:
        return self.rules[c.index][1]

    def contact_reader(self, rule_id: str | None) -> FieldReader:
        return FieldReader("c", self.ck, self.d, "contacts", rule_id)

    def cid(self, alias: str, kinds: Mapping[str, str]) -> exp.Expr:
        return as_text(
            exp.column("contact_id", table=alias, quoted=True),
            kinds["contact_id"],
            self.d,
            "contact_id",
        )

    def eid(self, alias: str) -> exp.Expr:
        return as_text(
            exp.column("event_id", table=alias, quoted=True),
            self.ek["event_id"],
            self.d,
            "event_id",
        )

    def join_key(self, alias: str, name: str) -> exp.Expr:
        """A hashable key for a raw property value: NULL and '' read the same (missing)."""
        column: exp.Expr = exp.column(name, table=alias, quoted=True)
        if self.ek[name] != "text":
            column = exp.cast(column, "TEXT")
        return exp.func("COALESCE", column, lit(""))

    def ts_us(self, alias: str) -> exp.Expr:
        column: exp.Expr = exp.column("timestamp", table=alias, quoted=True)
        kind = self.ek["timestamp"]
        if kind == "text":
            column = self.d.text_to_timestamp(trim_text(column))
        elif kind != "temporal":
            raise CompileError(
                f"events column 'timestamp' has a {kind} type; it must be a timestamp or ISO 8601 text"
            )
        return self.d.epoch_us(column)

    def quality(self, check: str, field_name: str) -> exp.Expr:
        checks = self.quality_fields.setdefault(field_name, [])
        if check not in checks:
            checks.append(check)
        alias = self.quality_alias(field_name)
        return exp.func("COALESCE", exp.column(check, table=alias), exp.false())

    def quality_alias(self, field_name: str) -> str:
        return (
            f"q{sorted(self.quality_fields).index(field_name)}"
            if False
            else f"q_{_ident(field_name)}"
        )

    # -------------------------------------------------------------------- build
    def build(self) -> CompiledModel:
        d = self.d
        ctes: list[tuple[str, exp.Expr]] = []
        if self.event_slots:
            ctes += self.wide_ctes()
        base, base_explain = self.base_selects()
        q = self.final_query([*ctes, ("base", base)], explain=False)

        def build_explain() -> exp.Expr:
            return self.explain(
                self.event_ctes(explain=True) if self.event_slots else [], base_explain
            )

        quality_inputs = {
            f: exp.select(_as(self.contact_reader(None).text(f), "value"))
            .distinct()
            .from_(_as(exp.to_table(self.tables.contacts, dialect=self.d.name), "c"))
            for f in sorted(self.quality_fields)
        }
        for f in quality_inputs:
            quality_inputs[f] = quality_inputs[f].where(
                exp.Not(this=exp.Is(this=self.contact_reader(None).text(f), expression=exp.null()))
            )
        result_columns = ["contact_id"]
        for name in self.model.scores:
            result_columns += [name, f"{name}_grade"]
        result_columns += ["grade", "stage", "surging", "surge_points"]
        result_columns += [c.column for c in self.columns]
        return CompiledModel(
            dialect=d.name,
            scores=tuple(self.model.scores),
            rules=tuple(self.columns),
            query=q,
            build_explain=build_explain,
            quality_fields={f: tuple(c) for f, c in sorted(self.quality_fields.items())},
            quality_inputs=quality_inputs,
            result_columns=tuple(result_columns),
            tables=self.tables,
        )

    # ------------------------------------------------------------ event side --
    def props(self) -> list[str]:
        """Event properties any rule reads (where tests and place fields)."""
        out: list[str] = []
        for c in self.event_slots:
            rule = self.rule(c)
            names = list(rule.where)
            place = getattr(rule, "place", None)
            if place is not None:
                names.append(self.model.places[place].field)
            for n in names:
                if n not in out and n in self.ek:
                    out.append(n)
        return out

    def match_and_weight(self, rule: Any, reader: FieldReader) -> tuple[list[exp.Expr], exp.Expr]:
        """A rule's event predicates (type and ``where``) and its points x place weight."""
        reader.rule_id = rule.id
        conds: list[exp.Expr] = []
        if rule.on is not None:
            type_text = reader.text("type")
            conds.append(true_(exp.In(this=type_text, expressions=[lit(t) for t in rule.on])))
        if rule.where:
            conds.append(true_(where_predicate(rule.where, reader, rule.id)))
        pw: exp.Expr = dbl(0)
        if isinstance(rule, EventRule):
            pw = dbl(rule.points)
            if rule.place is not None:
                pw = exp.Mul(
                    this=pw,
                    expression=_paren(place_weight(self.model.places[rule.place], reader)),
                )
        return conds, pw

    def event_ctes(
        self,
        explain: bool,
        slots: list[RuleColumn] | None = None,
        hits_cte: exp.Expr | None = None,
        prefix: str = "",
    ) -> list[tuple[str, exp.Expr]]:
        """The long (contact, rule) shape: every matching (event, rule) pair is a row.

        ``slots`` limits it to some rules and ``hits_cte`` replaces the rule-map join
        (the wide plan uses both for the rules that need row numbers); CTE names get
        ``prefix``.
        """
        d = self.d
        slots = self.event_slots if slots is None else slots
        ranked_slots = [c for c in self.ranked_slots if c in slots]
        days_slots = [c for c in self.days_slots if c in slots]

        def n(name: str) -> str:
            return prefix + name

        props = self.props()
        key_cols = ["type", *props]
        keys = self.keys_select(key_cols)
        reader = FieldReader("k", self.ek, d, "events")
        branches: list[exp.Select] = []
        for c in slots:
            rule = self.rule(c)
            conds, pw = self.match_and_weight(rule, reader)
            hl: exp.Expr = exp.cast(exp.null(), "DOUBLE")
            dd: exp.Expr = exp.cast(exp.null(), "DOUBLE")
            win: exp.Expr = exp.cast(exp.null(), "DOUBLE")
            if isinstance(rule, EventRule):
                if rule.half_life_days is not None:
                    hl = dbl(rule.half_life_days)
                if rule.decay_days is not None:
                    dd = dbl(rule.decay_days)
                if rule.within_days is not None:
                    win = dbl(rule.within_days)
            elif isinstance(rule, VolumeRule):
                win = dbl(rule.within_days)
            else:
                win = dbl(rule.inactive_days)
            select = exp.select(
                *[_as(self.join_key("k", k), f"k_{i}") for i, k in enumerate(key_cols)],
                _as(lit(c.index), "slot"),
                _as(pw, "pw"),
                _as(hl, "hl"),
                _as(dd, "dd"),
                _as(win, "win"),
            ).from_(_as(exp.to_table("keys"), "k"))
            if conds:
                select = select.where(_and(*conds) if len(conds) > 1 else conds[0], copy=False)
            branches.append(select)
        union: exp.Expr = branches[0]
        for b in branches[1:]:
            union = exp.union(union, b, distinct=False, copy=False)
        rulemap = exp.select("*").distinct().from_(_as(exp.Subquery(this=union), "u"))

        ts = self.ts_us("e")
        ts_s = exp.Div(this=exp.cast(col("ts_us", "e2"), "DOUBLE"), expression=dbl(1e6))
        age = exp.Div(
            this=_paren(exp.Sub(this=self.asof_s.copy(), expression=ts_s)),
            expression=dbl(86_400),
        )
        on = [
            exp.EQ(this=self.join_key("e", k), expression=col(f"k_{i}", "m"))
            for i, k in enumerate(key_cols)
        ]
        need_eid = explain or bool(ranked_slots)
        # The timestamp conversion is computed once per event in a subquery.
        e2_cols: list[exp.Expr] = [
            _as(self.cid("e", self.ek), "cid"),
            _as(ts, "ts_us"),
            *[_as(exp.column(k, table="e", quoted=True), k) for k in key_cols],
        ]
        if need_eid:
            e2_cols.append(_as(self.eid("e"), "eid"))
        e2 = exp.select(*e2_cols).from_(
            _as(exp.to_table(self.tables.events, dialect=self.d.name), "e")
        )
        on_e2 = [
            exp.EQ(this=self.join_key("e2", k), expression=col(f"k_{i}", "m"))
            for i, k in enumerate(key_cols)
        ]
        del on
        decay = _case(
            [
                (
                    exp.Not(this=exp.Is(this=col("hl", "m"), expression=exp.null())),
                    exp.Pow(
                        this=dbl(0.5),
                        expression=exp.Div(this=age.copy(), expression=col("hl", "m")),
                    ),
                ),
                (
                    exp.Not(this=exp.Is(this=col("dd", "m"), expression=exp.null())),
                    exp.Greatest(
                        this=dbl(0),
                        expressions=[
                            exp.Sub(
                                this=dbl(1),
                                expression=exp.Div(this=age.copy(), expression=col("dd", "m")),
                            )
                        ],
                    ),
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
        hits = (
            exp.select(*hit_cols)
            .from_(_as(exp.Subquery(this=e2), "e2"))
            .join(_as(exp.to_table("rulemap"), "m"), on=_and(*on_e2))
            .where(exp.LTE(this=col("ts_us", "e2"), expression=self.asof_us.copy()))
        )
        ctes: list[tuple[str, exp.Expr]] = [
            ("keys", keys),
            ("rulemap", rulemap),
            ("hits", hits),
        ]
        if hits_cte is not None:
            ctes = [(n("hits"), hits_cte)]

        base_cols = ["cid", "ts_us", "slot", "age", "pts", "in_win"] + (["eid"] if need_eid else [])
        ranked_ids = [c.index for c in ranked_slots]
        plain = exp.select(*[col(c) for c in base_cols], _as(col("in_win"), "kept")).from_(
            n("hits")
        )
        if ranked_ids:
            plain = plain.where(
                exp.Not(this=exp.In(this=col("slot"), expressions=[lit(i) for i in ranked_ids]))
            )
            eid_order = d.binary_text(col("eid"))
            rn_first = exp.Window(
                this=exp.RowNumber(),
                partition_by=[col("cid"), col("slot")],
                order=exp.Order(
                    expressions=[exp.Ordered(this=col("ts_us")), exp.Ordered(this=eid_order)]
                ),
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
            first_ids = [c.index for c in ranked_slots if self.rule(c).first_time_only]
            last_ids = [c.index for c in ranked_slots if not self.rule(c).first_time_only]
            parts: list[exp.Select] = []
            for ids, window in ((first_ids, rn_first), (last_ids, rn_last)):
                if ids:
                    parts.append(
                        exp.select(*[col(c) for c in base_cols], _as(window, "rn"))
                        .from_(n("hits"))
                        .where(exp.In(this=col("slot"), expressions=[lit(i) for i in ids]))
                    )
            ranked: exp.Expr = parts[0]
            if len(parts) > 1:
                ranked = exp.union(parts[0], parts[1], distinct=False, copy=False)
            kept_whens = []
            for c in ranked_slots:
                rule = self.rule(c)
                if rule.first_time_only:
                    cond = _and(exp.EQ(this=col("rn"), expression=lit(1)), col("in_win"))
                else:
                    cond = _and(
                        col("in_win"), exp.LTE(this=col("rn"), expression=lit(rule.max_count))
                    )
                kept_whens.append((exp.EQ(this=col("slot"), expression=lit(c.index)), cond))
            kept_ranked = exp.select(
                *[col(c) for c in base_cols], _as(_case(kept_whens, exp.false()), "kept")
            ).from_(n("ranked"))
            ctes.append((n("ranked"), ranked))
            kept: exp.Expr = exp.union(plain, kept_ranked, distinct=False, copy=False)
        else:
            kept = plain
        ctes.append((n("kept"), kept))

        kept_col = col("kept")
        aggs: list[exp.Expr] = [
            col("cid"),
            col("slot"),
            _as(exp.Sum(this=_case([(kept_col, col("pts"))])), "total"),
            _as(exp.Sum(this=_case([(kept_col.copy(), lit(1))], lit(0))), "n_kept"),
            _as(exp.Sum(this=_case([(col("in_win"), lit(1))], lit(0))), "n_win"),
        ]
        surge = self.model.surge
        if surge is not None:
            recent = _and(kept_col.copy(), exp.LTE(this=col("age"), expression=dbl(surge.days)))
            aggs.append(_as(exp.Sum(this=_case([(recent, col("pts"))])), "surge_total"))
        if days_slots:
            day = exp.Floor(
                this=exp.Div(
                    this=exp.Div(this=exp.cast(col("ts_us"), "DOUBLE"), expression=dbl(1e6)),
                    expression=dbl(86_400),
                )
            )
            cond = _and(
                col("in_win"),
                exp.In(this=col("slot"), expressions=[lit(c.index) for c in days_slots]),
            )
            aggs.append(
                _as(exp.Count(this=exp.Distinct(expressions=[_case([(cond, day)])])), "n_days")
            )
        if explain:
            aggs.append(_as(exp.Min(this=col("age")), "min_age"))
            evidence_flag = _case(
                [
                    (
                        exp.In(
                            this=col("slot"),
                            expressions=[lit(c.index) for c in slots if c.kind == "volume"]
                            or [lit(-1)],
                        ),
                        col("in_win"),
                    ),
                ],
                kept_col.copy(),
            )
            aggs.append(_as(d.ordered_ids(col("eid"), col("ts_us"), evidence_flag), "ids"))
        agg = exp.select(*aggs).from_(n("kept")).group_by(col("cid"), col("slot"))
        ctes.append((n("agg"), agg))

        # rv: each event-driven rule's contribution (NULL when not listed).
        value_whens = []
        surge_whens = []
        for c in slots:
            rule = self.rule(c)
            is_slot = exp.EQ(this=col("slot"), expression=lit(c.index))
            if isinstance(rule, EventRule):
                capped = self.cap(rule, col("total"))
                listed = _and(
                    exp.GT(this=col("n_kept"), expression=lit(0)),
                    exp.NEQ(this=capped, expression=dbl(0)),
                )
                value_whens.append((is_slot, _case([(listed, capped.copy())])))
                if surge is not None and c.score == surge.score:
                    surge_whens.append(
                        (
                            _and(is_slot.copy(), exp.GT(this=col("n_kept"), expression=lit(0))),
                            self.cap(rule, _coalesce0(col("surge_total"))),
                        )
                    )
            elif isinstance(rule, VolumeRule):
                count = col("n_days") if rule.count == "days" else col("n_win")
                tiers = [
                    (
                        exp.GTE(this=count.copy(), expression=lit(t.at_least)),
                        dbl(t.points) if t.points != 0 else exp.cast(exp.null(), "DOUBLE"),
                    )
                    for t in reversed(rule.tiers)
                ]
                value_whens.append((is_slot, _case(tiers)))
        rv_cols: list[exp.Expr] = [
            col("cid"),
            col("slot"),
            col("n_win"),
            _as(_case(value_whens) if value_whens else exp.cast(exp.null(), "DOUBLE"), "value"),
            _as(
                _case(surge_whens) if surge_whens else exp.cast(exp.null(), "DOUBLE"), "surge_value"
            ),
        ]
        if explain:
            count_expr: exp.Expr = col("n_win")
            if days_slots:
                count_expr = _case(
                    [
                        (
                            exp.In(
                                this=col("slot"),
                                expressions=[lit(c.index) for c in days_slots],
                            ),
                            col("n_days"),
                        )
                    ],
                    col("n_win"),
                )
            rv_cols += [col("min_age"), col("ids"), _as(count_expr, "n_count")]
        ctes.append((n("rv"), exp.select(*rv_cols).from_(n("agg"))))

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
        ctes.append((n("pc"), exp.select(*pc_cols).from_(n("rv")).group_by(col("cid"))))
        return ctes

    def keys_select(self, key_cols: list[str]) -> exp.Select:
        """The DISTINCT (type, properties) combinations of the events, for the rule map.

        A float property's -0.0 equals 0.0 for DISTINCT, but the rules read the texts
        '-0.0' and '0.0': its text is part of the key, so each gets its own map row.
        """
        cols: list[exp.Expr] = [exp.column(k, quoted=True) for k in key_cols]
        cols += [
            _as(exp.cast(exp.column(k, quoted=True), "TEXT"), f"text_{i}")
            for i, k in enumerate(key_cols)
            if self.ek[k] == "float"
        ]
        return (
            exp.select(*cols)
            .distinct()
            .from_(exp.to_table(self.tables.events, dialect=self.d.name))
        )

    def window_of(self, rule: Any) -> float | None:
        if isinstance(rule, EventRule):
            return rule.within_days
        if isinstance(rule, VolumeRule):
            return rule.within_days
        return float(rule.inactive_days)

    def decay_of(self, rule: Any, age: exp.Expr) -> exp.Expr | None:
        if not isinstance(rule, EventRule):
            return None
        if rule.half_life_days is not None:
            return exp.Pow(
                this=dbl(0.5), expression=exp.Div(this=age, expression=dbl(rule.half_life_days))
            )
        if rule.decay_days is not None:
            return exp.Greatest(
                this=dbl(0),
                expressions=[
                    exp.Sub(
                        this=dbl(1), expression=exp.Div(this=age, expression=dbl(rule.decay_days))
                    )
                ],
            )
        return None

    def cid_key(self, alias: str, kinds: Mapping[str, str]) -> exp.Expr:
        """The contact id to group and join on: integer ids as they are (no text per event)."""
        if self.ck["contact_id"] == "int" and self.ek["contact_id"] == "int":
            return exp.column("contact_id", table=alias, quoted=True)
        return self.cid(alias, kinds)

    def wide_ctes(self) -> list[tuple[str, exp.Expr]]:
        """The plan for scores without explanations: one pass, one GROUP BY contact.

        Each event row gets one column per rule, ``p<i>`` = points x place weight when
        the rule matches, else NULL; the predicates read the event's own columns, which
        DuckDB evaluates once per dictionary entry of a Parquet column rather than per
        row. One GROUP BY contact then sums each rule's decayed points (and counts)
        with CASE filters, so there is no (event, rule) fan-out and no join to a rule
        map. first_time_only and max_count rules join the same GROUP BY when
        :meth:`foldable`; the others (with a place, or max_count where the dialect has
        no top-n aggregate) take the long path, over a second, filtered scan of just
        their events, where ROW_NUMBER picks the events they count.
        """
        folded = [c for c in self.ranked_slots if self.foldable(self.rule(c))]
        ranked = [c for c in self.ranked_slots if c not in folded]
        plain = [c for c in self.event_slots if c not in ranked]
        asof_age = exp.Div(
            this=_paren(
                exp.Sub(
                    this=self.asof_s.copy(),
                    expression=exp.Div(
                        this=exp.cast(col("ts_us", "e2"), "DOUBLE"), expression=dbl(1e6)
                    ),
                )
            ),
            expression=dbl(86_400),
        )

        # The rule map, wide: one row per distinct (type, props...) with p<i> for every rule.
        props = self.props()
        key_cols = ["type", *props]
        keys = self.keys_select(key_cols)
        kreader = FieldReader("k", self.ek, self.d, "events")
        # With a hash join the key is the raw values: NULL and '' then make two rule-map
        # rows with the same points, and no event pays for a COALESCE per key column.
        raw_keys = self.d.supports_key_hash

        def key(alias: str, name: str) -> exp.Expr:
            if raw_keys and self.ek[name] != "float":  # -0.0 and 0.0 hash alike
                return exp.column(name, table=alias, quoted=True)
            return self.join_key(alias, name)

        km_cols: list[exp.Expr] = [_as(key("k", k), f"k_{i}") for i, k in enumerate(key_cols)]
        for c in self.event_slots:
            conds, pw = self.match_and_weight(self.rule(c), kreader)
            m = _and(*conds) if len(conds) > 1 else (conds[0] if conds else None)
            km_cols.append(_as(_case([(m, pw)]) if m is not None else pw, f"p{c.index}"))
        keymap: exp.Expr = exp.select(*km_cols).distinct().from_(_as(exp.to_table("keys"), "k"))
        hashed = (
            self.d.key_hash([col(f"k_{i}") for i in range(len(key_cols))])
            if self.d.supports_key_hash
            else None
        )
        if hashed is not None:
            # Join on one 64-bit hash of the key instead of several strings per event; two
            # keys of one data set with the same hash stop the query instead of mixing up.
            keymap = exp.select(exp.Star(), _as(hashed, "h")).from_(
                _as(exp.Subquery(this=keymap), "km")
            )
            dup = exp.Window(this=exp.Count(this=exp.Star()), partition_by=[col("h")])
            keymap = (
                exp.select(exp.Star())
                .from_(
                    _as(
                        exp.Subquery(
                            this=exp.select(exp.Star(), _as(dup, "n_same")).from_(
                                _as(exp.Subquery(this=keymap), "kh")
                            )
                        ),
                        "kd",
                    )
                )
                .where(
                    _case(
                        [
                            (
                                exp.GT(this=col("n_same"), expression=lit(1)),
                                self.d.raise_error("leadscore: event key hash collision"),
                            )
                        ],
                        exp.true(),
                    )
                )
            )

        def scan(
            slots: list[RuleColumn], with_eid: bool, recent_days: float | None = None
        ) -> exp.Select:
            cols: list[exp.Expr] = [
                _as(self.cid_key("e", self.ek), "cid"),
                _as(self.ts_us("e"), "ts_us"),
            ]
            if with_eid:
                cols.append(_as(self.eid("e"), "eid"))
            cols += [_as(col(f"p{c.index}", "m"), f"p{c.index}") for c in slots]
            event_keys = [key("e", k) for k in key_cols]
            source = "keymap"
            if with_eid:
                source = "keymap_r"
            if hashed is not None:
                on: exp.Expr = exp.EQ(this=col("h", "m"), expression=self.d.key_hash(event_keys))
            else:
                on = _and(
                    *[
                        exp.EQ(this=k, expression=col(f"k_{i}", "m"))
                        for i, k in enumerate(event_keys)
                    ]
                )
            inner = (
                exp.select(*cols)
                .from_(_as(exp.to_table(self.tables.events, dialect=self.d.name), "e"))
                .join(_as(exp.to_table(source), "m"), on=on)
            )
            when: exp.Expr = exp.LTE(this=col("ts_us", "e2"), expression=self.asof_us.copy())
            if recent_days is not None:
                # A superset by a second; the exact age test is in the aggregate.
                lead = int(recent_days * DAY_US) + 1_000_000
                since = exp.Sub(this=self.asof_us.copy(), expression=exp.cast(lit(lead), "BIGINT"))
                when = _and(when, exp.GTE(this=col("ts_us", "e2"), expression=since))
                raw = self.raw_since(lead)
                if raw is not None:
                    inner = inner.where(raw, copy=False)
            return (
                exp.select(exp.Star(), _as(asof_age.copy(), "age"))
                .from_(_as(exp.Subquery(this=inner), "e2"))
                .where(when)
            )

        surge = self.model.surge
        age = col("age")
        aggs: list[exp.Expr] = [col("cid")]
        # Surge sums read only the last few days: a separate, time-filtered aggregate
        # instead of one more CASE per rule over every event.
        surge_aggs: list[exp.Expr] = [col("cid")]
        out: dict[int, exp.Expr] = {}
        surge_parts: list[exp.Expr] = []
        for c in plain:
            rule = self.rule(c)
            i = c.index
            p = col(f"p{i}")
            cond: exp.Expr = exp.Not(this=exp.Is(this=p.copy(), expression=exp.null()))
            win = self.window_of(rule)
            if win is not None and not (c in folded and rule.first_time_only):
                cond = _and(cond, exp.LTE(this=age.copy(), expression=dbl(win)))
            n_i, t_i, s_i = col(f"n{i}", "w"), col(f"t{i}", "w"), col(f"s{i}", "sg")
            in_surge = surge is not None and c.score == surge.score
            if c in folded:
                part = self.folded_rule(c, cond, age, aggs, surge_aggs if in_surge else None, out)
                if part is not None:
                    surge_parts.append(part)
                continue
            if not isinstance(rule, EventRule):
                counted = p.copy() if win is None else _case([(cond.copy(), lit(1))])
                aggs.append(_as(exp.Count(this=counted), f"n{i}"))
            if isinstance(rule, EventRule):
                decay = self.decay_of(rule, age.copy())
                value = p.copy() if decay is None else exp.Mul(this=p.copy(), expression=decay)
                # NULL p (rule not matched) leaves a product NULL, which SUM skips; the CASE
                # is kept where it saves work (decay) or is needed (window).
                plain_sum = decay is None and win is None
                summed = value.copy() if plain_sum else _case([(cond.copy(), value.copy())])
                aggs.append(_as(exp.Sum(this=summed), f"t{i}"))
                # The sum is NULL exactly when no event was kept (every kept value is a number).
                kept_any = exp.Not(this=exp.Is(this=t_i.copy(), expression=exp.null()))
                capped = self.cap(rule, _coalesce0(t_i))
                listed = _and(kept_any, exp.NEQ(this=capped, expression=dbl(0)))
                out[i] = _case([(listed, capped.copy())])
                if surge is not None and c.score == surge.score:
                    recent = _and(cond.copy(), exp.LTE(this=age.copy(), expression=dbl(surge.days)))
                    surge_aggs.append(_as(exp.Sum(this=_case([(recent, value.copy())])), f"s{i}"))
                    surge_parts.append(
                        _coalesce0(_case([(kept_any.copy(), self.cap(rule, _coalesce0(s_i)))]))
                    )
            elif isinstance(rule, VolumeRule):
                count: exp.Expr = n_i.copy()
                if rule.count == "days":
                    day = exp.Floor(
                        this=exp.Div(
                            this=exp.Div(
                                this=exp.cast(col("ts_us"), "DOUBLE"), expression=dbl(1e6)
                            ),
                            expression=dbl(86_400),
                        )
                    )
                    aggs.append(
                        _as(
                            exp.Count(this=exp.Distinct(expressions=[_case([(cond.copy(), day)])])),
                            f"d{i}",
                        )
                    )
                    count = col(f"d{i}", "w")
                tiers = [
                    (
                        exp.GTE(this=count.copy(), expression=lit(t.at_least)),
                        dbl(t.points) if t.points != 0 else exp.cast(exp.null(), "DOUBLE"),
                    )
                    for t in reversed(rule.tiers)
                ]
                out[i] = _case(tiers)
            else:
                out[i] = n_i.copy()
        ctes: list[tuple[str, exp.Expr]] = [
            ("keys", keys),
            ("keymap", keymap),
            ("ev", scan(plain, with_eid=False)),
            ("wide", exp.select(*aggs).from_("ev").group_by(col("cid"))),
        ]
        if surge is not None and len(surge_aggs) > 1:
            ctes.append(("evs", scan(plain, with_eid=False, recent_days=surge.days)))
            ctes.append(("surge", exp.select(*surge_aggs).from_("evs").group_by(col("cid"))))
        if ranked:
            branches: list[exp.Select] = []
            for c in ranked:
                rule = self.rule(c)
                p = col(f"p{c.index}")
                decay = self.decay_of(rule, age.copy())
                win = self.window_of(rule)
                in_win: exp.Expr = (
                    exp.true() if win is None else exp.LTE(this=age.copy(), expression=dbl(win))
                )
                branches.append(
                    exp.select(
                        col("cid"),
                        col("ts_us"),
                        _as(lit(c.index), "slot"),
                        age.copy(),
                        _as(
                            p.copy() if decay is None else exp.Mul(this=p.copy(), expression=decay),
                            "pts",
                        ),
                        _as(in_win, "in_win"),
                        col("eid"),
                    )
                    .from_("rev")
                    .where(exp.Not(this=exp.Is(this=p.copy(), expression=exp.null())))
                )
            union: exp.Expr = branches[0]
            for b in branches[1:]:
                union = exp.union(union, b, distinct=False, copy=False)
            any_ranked = [
                exp.Not(this=exp.Is(this=col(f"p{c.index}"), expression=exp.null())) for c in ranked
            ]
            keymap_r = (
                exp.select(exp.Star())
                .from_("keymap")
                .where(_or(*any_ranked) if len(any_ranked) > 1 else any_ranked[0])
            )
            ctes.append(("keymap_r", keymap_r))
            ctes.append(("rev", scan(ranked, with_eid=True)))
            ctes += self.event_ctes(explain=False, slots=ranked, hits_cte=union, prefix="r_")
        pc_cols: list[exp.Expr] = [col("cid", "w")]
        for c in self.event_slots:
            if c in ranked:
                pc_cols.append(_as(col(c.column, "r"), c.column))
            elif c.kind == "inactivity":
                pc_cols.append(_as(out[c.index], f"w{c.index}"))
            else:
                pc_cols.append(_as(out[c.index], c.column))
        if ranked:
            surge_parts.append(_coalesce0(col("surge_points", "r")))
        pc_cols.append(_as(_sum(surge_parts), "surge_points"))
        pc = exp.select(*pc_cols).from_(_as(exp.to_table("wide"), "w"))
        if surge is not None and len(surge_aggs) > 1:
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
        ctes.append(("pc", pc))
        return ctes

    def raw_since(self, lead_us: int) -> exp.Expr | None:
        """``timestamp >= as_of - lead`` on the typed column itself, or None.

        A comparison of the column with a constant is pushed into the Parquet or
        table scan, which then decodes the other columns of the few recent rows
        only; the same test on the computed microseconds is applied after reading
        every row. Only for a fixed as_of and a timestamp-typed column.

        The constant is a day earlier still: a zone-less TIMESTAMP column is compared
        with it in the session's time zone (up to +14:00 ahead of UTC) while the
        exact test reads it as UTC, so a printed query run in, say, Asia/Tokyo would
        otherwise drop the events of the first hours of the surge days.
        """
        if self.as_of_int is None or self.ek["timestamp"] != "temporal":
            return None
        if not self.d.supports_timestamp_constant:
            return None
        since = self.d.timestamp_at(self.as_of_int - lead_us - DAY_US)
        return exp.GTE(this=exp.column("timestamp", table="e", quoted=True), expression=since)

    def foldable(self, rule: EventRule) -> bool:
        """A first_time_only or max_count rule the wide GROUP BY can score without row numbers.

        Without a place every matching event is worth the rule's points times its
        decay, which never grows with age: the first event is the one with the
        smallest timestamp, and the sum of the ``max_count`` most recent events is the
        sum of the ``max_count`` largest values (the smallest for negative points),
        whichever events are taken among equal ones. A place makes the weight differ
        by event, so those rules keep the ROW_NUMBER plan, as do dialects with no
        top-n aggregate and very large counts (the top-n heap is kept per contact).
        """
        if rule.place is not None:
            return False
        if rule.first_time_only:
            return True
        n = rule.max_count
        return n is not None and n <= FOLD_MAX_COUNT and self.d.supports_top_n

    def folded_rule(
        self,
        c: RuleColumn,
        cond: exp.Expr,
        age: exp.Expr,
        aggs: list[exp.Expr],
        surge_aggs: list[exp.Expr] | None,
        out: dict[int, exp.Expr],
    ) -> exp.Expr | None:
        """Aggregates and contribution of a :meth:`foldable` rule; returns its surge part.

        ``cond`` is "the rule matches" (and, for max_count, "within its window");
        ``surge_aggs`` is given when the rule's score is the surge score.
        """
        rule: EventRule = self.rule(c)
        i = c.index
        points = dbl(rule.points)
        surge = self.model.surge
        if rule.first_time_only:
            first = col(f"f{i}", "w")
            aggs.append(_as(exp.Min(this=_case([(cond, col("ts_us"))])), f"f{i}"))
            first_age = exp.Div(
                this=_paren(
                    exp.Sub(
                        this=self.asof_s.copy(),
                        expression=exp.Div(this=exp.cast(first, "DOUBLE"), expression=dbl(1e6)),
                    )
                ),
                expression=dbl(86_400),
            )
            kept: exp.Expr = exp.Not(this=exp.Is(this=first.copy(), expression=exp.null()))
            win = self.window_of(rule)
            if win is not None:
                kept = _and(kept, exp.LTE(this=first_age.copy(), expression=dbl(win)))
            decay = self.decay_of(rule, first_age.copy())
            total = points if decay is None else exp.Mul(this=points, expression=decay)
            capped = self.cap(rule, total)
            out[i] = _case([(_and(kept, exp.NEQ(this=capped, expression=dbl(0))), capped.copy())])
            if surge_aggs is None or surge is None:
                return None
            first_recent = _case(
                [(exp.LTE(this=first_age.copy(), expression=dbl(surge.days)), total.copy())],
                dbl(0),
            )
            return _coalesce0(_case([(kept.copy(), self.cap(rule, first_recent))]))
        n = rule.max_count
        assert n is not None
        decay = self.decay_of(rule, age.copy())
        value = col(f"p{i}") if decay is None else exp.Mul(this=col(f"p{i}"), expression=decay)
        top = self.d.top_n(_case([(cond, value)]), n, rule.points >= 0, cond.copy())
        assert top is not None
        aggs.append(_as(top, f"m{i}"))
        total = _coalesce0(self.d.list_sum(col(f"m{i}", "w")))
        # The list is NULL exactly when no event was kept (the FILTER passed no row).
        kept = exp.Not(this=exp.Is(this=col(f"m{i}", "w"), expression=exp.null()))
        capped = self.cap(rule, total)
        out[i] = _case([(_and(kept, exp.NEQ(this=capped, expression=dbl(0))), capped.copy())])
        if surge_aggs is None or surge is None:
            return None
        # The events of the last surge days are the most recent ones: all of them are
        # kept when there are at most max_count, else every kept event is one of them.
        recent = _and(cond.copy(), exp.LTE(this=age.copy(), expression=dbl(surge.days)))
        surge_aggs.append(_as(exp.Sum(this=_case([(recent, value.copy())])), f"s{i}"))
        surge_aggs.append(_as(exp.Count(this=_case([(recent.copy(), lit(1))])), f"c{i}"))
        in_recent = _case(
            [
                (
                    exp.LTE(this=_coalesce0(col(f"c{i}", "sg")), expression=lit(n)),
                    _coalesce0(col(f"s{i}", "sg")),
                )
            ],
            total.copy(),
        )
        return _coalesce0(_case([(kept.copy(), self.cap(rule, in_recent))]))

    def cap(self, rule: EventRule, total: exp.Expr) -> exp.Expr:
        if rule.max_points is None:
            return total
        m = rule.max_points
        # total is never NULL here (callers coalesce), so GREATEST/LEAST cannot skip it.
        return exp.Greatest(this=dbl(-m), expressions=[exp.Least(this=dbl(m), expressions=[total])])

    # ---------------------------------------------------------- contact side --
    def base_selects(self) -> tuple[exp.Select, exp.Select]:
        """base: contacts with every rule's points (and, for explain, evidence texts)."""
        cols: list[exp.Expr] = [_as(self.cid("c", self.ck), "contact_id")]
        if self.row_column is not None:
            cols.append(_as(exp.column(self.row_column, table="c", quoted=True), "row_no"))
        else:
            cols.append(_as(lit(0), "row_no"))
        explain_extra: list[exp.Expr] = []
        for c in self.columns:
            rule = self.rule(c)
            if isinstance(rule, ProfileRule):
                reader = self.contact_reader(rule.id)
                cond = true_(condition_predicate(rule.when, reader, self.quality, rule.id))
                cols.append(_as(_case([(cond, dbl(rule.points))]), c.column))
                texts = [reader.text(f) for f in c.fields]
                explain_extra.append(_as(exp.Array(expressions=texts), f"t{c.index}"))
            elif isinstance(rule, InactivityRule):
                recent = exp.GT(
                    this=_coalesce0(exp.column(f"w{c.index}", table="pc")), expression=lit(0)
                )
                points = dbl(rule.points) if rule.points != 0 else None
                cols.append(
                    _as(
                        _case([(exp.Not(this=recent), points)])
                        if points is not None
                        else exp.cast(exp.null(), "DOUBLE"),
                        c.column,
                    )
                )
                explain_extra.append(_as(exp.column(f"l{c.index}", table="pc"), f"l{c.index}"))
            else:
                cols.append(_as(exp.column(c.column, table="pc"), c.column))
        if self.event_slots:
            cols.append(_as(_coalesce0(exp.column("surge_points", table="pc")), "surge_points"))
        else:
            cols.append(_as(dbl(0), "surge_points"))

        def make(extra: list[exp.Expr], explain: bool) -> exp.Select:
            select = exp.select(*cols, *extra).from_(
                _as(exp.to_table(self.tables.contacts, dialect=self.d.name), "c")
            )
            if self.event_slots:
                # The explain plan keys pc by the contact id's text; the wide plan by cid_key.
                key = self.cid("c", self.ck) if explain else self.cid_key("c", self.ck)
                select = select.join(
                    _as(exp.to_table("pc"), "pc"),
                    on=exp.EQ(this=exp.column("cid", table="pc"), expression=key),
                    join_type="left",
                )
            for f in sorted(self.quality_fields):
                alias = self.quality_alias(f)
                on = _and(
                    exp.EQ(this=exp.column("field", table=alias), expression=lit(f)),
                    exp.EQ(
                        this=exp.column("value", table=alias),
                        expression=self.contact_reader(None).text(f),
                    ),
                )
                select = select.join(
                    _as(exp.to_table(self.tables.quality, dialect=self.d.name), alias),
                    on=on,
                    join_type="left",
                )
            return select

        # Build once to register quality fields, then again so both carry every join.
        make([], False)
        return make([], False), make(explain_extra, True)

    def scored_select(self, source: str) -> exp.Select:
        cols: list[exp.Expr] = [exp.Star()]
        for name in self.model.scores:
            parts = [_coalesce0(col(c.column)) for c in self.columns if c.score == name]
            cols.append(_as(_paren(_sum(parts)), f"raw_{name}"))
        return exp.select(*cols).from_(source)

    def final_query(self, ctes: list[tuple[str, exp.Expr]], explain: bool) -> exp.Expr:
        ctes = [*ctes, ("scored", self.scored_select("base"))]
        cols: list[exp.Expr] = [col("contact_id")]
        values: dict[str, exp.Expr] = {}
        grades: dict[str, exp.Expr] = {}
        for name, spec in self.model.scores.items():
            raw = col(f"raw_{name}")
            whens: list[tuple[exp.Expr, exp.Expr]] = []
            if spec.ceiling is not None:
                whens.append(
                    (exp.GT(this=raw.copy(), expression=dbl(spec.ceiling)), dbl(spec.ceiling))
                )
            if spec.floor is not None:
                whens.append((exp.LT(this=raw.copy(), expression=dbl(spec.floor)), dbl(spec.floor)))
            value = _case(whens, raw.copy()) if whens else raw.copy()
            values[name] = value
            grades[name] = self.grade(spec.grades, value)
        for name in self.model.scores:
            cols += [
                _as(values[name].copy(), name),
                _as(grades[name].copy(), f"{name}_grade"),
            ]
        combined: exp.Expr = exp.cast(exp.null(), "TEXT")
        if self.model.combined_grade:
            parts = [grades[n].copy() for n in self.model.combined_grade]
            any_null = _or(*[exp.Is(this=p.copy(), expression=exp.null()) for p in parts])
            joined = parts[0]
            for p in parts[1:]:
                joined = exp.DPipe(this=joined, expression=p, safe=True)
            if len(parts) == 1:
                joined = exp.cast(joined, "TEXT")
            combined = _case([(any_null, exp.cast(exp.null(), "TEXT"))], joined)
        surge = self.model.surge
        surging: exp.Expr = exp.false()
        if surge is not None:
            surging = exp.GTE(this=col("surge_points"), expression=dbl(surge.min_points))
        stage: exp.Expr = lit("lead")
        stage_whens: list[tuple[exp.Expr, exp.Expr]] = []
        for name, conditions in reversed(list(self.model.lifecycle.items())):
            conds = [
                self.stage_condition(cond, values, grades, combined, surging) for cond in conditions
            ]
            stage_whens.append((_and(*conds) if len(conds) > 1 else conds[0], lit(name)))
        if stage_whens:
            stage = _case(stage_whens, lit("lead"))
        cols += [
            _as(combined, "grade"),
            _as(stage, "stage"),
            _as(surging.copy(), "surging"),
            col("surge_points"),
            *[col(c.column) for c in self.columns],
        ]
        select = exp.select(*cols).from_("scored").order_by(col("row_no"), col("contact_id"))
        for name, q in ctes:
            select = select.with_(name, as_=q, copy=False)
        return select

    def grade(self, grades: Mapping[str, float | None] | None, value: exp.Expr) -> exp.Expr:
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

    def stage_condition(
        self,
        cond: StageCondition,
        values: Mapping[str, exp.Expr],
        grades: Mapping[str, exp.Expr],
        combined: exp.Expr,
        surging: exp.Expr,
    ) -> exp.Expr:
        if cond.flag is not None:
            return surging.copy() if cond.flag else exp.Not(this=_paren(surging.copy()))
        if cond.labels is not None:
            grade = combined if cond.key == "grade" else grades[cond.key.removesuffix("_grade")]
            return true_(exp.In(this=grade.copy(), expressions=[lit(x) for x in cond.labels]))
        ops = {">=": exp.GTE, ">": exp.GT, "<=": exp.LTE, "<": exp.LT, "==": exp.EQ}
        assert cond.number is not None
        return ops[cond.op or ">="](this=values[cond.key].copy(), expression=dbl(cond.number))

    # --------------------------------------------------------------- explain --
    def explain(self, event_ctes: list[tuple[str, exp.Expr]], base: exp.Select) -> exp.Expr:
        """The long table: one row per (contact, contribution), in the evaluator's order."""
        ctes = [*event_ctes, ("base", base), ("scored", self.scored_select("base"))]
        text_array = self.d.null_text_array()
        null_d = exp.cast(exp.null(), "DOUBLE")
        null_i = exp.cast(exp.null(), "BIGINT")
        branches: list[exp.Select] = []

        def row(
            source: str | exp.Expr,
            score: str | exp.Expr,
            rule_id: str | exp.Expr,
            order: int | exp.Expr,
            points: exp.Expr,
            where: exp.Expr,
            ids: exp.Expr | None = None,
            count: exp.Expr | None = None,
            age: exp.Expr | None = None,
            texts: exp.Expr | None = None,
            contact: exp.Expr | None = None,
            row_no: exp.Expr | None = None,
        ) -> exp.Select:
            return (
                exp.select(
                    _as(contact if contact is not None else col("contact_id"), "contact_id"),
                    _as(row_no if row_no is not None else col("row_no"), "row_no"),
                    _as(order if isinstance(order, exp.Expr) else lit(order), "ord"),
                    _as(score if isinstance(score, exp.Expr) else lit(score), "score"),
                    _as(rule_id if isinstance(rule_id, exp.Expr) else lit(rule_id), "rule_id"),
                    _as(points, "points"),
                    _as(ids if ids is not None else text_array.copy(), "ids"),
                    _as(count if count is not None else null_i.copy(), "n_count"),
                    _as(age if age is not None else null_d.copy(), "age"),
                    _as(texts if texts is not None else text_array.copy(), "texts"),
                )
                .from_(source)
                .where(where)
            )

        for c in self.columns:
            not_null = exp.Not(this=exp.Is(this=col(c.column), expression=exp.null()))
            if c.kind == "profile":
                branches.append(
                    row(
                        "scored",
                        c.score,
                        c.rule_id,
                        c.order,
                        col(c.column),
                        not_null,
                        texts=col(f"t{c.index}"),
                    )
                )
            elif c.kind == "inactivity":
                branches.append(
                    row(
                        "scored",
                        c.score,
                        c.rule_id,
                        c.order,
                        col(c.column),
                        not_null,
                        age=col(f"l{c.index}"),
                    )
                )
        listed = [c for c in self.event_slots if c.kind in ("event", "volume")]
        if listed:
            # One branch for every event and volume rule (slot -> score, rule, order),
            # joined to base once so the contact's row number (output order) comes along.
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

            def by_slot(value: Any) -> exp.Expr:
                return _case(
                    [
                        (exp.EQ(this=col("slot"), expression=lit(c.index)), lit(value(c)))
                        for c in listed
                    ]
                )

            volumes = [lit(c.index) for c in listed if c.kind == "volume"]
            count: exp.Expr | None = None
            if volumes:
                count = _case(
                    [
                        (
                            exp.In(this=col("slot"), expressions=volumes),
                            exp.cast(col("n_count"), "BIGINT"),
                        )
                    ]
                )
            branches.append(
                row(
                    _as(exp.Subquery(this=src), "x"),
                    by_slot(lambda c: c.score),
                    by_slot(lambda c: c.rule_id),
                    by_slot(lambda c: c.order),
                    col("value"),
                    exp.Not(this=exp.Is(this=col("value"), expression=exp.null())),
                    ids=col("ids"),
                    count=count,
                    contact=col("cid"),
                )
            )
        for i, (name, spec) in enumerate(self.model.scores.items()):
            raw = col(f"raw_{name}")
            if spec.ceiling is not None:
                branches.append(
                    row(
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
                branches.append(
                    row(
                        "scored",
                        name,
                        "floor",
                        i * 1_000_000 + 999_999,
                        exp.Sub(this=dbl(spec.floor), expression=raw.copy()),
                        below,
                    )
                )
        union: exp.Expr = branches[0] if branches else row("scored", "", "", 0, dbl(0), exp.false())
        for b in branches[1:]:
            union = exp.union(union, b, distinct=False, copy=False)
        select = (
            exp.select("*")
            .from_(_as(exp.Subquery(this=union), "contributions"))
            .order_by(col("row_no"), col("contact_id"), col("ord"))
        )
        for name, q in ctes:
            select = select.with_(name, as_=q, copy=False)
        return select


def _ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower())


__all__ = ["CHECKS", "CheckCondition", "CompiledModel", "RuleColumn", "Tables", "compile_model"]
