"""What every step and plan of the compiler reads: the model, the dialect, the columns.

A :class:`Context` is made once per :func:`leadscore.compile.compile_model` call:
the input columns' kinds, the scoring moment, one :class:`RuleColumn` per rule
(its result column ``r<i>``), and readers for the input columns. The quality
checks the profile rules use are registered here as the contact side is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from leadscore.compile.conditions import FieldReader
from leadscore.compile.dialect import Dialect
from leadscore.compile.errors import CompileError
from leadscore.compile.sqlexp import alias as _as
from leadscore.compile.values import as_text, dbl, lit, trim_text
from leadscore.spec.model import (
    EventRule,
    InactivityRule,
    ProfileRule,
    ScoringModel,
    VolumeRule,
)
from leadscore.spec.semantics import condition_fields

DAY_US = 86_400_000_000
# max_count rules up to this count are scored with a top-n heap per contact (see foldable).
FOLD_MAX_COUNT = 64
EVENT_COLUMNS = ("event_id", "contact_id", "type", "timestamp")
_KINDS = {
    ProfileRule: "profile",
    EventRule: "event",
    VolumeRule: "volume",
    InactivityRule: "inactivity",
}


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


class Context:
    """One compile call's model, dialect, input kinds, scoring moment and rule columns."""

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
        self.ck = dict(contact_kinds if contact_kinds is not None else self.text_contacts())
        self.ek = dict(event_kinds if event_kinds is not None else self.text_events())
        if "contact_id" not in self.ck:
            raise CompileError("the contacts table has no 'contact_id' column")
        for column in EVENT_COLUMNS:
            if column not in self.ek:
                raise CompileError(f"the events table has no '{column}' column")
        self.as_of_int = None if as_of_us is None else int(as_of_us)
        if as_of_us is None:
            self.asof_us: exp.Expr = d.epoch_us(exp.CurrentTimestamp())
        else:
            self.asof_us = exp.cast(lit(int(as_of_us)), "BIGINT")
        self.asof_s = exp.Div(this=exp.cast(self.asof_us.copy(), "DOUBLE"), expression=dbl(1e6))
        self.columns = self.rule_columns()
        self.event_slots = [c for c in self.columns if c.kind != "profile"]
        self.ranked_slots = [
            c
            for c in self.event_slots
            if isinstance(r := self.rule(c), EventRule)
            and (r.first_time_only or r.max_count is not None)
        ]
        self.days_slots = [
            c
            for c in self.event_slots
            if isinstance(r := self.rule(c), VolumeRule) and r.count == "days"
        ]
        self.quality_fields: dict[str, list[str]] = {}

    def text_contacts(self) -> dict[str, str]:
        """Without the table's types: every contact field a rule reads is text."""
        kinds = {"contact_id": "text"}
        for _, rule in self.rules:
            if isinstance(rule, ProfileRule):
                kinds.update(dict.fromkeys(condition_fields(rule.when), "text"))
        return kinds

    def text_events(self) -> dict[str, str]:
        """Without the table's types: text properties and a timestamp column."""
        kinds = dict.fromkeys(EVENT_COLUMNS, "text")
        for _, rule in self.rules:
            kinds.update(dict.fromkeys(getattr(rule, "where", {}) or {}, "text"))
        for table in self.model.places.values():
            kinds[table.field] = "text"
        kinds["timestamp"] = "temporal"
        return kinds

    def rule_columns(self) -> list[RuleColumn]:
        """One result column per rule, ordered as the online evaluator lists contributions."""
        columns = []
        score_index = {name: i for i, name in enumerate(self.model.scores)}
        for i, (score, rule) in enumerate(self.rules):
            kind = _KINDS[type(rule)]
            order = score_index[score] * 1_000_000 + (0 if kind == "profile" else 500_000) + i
            fields = tuple(condition_fields(rule.when)) if isinstance(rule, ProfileRule) else ()
            columns.append(
                RuleColumn(i, score, rule.id, rule.description or "", kind, f"r{i}", order, fields)
            )
        return columns

    # ------------------------------------------------------------------ helpers
    def rule(self, c: RuleColumn) -> Any:
        return self.rules[c.index][1]

    def events_table(self) -> exp.Table:
        return exp.to_table(self.tables.events, dialect=self.d.name)

    def contacts_table(self) -> exp.Table:
        return exp.to_table(self.tables.contacts, dialect=self.d.name)

    def age_days(self, ts_us: exp.Expr) -> exp.Expr:
        """An event's age in days at the scoring moment (the evaluator's ``(now - ts) / DAY``)."""
        ts_s = exp.Div(this=exp.cast(ts_us, "DOUBLE"), expression=dbl(1e6))
        return exp.Div(
            this=exp.Paren(this=exp.Sub(this=self.asof_s.copy(), expression=ts_s)),
            expression=dbl(86_400),
        )

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
        return f"q_{_ident(field_name)}"

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
        return exp.select(*cols).distinct().from_(self.events_table())

    def cid_key(self, alias: str, kinds: Mapping[str, str]) -> exp.Expr:
        """The contact id to group and join on: integer ids as they are (no text per event)."""
        if self.ck["contact_id"] == "int" and self.ek["contact_id"] == "int":
            return exp.column("contact_id", table=alias, quoted=True)
        return self.cid(alias, kinds)

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


def _ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower())
