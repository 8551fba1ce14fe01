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

Where the code is: each language step's SQL is one function of
:mod:`leadscore.compile.steps`, named like the online evaluator's step; the plans
that place those fragments are :mod:`~leadscore.compile.plan_wide`,
:mod:`~leadscore.compile.plan_long`, :mod:`~leadscore.compile.plan_result` and
:mod:`~leadscore.compile.plan_explain`; what they all read (model, dialect, column
kinds, rule columns) is a :class:`~leadscore.compile.context.Context`. This module
assembles them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from sqlglot import exp

from leadscore.compile.context import Context, RuleColumn, Tables
from leadscore.compile.dialect import get_dialect
from leadscore.compile.plan_explain import explain_query
from leadscore.compile.plan_long import long_ctes
from leadscore.compile.plan_result import base_selects, final_query
from leadscore.compile.plan_wide import wide_ctes
from leadscore.compile.sqlexp import alias as _as
from leadscore.spec.model import ScoringModel
from leadscore.spec.output import LEAD_COLUMNS, per_score_columns


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
    cx = Context(
        model,
        get_dialect(dialect),
        contact_kinds,
        event_kinds,
        as_of_us,
        tables or Tables(),
        row_column,
    )
    ctes = wide_ctes(cx) if cx.event_slots else []
    base, base_explain = base_selects(cx)  # registers the quality checks the rules use
    query = final_query(cx, [*ctes, ("base", base)])

    def build_explain() -> exp.Expr:
        return explain_query(
            cx, long_ctes(cx, explain=True) if cx.event_slots else [], base_explain
        )

    return CompiledModel(
        dialect=cx.d.name,
        scores=tuple(model.scores),
        rules=tuple(cx.columns),
        query=query,
        build_explain=build_explain,
        quality_fields={f: tuple(c) for f, c in sorted(cx.quality_fields.items())},
        quality_inputs=quality_inputs(cx),
        result_columns=result_columns(cx),
        tables=cx.tables,
    )


def quality_inputs(cx: Context) -> dict[str, exp.Expr]:
    """Per field a quality check reads: SELECT DISTINCT its text (the pre-pass's input)."""
    out: dict[str, exp.Expr] = {}
    for f in sorted(cx.quality_fields):
        text = cx.contact_reader(None).text(f)
        present = exp.Not(this=exp.Is(this=cx.contact_reader(None).text(f), expression=exp.null()))
        out[f] = (
            exp.select(_as(text, "value"))
            .distinct()
            .from_(_as(cx.contacts_table(), "c"))
            .where(present)
        )
    return out


def result_columns(cx: Context) -> tuple[str, ...]:
    """The compiled query's columns: the output contract's, surge points, every rule's."""
    columns = [*per_score_columns(cx.model.scores), *LEAD_COLUMNS, "surge_points"]
    return (*columns, *(c.column for c in cx.columns))


__all__ = ["CompiledModel", "RuleColumn", "Tables", "compile_model"]
