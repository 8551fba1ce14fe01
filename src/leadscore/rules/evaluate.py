"""The online evaluator: one contact, its events and ``as_of`` in, scores out.

Pure: no I/O and no clock. A :class:`Scorer` compiles a model once; scoring a
contact then costs one dictionary lookup per event (the rules an event can match
are cached per distinct combination of event type and the properties the rules
read, the same trick the SQL compiler uses), plus the arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadscore.quality import Checker
from leadscore.rules.matchers import (
    compile_condition,
    compile_place,
    compile_where,
    condition_fields,
)
from leadscore.rules.values import as_text
from leadscore.spec.model import (
    EventRule,
    InactivityRule,
    ProfileRule,
    Score,
    ScoringModel,
    StageCondition,
    Surge,
    VolumeRule,
)
from leadscore.spec.output import BOUND_DESCRIPTIONS, score_columns

DAY = 86_400.0
_CACHE_LIMIT = 500_000


@dataclass(frozen=True, slots=True)
class Contact:
    """A lead: its id and its profile and account fields."""

    contact_id: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Event:
    """Something a lead did. ``timestamp`` must be timezone-aware."""

    event_id: str
    contact_id: str
    type: str
    timestamp: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Contribution:
    """Why a score moved: one rule's points and what fired it."""

    score: str
    rule_id: str
    description: str
    points: float
    evidence: Any = None

    @property
    def label(self) -> str:
        return self.description or self.rule_id


@dataclass(frozen=True, slots=True)
class ScoreResult:
    name: str
    value: float
    grade: str | None
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True, slots=True)
class LeadScore:
    """Every score of one lead as of a moment, with the reasons."""

    contact_id: str
    as_of: datetime
    scores: Mapping[str, ScoreResult]
    grade: str | None
    stage: str
    surging: bool
    surge_points: float

    @property
    def contributions(self) -> list[Contribution]:
        return [c for s in self.scores.values() for c in s.contributions]

    def top_reasons(self, n: int = 3) -> list[Contribution]:
        """The n contributions with the largest absolute points (bounds excluded)."""
        rules = [c for c in self.contributions if c.rule_id not in ("floor", "ceiling")]
        return sorted(rules, key=lambda c: (-abs(c.points), c.score, c.rule_id))[:n]

    def reasons_text(self, n: int = 3) -> str:
        return "; ".join(f"{c.label} {_fmt(c.points)}" for c in self.top_reasons(n))

    def to_row(self) -> dict[str, Any]:
        """A flat record: each score and grade, combined grade, stage, surge, reasons."""
        values: list[Any] = [self.contact_id]
        for result in self.scores.values():
            values += [result.value, result.grade]
        values += [self.grade, self.stage, self.surging, self.reasons_text()]
        return dict(zip(score_columns(self.scores), values, strict=True))


def _fmt(points: float) -> str:
    rounded = round(points, 1)
    text = f"{rounded:+.1f}".rstrip("0").rstrip(".")
    return text


# ------------------------------------------------------------- compiled plan --


@dataclass(slots=True)
class _EventPlan:
    """One event-driven rule (event, volume or inactivity) ready to run."""

    slot: int
    score: str
    rule: EventRule | VolumeRule | InactivityRule
    types: frozenset[str] | None  # None: any event type
    where: Callable[[Mapping[str, Any]], bool]
    weight: Callable[[Mapping[str, Any]], float] | None
    props: tuple[str, ...]  # properties this rule reads


@dataclass(slots=True)
class _ProfilePlan:
    score: str
    rule: ProfileRule
    test: Callable[[Mapping[str, Any]], bool]
    fields: tuple[str, ...]


@dataclass(slots=True)
class _Hit:
    """A matching event as one rule sees it (events are pre-sorted)."""

    event_id: str
    ts: float
    age: float
    weight: float


# Per event rule (by slot), the matching events: (event id, epoch seconds, place weight).
Matched = list[list[tuple[str, float, float]]]


