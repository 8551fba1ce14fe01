"""What each event earned: the per-event side of a score's explanation.

A :class:`~leadscore.rules.LeadScore` says which events each rule kept (its
evidence). The lead page also shows, next to every event, the points it earned
*now*: ``points x place weight x decay`` at the scoring moment, exactly the terms
the evaluator adds up (docs/model-language.md, event rules, step 5). When a rule's
``max_points`` cap cut its total, the events' points add up to more than the rule
counts; the page says so rather than silently rescaling them.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadscore.rules import Contact, Contribution, Event, LeadScore, Scorer, compile_place, decay
from leadscore.rules.evaluate import DAY
from leadscore.spec import EventRule, ScoringModel, VolumeRule


@dataclass(frozen=True, slots=True)
class Earned:
    rule_id: str
    points: float
    note: str = ""


@dataclass(slots=True)
class TimelineItem:
    event_id: str
    at: datetime
    type: str
    detail: str
    earned: list[Earned] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CappedRule:
    rule_id: str
    earned: float  # what its events add up to
    counted: float  # what the rule contributes after the cap


_DETAIL_KEYS = ("url", "form", "email_id", "campaign", "title", "name")


def _detail(props: Any) -> str:
    if not isinstance(props, dict):
        return ""
    parts = [str(props[k]) for k in _DETAIL_KEYS if props.get(k) not in (None, "")]
    return " · ".join(parts)


def timeline(
    model: ScoringModel | None, score: LeadScore | None, events: Sequence[Event]
) -> tuple[list[TimelineItem], list[CappedRule]]:
    """Events newest first, each with the points it earned per rule at ``score.as_of``."""
    items = {
        e.event_id: TimelineItem(e.event_id, e.timestamp, e.type, _detail(dict(e.properties)))
        for e in sorted(events, key=lambda e: (e.timestamp, e.event_id), reverse=True)
    }
    capped: list[CappedRule] = []
    if model is not None and score is not None:
        rules = {rule.id: rule for _, rule in model.rules()}
        places = {name: compile_place(t) for name, t in model.places.items()}
        by_id = {e.event_id: e for e in events}
        now = score.as_of.timestamp()
        for c in score.contributions:
            rule = rules.get(c.rule_id)
            if isinstance(rule, EventRule) and isinstance(c.evidence, tuple | list):
                total = 0.0
                for event_id in c.evidence:
                    event = by_id.get(event_id)
                    if event is None:
                        continue
                    age = (now - event.timestamp.timestamp()) / DAY
                    weight = places[rule.place](event.properties) if rule.place else 1.0
                    points = rule.points * weight * decay(rule, age)
                    total += points
                    note = f"x{weight:g} place" if weight != 1.0 else ""
                    items[event_id].earned.append(Earned(rule.id, points, note))
                if abs(total - c.points) > 1e-9:
                    capped.append(CappedRule(rule.id, total, c.points))
            elif isinstance(rule, VolumeRule) and isinstance(c.evidence, dict):
                # A tier is earned by the count, not by any one event: list it on the
                # newest counted event so the timeline still shows where it came from.
                counted = [i for i in c.evidence.get("events", ()) if i in items]
                if counted:
                    newest = max(counted, key=lambda i: (items[i].at, i))
                    note = f"tier reached with {c.evidence.get('count')} events"
                    items[newest].earned.append(Earned(rule.id, c.points, note))
    return list(items.values()), capped


def evidence_text(c: Contribution) -> str:
    """A short human reading of a contribution's evidence."""
    ev = c.evidence
    if ev is None:
        return ""
    if isinstance(ev, dict):
        if "days_since_last" in ev:
            days = ev["days_since_last"]
            return "no activity at all" if days is None else f"last activity {days:.0f} days ago"
        if "count" in ev:
            return f"{ev['count']} matching events"
        return ", ".join(f"{k} = {v}" for k, v in ev.items() if v is not None) or "field missing"
    if isinstance(ev, tuple | list):
        n = len(ev)
        return f"{n} event{'s' if n != 1 else ''}"
    return json.dumps(ev, default=str)[:120]


def contributions_from_json(items: Iterable[dict[str, Any]]) -> list[Contribution]:
    """Rebuild contributions stored as JSON (the store keeps the explanation)."""
    out = []
    for item in items:
        evidence = item.get("evidence")
        if isinstance(evidence, list):
            evidence = tuple(evidence)
        out.append(
            Contribution(
                item["score"],
                item["rule_id"],
                item.get("description") or "",
                float(item["points"]),
                evidence,
            )
        )
    return out


def score_curve(
    scorer: Scorer,
    contact: Contact,
    events: Sequence[Event],
    until: datetime,
    points: int = 40,
    budget: int = 40_000,
) -> dict[str, list[tuple[datetime, float]]]:
    """Each score over time, re-derived from the event history with one model.

    The store's snapshots say what sales saw at each rescoring; this curve says how
    the lead's scores built up (and decayed) under the given model, from its first
    event to ``until``. At most ``points`` moments are scored: every event's moment
    when there are few, else evenly spaced ones. ``budget`` bounds the events
    evaluated in all (a lead with thousands of events gets fewer moments), which
    keeps the lead page fast whatever the history.
    """
    ordered = sorted((e for e in events if e.timestamp <= until), key=lambda e: e.timestamp)
    times = sorted({e.timestamp for e in ordered})
    points = max(8, min(points, budget // max(len(ordered), 1)))
    if not times:
        moments = [until]
    elif len(times) < points:
        moments = [*times, until]
    else:
        start, span = times[0], until - times[0]
        moments = [start + span * (i / (points - 1)) for i in range(points)]
    stamps = [e.timestamp for e in ordered]
    curve: dict[str, list[tuple[datetime, float]]] = {}
    for moment in moments:
        # Only the events up to the moment can count; passing just those halves
        # the work on average.
        upto = ordered[: bisect_right(stamps, moment)]
        result = scorer.score(contact, upto, moment)
        for name, s in result.scores.items():
            curve.setdefault(name, []).append((moment, s.value))
    return curve
