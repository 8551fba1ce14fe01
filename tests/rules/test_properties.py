"""Properties of the online evaluator that must hold for any model and any events."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.rules import Contact, Event, Scorer
from leadscore.spec import dump_model, model_from_dict
from leadscore.spec.model import EventRule, ScoringModel

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
TYPES = ["page_view", "form_submit", "email_click", "download"]
URLS = ["/pricing", "/pricing/pro", "/blog", "/careers", "", "/DEMO"]

urls = st.sampled_from(URLS)


@st.composite
def event_rules(draw: st.DrawFn, i: int) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": f"r{i}",
        "on": draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=2, unique=True)),
        "points": draw(st.sampled_from([-7.5, -2, 1, 3, 10, 25])),
    }
    if draw(st.booleans()):
        rule["where"] = {
            "url": {
                draw(st.sampled_from(["starts_with", "contains", "equals"])): draw(urls) or "/x"
            }
        }
    if draw(st.booleans()):
        rule["place"] = "web"
    decay = draw(st.sampled_from(["none", "half", "linear"]))
    if decay == "half":
        rule["half_life_days"] = draw(st.sampled_from([1, 7, 30]))
    elif decay == "linear":
        rule["decay_days"] = draw(st.sampled_from([5, 60]))
    for key, values in (("within_days", [2, 30]), ("max_count", [1, 3]), ("max_points", [5, 40])):
        if draw(st.booleans()):
            rule[key] = draw(st.sampled_from(values))
    rule["first_time_only"] = draw(st.booleans())
    return rule


@st.composite
def models(draw: st.DrawFn) -> ScoringModel:
    n = draw(st.integers(1, 5))
    rules = [draw(event_rules(i)) for i in range(n)]
    if draw(st.booleans()):
        rules.append(
            {
                "id": "vol",
                "on": "page_view",
                "within_days": 20,
                "tiers": [{"at_least": 2, "points": 4}, {"at_least": 5, "points": 9}],
            }
        )
    if draw(st.booleans()):
        rules.append({"id": "quiet", "inactive_days": draw(st.sampled_from([3, 30])), "points": -6})
    return model_from_dict(
        {
            "places": {"web": {"weights": {"/pricing*": 2.5, "/careers*": 0.25}, "default": 1}},
            "scores": {"engagement": {"rules": rules}},
            "surge": {"score": "engagement", "days": 5, "min_points": 20},
        }
    )


@st.composite
def event_streams(draw: st.DrawFn) -> list[Event]:
    n = draw(st.integers(0, 25))
    out = []
    for i in range(n):
        age = draw(st.floats(min_value=-10, max_value=120, allow_nan=False))
        out.append(
            Event(
                f"e{i:02d}",
                "c",
                draw(st.sampled_from(TYPES)),
                AS_OF - timedelta(days=age),
                {"url": draw(urls)},
            )
        )
    # identical timestamps exercise the event_id tie-break
    if out and draw(st.booleans()):
        twin = out[0]
        out.append(Event("e99", "c", twin.type, twin.timestamp, dict(twin.properties)))
    return out


def snapshot(model: ScoringModel, events: list[Event]) -> tuple[Any, ...]:
    result = Scorer(model).score(Contact("c"), events, AS_OF)
    return (
        tuple((s.value, s.contributions) for s in result.scores.values()),
        result.surge_points,
        result.stage,
    )


COMMON = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(models(), event_streams(), st.randoms(use_true_random=False))
def test_scores_do_not_depend_on_event_order(
    model: ScoringModel, events: list[Event], rnd: random.Random
) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert snapshot(model, events) == snapshot(model, shuffled)


@COMMON
@given(models(), event_streams())
def test_caps_are_never_exceeded(model: ScoringModel, events: list[Event]) -> None:
    result = Scorer(model).score(Contact("c"), events, AS_OF)
    rules = {r.id: r for _, r in model.rules()}
    for c in result.contributions:
        rule = rules[c.rule_id]
        if isinstance(rule, EventRule):
            if rule.max_points is not None:
                assert abs(c.points) <= rule.max_points + 1e-12
            if rule.max_count is not None:
                assert len(c.evidence) <= rule.max_count
            if rule.first_time_only:
                assert len(c.evidence) <= 1


def _without_decay(model: ScoringModel) -> ScoringModel:
    data = yaml.safe_load(dump_model(model))
    for rule in data["scores"]["engagement"]["rules"]:
        rule.pop("half_life_days", None)
        rule.pop("decay_days", None)
    return model_from_dict(data)


@COMMON
@given(models(), event_streams())
def test_decay_never_raises_a_contribution(model: ScoringModel, events: list[Event]) -> None:
    decayed = Scorer(model).score(Contact("c"), events, AS_OF)
    plain = Scorer(_without_decay(model)).score(Contact("c"), events, AS_OF)
    undecayed = {c.rule_id: c.points for c in plain.contributions}
    for c in decayed.contributions:
        assert abs(c.points) <= abs(undecayed.get(c.rule_id, 0.0)) + 1e-9
    positive_only = all(
        getattr(r, "points", 1) >= 0 for _, r in model.rules() if isinstance(r, EventRule)
    )
    if positive_only:
        event_points = lambda res: sum(  # noqa: E731
            c.points for c in res.contributions if isinstance(_rule(model, c.rule_id), EventRule)
        )
        assert event_points(decayed) <= event_points(plain) + 1e-9


def _rule(model: ScoringModel, rule_id: str) -> Any:
    return next(r for _, r in model.rules() if r.id == rule_id)


@COMMON
@given(models(), event_streams(), event_streams())
def test_events_after_as_of_change_nothing(
    model: ScoringModel, events: list[Event], extra: list[Event]
) -> None:
    future = [
        Event(
            f"f{i}",
            "c",
            e.type,
            AS_OF + timedelta(seconds=1 + abs((AS_OF - e.timestamp).total_seconds())),
            e.properties,
        )
        for i, e in enumerate(extra)
    ]
    assert snapshot(model, events) == snapshot(model, [*events, *future])