class Scorer:
    """A scoring model compiled for fast, repeated online evaluation."""

    def __init__(self, model: ScoringModel):
        self.model = model
        checker = Checker(model.settings)
        places = {name: compile_place(table) for name, table in model.places.items()}
        self._profile: list[_ProfilePlan] = []
        self._events: list[_EventPlan] = []
        for score_name, rule in model.rules():
            if isinstance(rule, ProfileRule):
                self._profile.append(
                    _ProfilePlan(
                        score_name,
                        rule,
                        compile_condition(rule.when, checker),
                        tuple(condition_fields(rule.when)),
                    )
                )
                continue
            place = getattr(rule, "place", None)
            props = set(rule.where)
            if place is not None:
                props.add(model.places[place].field)
            self._events.append(
                _EventPlan(
                    slot=len(self._events),
                    score=score_name,
                    rule=rule,
                    types=frozenset(rule.on) if rule.on is not None else None,
                    where=compile_where(rule.where),
                    weight=places[place] if place is not None else None,
                    props=tuple(sorted(props)),
                )
            )
        self._any_type = [p for p in self._events if p.types is None]
        self._props_by_type: dict[str, tuple[str, ...]] = {}
        self._plans_by_type: dict[str, list[_EventPlan]] = {}
        self._match_cache: dict[tuple[Any, ...], tuple[tuple[int, float], ...]] = {}

    # -- matching ------------------------------------------------------------
    def _plans_for(self, event_type: str) -> tuple[list[_EventPlan], tuple[str, ...]]:
        plans = self._plans_by_type.get(event_type)
        if plans is None:
            plans = [p for p in self._events if p.types is None or event_type in p.types]
            self._plans_by_type[event_type] = plans
            self._props_by_type[event_type] = tuple(sorted({q for p in plans for q in p.props}))
        return plans, self._props_by_type[event_type]

    def _matches(self, event: Event) -> tuple[tuple[int, float], ...]:
        """(rule slot, place weight) for every event rule this event matches."""
        plans, props = self._plans_for(event.type)
        if not plans:
            return ()
        key = (event.type, *(as_text(event.properties.get(p)) for p in props))
        hit = self._match_cache.get(key)
        if hit is None:
            # Only the properties in the key are read, so the answer is the same
            # for every event that shares the key.
            properties = dict(zip(props, key[1:], strict=True))
            hit = tuple(
                (p.slot, p.weight(properties) if p.weight is not None else 1.0)
                for p in plans
                if p.where(properties)
            )
            if len(self._match_cache) >= _CACHE_LIMIT:
                self._match_cache.clear()
            self._match_cache[key] = hit
        return hit

    # -- scoring -------------------------------------------------------------
    def score(self, contact: Contact, events: Iterable[Event], as_of: datetime) -> LeadScore:
        """Score one contact as of ``as_of`` (timezone-aware); later events are ignored."""
        return self.score_matched(contact, self.match(events, as_of), as_of)

    def match(self, events: Iterable[Event], as_of: datetime) -> Matched:
        """The events visible at ``as_of``, matched to the event rules (time order).

        Matching does not depend on the moment, only on which events are visible,
        so one match serves every later moment until a new event arrives (see
        :func:`leadscore.rules.due.next_due`).
        """
        if as_of.tzinfo is None or as_of.utcoffset() is None:
            raise ValueError("as_of must be timezone-aware (for example 2026-11-01T00:00:00+00:00)")
        now = as_of.timestamp()
        visible = []
        for event in events:
            ts = event.timestamp.timestamp()
            if ts <= now:
                visible.append((ts, event.event_id, event))
        visible.sort(key=lambda item: (item[0], item[1]))
        matched: Matched = [[] for _ in self._events]
        for ts, event_id, event in visible:
            for slot, weight in self._matches(event):
                matched[slot].append((event_id, ts, weight))
        return matched

    def profile_contributions(self, contact: Contact) -> list[Contribution]:
        """What the profile rules give (the same at every moment)."""
        out = []
        fields = contact.fields
        for profile in self._profile:
            if profile.test(fields):
                evidence = {f: as_text(fields.get(f)) for f in profile.fields}
                rule_ = profile.rule
                out.append(
                    Contribution(
                        profile.score, rule_.id, rule_.description or "", rule_.points, evidence
                    )
                )
        return out

    def score_matched(
        self,
        contact: Contact,
        matched: Matched,
        as_of: datetime,
        profile: list[Contribution] | None = None,
    ) -> LeadScore:
        """Score from already matched events as of ``as_of`` (no event may be later);
        ``profile``: :meth:`profile_contributions` if already known."""
        now = as_of.timestamp()
        hits: list[list[_Hit]] = [
            [_Hit(event_id, ts, (now - ts) / DAY, weight) for event_id, ts, weight in slot]
            for slot in matched
        ]

        if profile is None:
            profile = self.profile_contributions(contact)
        contributions: dict[str, list[Contribution]] = {name: [] for name in self.model.scores}
        for part in profile:
            contributions[part.score].append(part)

        surge = self.model.surge
        surge_points = 0.0
        for plan in self._events:
            rule = plan.rule
            rule_hits = hits[plan.slot]
            if isinstance(rule, EventRule):
                kept = _kept(rule, rule_hits)
                if not kept:
                    continue
                total = _capped(rule, sum(_points(rule, h) for h in kept))
                if surge is not None and plan.score == surge.score:
                    recent = sum(_points(rule, h) for h in kept if h.age <= surge.days)
                    surge_points += _capped(rule, recent)
                if total != 0:
                    contributions[plan.score].append(
                        Contribution(
                            plan.score,
                            rule.id,
                            rule.description or "",
                            total,
                            tuple(h.event_id for h in kept),
                        )
                    )
            elif isinstance(rule, VolumeRule):
                window = [h for h in rule_hits if h.age <= rule.within_days]
                count = (
                    len({day_number(h.ts) for h in window}) if rule.count == "days" else len(window)
                )
                tier = tier_of(rule, count)
                if tier is not None and tier.points != 0:
                    contributions[plan.score].append(
                        Contribution(
                            plan.score,
                            rule.id,
                            rule.description or "",
                            tier.points,
                            {"count": count, "events": tuple(h.event_id for h in window)},
                        )
                    )
            else:  # inactivity
                if inactive(rule, rule_hits) and rule.points != 0:
                    last = rule_hits[-1].age if rule_hits else None
                    contributions[plan.score].append(
                        Contribution(
                            plan.score,
                            rule.id,
                            rule.description or "",
                            rule.points,
                            {"days_since_last": None if last is None else round(last, 2)},
                        )
                    )

        results: dict[str, ScoreResult] = {}
        for name, spec in self.model.scores.items():
            parts = contributions[name]
            raw = sum(c.points for c in parts)
            value = bounded(spec, raw)
            if value != raw:
                bound = "ceiling" if spec.ceiling is not None and raw > spec.ceiling else "floor"
                said = BOUND_DESCRIPTIONS[bound]
                parts.append(Contribution(name, bound, said, value - raw))
            results[name] = ScoreResult(name, value, grade_of(spec.grades, value), tuple(parts))

        combined = None
        if self.model.combined_grade:
            grades = [results[n].grade for n in self.model.combined_grade]
            combined = "".join(g for g in grades if g is not None) if None not in grades else None
        surging = is_surging(surge, surge_points)
        stage = self._stage(results, combined, surging)
        return LeadScore(contact.contact_id, as_of, results, combined, stage, surging, surge_points)

    def _stage(
        self, results: Mapping[str, ScoreResult], combined: str | None, surging: bool
    ) -> str:
        reached = "lead"
        for stage, conditions in self.model.lifecycle.items():
            if all(_holds(c, results, combined, surging) for c in conditions):
                reached = stage
        return reached


