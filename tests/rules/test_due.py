"""The next due moment: exact term ends, and continuous decay found by search."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadscore.rules import Contact, Event, Scorer
from leadscore.rules.due import Freshness, next_due
from leadscore.spec import parse_model

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
QUIET_MONTH = """
scores:
  engagement:
    rules:
      - {id: visit, on: page_view, points: 10}
      - {id: quiet-month, inactive_days: 30, points: -30}
"""


def ev(event_id: str, days_ago: float, type_: str = "page_view", **props: Any) -> Event:
    return Event(event_id, "c", type_, AS_OF - timedelta(days=days_ago), props)


def test_inactivity_is_due_when_the_only_event_turns_thirty_days_old() -> None:
    scorer = Scorer(parse_model(QUIET_MONTH))
    events = [ev("1", 0.0)]
    due = next_due(scorer, Contact("c"), events, AS_OF)
    assert due is not None
    assert abs((due - (AS_OF + timedelta(days=30))).total_seconds()) < 0.01
    before = scorer.score(Contact("c"), events, due - timedelta(seconds=1))
    after = scorer.score(Contact("c"), events, due)
    assert before.scores["engagement"].value == 10
    assert after.scores["engagement"].value == -20
    # Once the threshold is crossed, nothing more changes without an event.
    assert next_due(scorer, Contact("c"), events, due) is None


def test_no_time_dependent_terms_is_never_due() -> None:
    scorer = Scorer(parse_model("scores: {s: {rules: [{id: v, on: page_view, points: 5}]}}"))
    assert next_due(scorer, Contact("c"), [ev("1", 3)], AS_OF) is None


def test_window_expiry_and_volume_tier_drop() -> None:
    scorer = Scorer(
        parse_model(
            """
scores:
  s:
    rules:
      - {id: recent, on: demo, points: 20, within_days: 7}
      - id: busy
        on: page_view
        within_days: 10
        tiers: [{at_least: 2, points: 5}, {at_least: 4, points: 15}]
"""
        )
    )
    pages = [ev(f"p{i}", d) for i, d in enumerate([9, 8, 1, 0.5])]  # 4 in window: tier 2
    # the 9-day-old page leaves first (1 day from now): 3 left, tier 1
    due = next_due(scorer, Contact("c"), pages, AS_OF)
    assert due is not None and abs((due - (AS_OF + timedelta(days=1))).total_seconds()) < 0.01
    demo = [ev("d", 5, "demo")]  # leaves the 7-day window in 2 days
    due = next_due(scorer, Contact("c"), demo + pages[2:], AS_OF)
    assert due is not None and abs((due - (AS_OF + timedelta(days=2))).total_seconds()) < 0.01


HALF_LIFE = """
scores:
  s:
    grades: {A: 50, B: 20, C: null}
    rules:
      - {id: pricing, on: page_view, points: 80, half_life_days: 10}
"""


def test_half_life_grade_boundary_is_due_when_crossed() -> None:
    scorer = Scorer(parse_model(HALF_LIFE))
    events = [ev("1", 0)]
    # 80 * 0.5^(t/10) = 50  ->  t = 10 * log2(80/50) = 6.78 days: A becomes B then.
    huge = Freshness(refresh_seconds=30 * 86400, tolerance=1000)
    due = next_due(scorer, Contact("c"), events, AS_OF, huge)
    assert due is not None
    expected = AS_OF + timedelta(days=10 * 0.6780719)
    assert abs((due - expected).total_seconds()) <= huge.resolution_seconds + 1
    assert scorer.score(Contact("c"), events, due).scores["s"].grade == "B"
    assert scorer.score(Contact("c"), events, due - timedelta(seconds=20)).scores["s"].grade == "A"


def test_half_life_drift_is_due_after_the_tolerance_but_not_before_the_interval() -> None:
    scorer = Scorer(parse_model(HALF_LIFE.replace("grades: {A: 50, B: 20, C: null}", "")))
    events = [ev("1", 0)]
    tight = Freshness(refresh_seconds=3600, tolerance=2.0)
    due = next_due(scorer, Contact("c"), events, AS_OF, tight)
    assert due is not None
    # 80 - 80 * 0.5^(t/10) = 2  ->  t = 0.365 days
    exact = -10 * math.log2(78 / 80) * 86400  # seconds
    early = (due - AS_OF).total_seconds()
    # due a little before the drift passes the tolerance (the search stops at an
    # eighth of a gallop step, at most a quarter of the time to the drift)
    assert 0.74 * exact <= early <= exact
    assert abs(scorer.score(Contact("c"), events, due).scores["s"].value - 80) <= 2.0
    loose_interval = Freshness(refresh_seconds=86400, tolerance=2.0)
    due = next_due(scorer, Contact("c"), events, AS_OF, loose_interval)
    assert due == AS_OF + timedelta(days=1)  # the drift came sooner; the interval rules


CONTRACT = """
scores:
  fit:
    grades: {A: 20, B: null}
    rules: [{id: vp, when: {field: title, equals: VP}, points: 25}]
  engagement:
    grades: {"4": 60, "3": 30, "2": 10, "1": null}
    ceiling: 90
    rules:
      - {id: pricing, on: page_view, where: {url: /pricing}, points: 15, half_life_days: 12}
      - {id: docs, on: page_view, where: {url: /docs}, points: 6, decay_days: 20, max_points: 30}
      - {id: demo, on: demo, points: 30, within_days: 14}
      - {id: busy, on: page_view, within_days: 7, tiers: [{at_least: 3, points: 10}]}
      - {id: quiet, inactive_days: 21, points: -15}
combined_grade: [fit, engagement]
surge: {score: engagement, days: 5, min_points: 35}
lifecycle:
  mql: {fit_grade: [A], engagement: ">= 45"}
"""


@pytest.mark.parametrize("seed", range(12))
def test_a_stored_score_stays_true_until_it_is_due(seed: int) -> None:
    """Between ``as_of`` and the due moment: same grades, stage and surge everywhere, and
    values within the tolerance once the refresh interval has passed."""
    rng = random.Random(seed)
    scorer = Scorer(parse_model(CONTRACT))
    fresh = Freshness(refresh_seconds=6 * 3600, tolerance=1.0)
    contact = Contact("c", {"title": rng.choice(["VP", "intern"])})
    events = [
        ev(
            f"e{i}",
            rng.uniform(0, 40),
            rng.choice(["page_view", "page_view", "demo"]),
            url=rng.choice(["/pricing", "/docs", "/blog"]),
        )
        for i in range(rng.randint(0, 12))
    ]
    as_of = AS_OF
    for _ in range(6):  # follow the chain of due moments as a scheduler would
        base = scorer.score(contact, events, as_of)
        due = next_due(scorer, contact, events, as_of, fresh)
        end = due or as_of + timedelta(days=120)
        for _ in range(25):
            t = as_of + (end - as_of) * rng.uniform(0.0, 0.999)
            if (end - t).total_seconds() <= fresh.resolution_seconds:
                continue
            later = scorer.score(contact, events, t)
            assert later.grade == base.grade and later.stage == base.stage
            assert later.surging == base.surging
            if (t - as_of).total_seconds() >= fresh.refresh_seconds:
                for name, s in later.scores.items():
                    assert abs(s.value - base.scores[name].value) <= fresh.tolerance + 1e-9
        if due is None:
            break
        assert due > as_of
        as_of = due