def _kept(rule: EventRule, hits: list[_Hit]) -> list[_Hit]:
    """The matching events a rule counts, in time order (see the language reference)."""
    if not hits:
        return hits
    kept = hits[:1] if rule.first_time_only else hits
    if rule.within_days is not None:
        kept = [h for h in kept if h.age <= rule.within_days]
    if rule.max_count is not None and len(kept) > rule.max_count:
        kept = kept[-rule.max_count :]
    return kept


def _points(rule: EventRule, hit: _Hit) -> float:
    return rule.points * hit.weight * decay(rule, hit.age)


def decay(rule: EventRule, age_days: float) -> float:
    """How much of an event's points are left after ``age_days``."""
    if rule.half_life_days is not None:
        return 0.5 ** (age_days / rule.half_life_days)
    if rule.decay_days is not None:
        return max(0.0, 1.0 - age_days / rule.decay_days)
    return 1.0


def day_number(ts: float) -> int:
    """The UTC day of a timestamp in seconds (``count: days`` counts distinct ones)."""
    return math.floor(ts / DAY)


def tier_of(rule: VolumeRule, count: int) -> Any:
    """The highest tier the count reaches, or None."""
    tier = None
    for candidate in rule.tiers:
        if count >= candidate.at_least:
            tier = candidate
    return tier


def inactive(rule: InactivityRule, hits: list[_Hit]) -> bool:
    """No matching event within the rule's ``inactive_days``."""
    return not any(h.age <= rule.inactive_days for h in hits)


def is_surging(surge: Surge | None, surge_points: float) -> bool:
    return surge is not None and surge_points >= surge.min_points


def bounded(spec: Score, raw: float) -> float:
    """The raw sum held between the score's floor and ceiling (the ceiling is applied first)."""
    value = raw
    if spec.ceiling is not None and value > spec.ceiling:
        value = spec.ceiling
    if spec.floor is not None and value < spec.floor:
        value = spec.floor
    return value


def _capped(rule: EventRule, total: float) -> float:
    if rule.max_points is None:
        return total
    return max(-rule.max_points, min(rule.max_points, total))


def grade_of(grades: Mapping[str, float | None] | None, value: float) -> str | None:
    """The first band whose threshold the value reaches; a null band catches the rest."""
    if not grades:
        return None
    for label, threshold in grades.items():
        if threshold is None or value >= threshold:
            return label
    return None


def _holds(
    cond: StageCondition, results: Mapping[str, ScoreResult], combined: str | None, surging: bool
) -> bool:
    if cond.flag is not None:
        return surging is cond.flag
    if cond.labels is not None:
        grade = combined if cond.key == "grade" else results[cond.key.removesuffix("_grade")].grade
        return grade in cond.labels
    value, number = results[cond.key].value, cond.number
    assert number is not None
    return {
        ">=": value >= number,
        ">": value > number,
        "<=": value <= number,
        "<": value < number,
        "==": value == number,
    }[cond.op or ">="]


def evaluate(
    model: ScoringModel, contact: Contact, events: Iterable[Event], as_of: datetime
) -> LeadScore:
    """Score one contact (compiles the model each call; keep a Scorer for many)."""
    return Scorer(model).score(contact, events, as_of)
