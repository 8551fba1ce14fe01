"""Each rule type, the decay maths, bounds, grades, surge and stages, by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadscore.rules import Contact, Event, Scorer, decay, evaluate
from leadscore.spec import model_from_dict
from leadscore.spec.model import EventRule, ScoringModel

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def ev(event_id: str, type_: str, days_ago: float, **props: Any) -> Event:
    return Event(event_id, "c", type_, AS_OF - timedelta(days=days_ago), props)


def model(rules: list[dict[str, Any]], **extra: Any) -> ScoringModel:
    score: dict[str, Any] = {"rules": rules}
    for key in ("floor", "ceiling", "grades"):
        if key in extra:
            score[key] = extra.pop(key)
    return model_from_dict({"scores": {"s": score}, **extra})


def score_of(m: ScoringModel, events: list[Event], fields: dict[str, Any] | None = None) -> float:
    return Scorer(m).score(Contact("c", fields or {}), events, AS_OF).scores["s"].value


def test_points_per_event_with_filter() -> None:
    m = model(
        [
            {
                "id": "p",
                "on": "page_view",
                "where": {"url": {"starts_with": "/pricing"}},
                "points": 10,
            }
        ]
    )
    events = [
        ev("1", "page_view", 1, url="/pricing"),
        ev("2", "page_view", 2, url="/blog"),
        ev("3", "form_submit", 3, url="/pricing"),
        ev("4", "page_view", 4, url="/pricing/x"),
    ]
    result = Scorer(m).score(Contact("c"), events, AS_OF)
    assert result.scores["s"].value == 20
    assert result.scores["s"].contributions[0].evidence == ("4", "1")


def test_plain_value_in_where_means_equals_and_all_properties_must_match() -> None:
    m = model(
        [
            {
                "id": "d",
                "on": "form_submit",
                "where": {"form": "Demo", "url": {"contains": "demo"}},
                "points": 40,
            }
        ]
    )
    assert score_of(m, [ev("1", "form_submit", 1, form="demo", url="/demo")]) == 40
    assert score_of(m, [ev("1", "form_submit", 1, form="demo", url="/trial")]) == 0


def test_half_life_decay() -> None:
    m = model([{"id": "p", "on": "page_view", "points": 8, "half_life_days": 10}])
    # 8 * 0.5**(10/10) + 8 * 0.5**(20/10) = 4 + 2
    assert score_of(m, [ev("1", "page_view", 10), ev("2", "page_view", 20)]) == pytest.approx(6.0)


def test_linear_decay_to_zero() -> None:
    m = model([{"id": "p", "on": "page_view", "points": 10, "decay_days": 40}])
    # 10 * (1 - 10/40) + 10 * 0 (older than 40 days)
    assert score_of(m, [ev("1", "page_view", 10), ev("2", "page_view", 50)]) == pytest.approx(7.5)


def test_decay_function() -> None:
    rule = EventRule(id="r", on=("x",), points=1, half_life_days=30)
    assert decay(rule, 0) == 1 and decay(rule, 30) == 0.5 and decay(rule, 90) == 0.125
    linear = EventRule(id="r", on=("x",), points=1, decay_days=30)
    assert decay(linear, 15) == 0.5 and decay(linear, 31) == 0


def test_place_weights_multiply_points_and_decay() -> None:
    m = model(
        [{"id": "v", "on": "page_view", "points": 2, "place": "web", "half_life_days": 7}],
        places={"web": {"weights": {"/pricing*": 3, "/careers*": 0.5}}},
    )
    events = [
        ev("1", "page_view", 0, url="/pricing"),
        ev("2", "page_view", 7, url="/careers"),
        ev("3", "page_view", 14, url="/home"),
    ]
    # 2*3*1 + 2*0.5*0.5 + 2*1*0.25
    assert score_of(m, events) == pytest.approx(6 + 0.5 + 0.5)


def test_max_points_caps_positive_and_negative() -> None:
    m = model(
        [
            {"id": "p", "on": "page_view", "points": 10, "max_points": 25},
            {"id": "j", "on": "job_view", "points": -4, "max_points": 10},
        ]
    )
    events = [ev(str(i), "page_view", i) for i in range(5)] + [
        ev(f"j{i}", "job_view", i) for i in range(5)
    ]
    assert score_of(m, events) == 25 - 10


def test_max_count_keeps_most_recent() -> None:
    m = model([{"id": "p", "on": "page_view", "points": 8, "max_count": 2, "half_life_days": 1}])
    events = [ev("a", "page_view", 3), ev("b", "page_view", 1), ev("c", "page_view", 2)]
    result = Scorer(m).score(Contact("c"), events, AS_OF)
    # the two most recent: 1 and 2 days old -> 8*0.5 + 8*0.25
    assert result.scores["s"].value == pytest.approx(6.0)
    assert result.scores["s"].contributions[0].evidence == ("c", "b")


def test_max_count_ties_broken_by_larger_event_id() -> None:
    m = model([{"id": "p", "on": "page_view", "points": 1, "max_count": 1}])
    result = Scorer(m).score(
        Contact("c"), [ev("b", "page_view", 1), ev("a", "page_view", 1)], AS_OF
    )
    assert result.scores["s"].contributions[0].evidence == ("b",)


def test_first_time_only_and_window() -> None:
    m = model([{"id": "d", "on": "form_submit", "points": 40, "first_time_only": True}])
    assert score_of(m, [ev("1", "form_submit", 5), ev("2", "form_submit", 1)]) == 40
    windowed = model(
        [{"id": "d", "on": "form_submit", "points": 40, "first_time_only": True, "within_days": 3}]
    )
    # the first-ever demo request is 5 days old: outside the window, so nothing counts
    assert score_of(windowed, [ev("1", "form_submit", 5), ev("2", "form_submit", 1)]) == 0


def test_within_days_boundary_is_inclusive() -> None:
    m = model([{"id": "p", "on": "email_click", "points": 3, "within_days": 30}])
    assert score_of(m, [ev("1", "email_click", 30), ev("2", "email_click", 30.01)]) == 3


def test_volume_tiers_pick_highest_reached() -> None:
    m = model(
        [
            {
                "id": "v",
                "on": "page_view",
                "within_days": 30,
                "tiers": [{"at_least": 3, "points": 5}, {"at_least": 10, "points": 15}],
            }
        ]
    )
    assert score_of(m, [ev(str(i), "page_view", i) for i in range(2)]) == 0
    assert score_of(m, [ev(str(i), "page_view", i) for i in range(3)]) == 5
    assert score_of(m, [ev(str(i), "page_view", i * 0.5) for i in range(12)]) == 15
    # events older than the window do not count
    assert score_of(m, [ev(str(i), "page_view", 31 + i) for i in range(12)]) == 0


def test_volume_by_distinct_days() -> None:
    m = model(
        [
            {
                "id": "v",
                "on": "page_view",
                "within_days": 30,
                "count": "days",
                "tiers": [{"at_least": 3, "points": 7}],
            }
        ]
    )
    same_day = [
        Event(str(i), "c", "page_view", datetime(2026, 10, 30, 1 + i, tzinfo=UTC)) for i in range(5)
    ]
    assert score_of(m, same_day) == 0
    three_days = [
        Event(str(i), "c", "page_view", datetime(2026, 10, 28 + i, 12, tzinfo=UTC))
        for i in range(3)
    ]
    assert score_of(m, three_days) == 7


def test_inactivity() -> None:
    m = model(
        [
            {"id": "quiet", "inactive_days": 30, "points": -30},
            {"id": "no-clicks", "inactive_days": 10, "on": "email_click", "points": -5},
        ]
    )
    assert score_of(m, []) == -35  # no events at all counts as inactive
    assert score_of(m, [ev("1", "page_view", 29)]) == -5
    assert score_of(m, [ev("1", "page_view", 31), ev("2", "email_click", 2)]) == 0
    assert score_of(m, [ev("1", "page_view", 31), ev("2", "email_click", 12)]) == -5
    assert score_of(m, [ev("1", "email_click", 40)]) == -35
    result = Scorer(m).score(Contact("c"), [ev("1", "page_view", 45.5)], AS_OF)
    quiet = next(c for c in result.contributions if c.rule_id == "quiet")
    assert quiet.evidence == {"days_since_last": 45.5}


def test_seed_004_example() -> None:
    from pathlib import Path

    from leadscore.spec import load_model

    m = load_model(Path(__file__).resolve().parents[2] / "examples" / "seed004.yaml")
    events = [
        Event("1", "c", "event_attended", AS_OF - timedelta(days=40)),
        Event("2", "c", "webinar_attended", AS_OF - timedelta(days=35)),
        Event("3", "c", "content_download", AS_OF - timedelta(days=31)),
    ]
    result = evaluate(m, Contact("c"), events, AS_OF)
    # offline event +50, live stream +30, download +10, a month without interaction -30
    assert result.scores["engagement"].value == 60
    assert result.scores["engagement"].grade == "warm"
    assert result.stage == "lead"
    recent = [*events, Event("4", "c", "content_download", AS_OF - timedelta(days=1))]
    result = evaluate(m, Contact("c"), recent, AS_OF)
    assert result.scores["engagement"].value == 100 and result.stage == "mql"


def test_floor_and_ceiling_add_a_balancing_contribution() -> None:
    m = model(
        [
            {"id": "p", "on": "page_view", "points": 30},
            {"id": "neg", "inactive_days": 1, "points": -100},
        ],
        floor=0,
        ceiling=50,
    )
    high = Scorer(m).score(Contact("c"), [ev(str(i), "page_view", 0.5) for i in range(3)], AS_OF)
    assert high.scores["s"].value == 50
    assert sum(c.points for c in high.scores["s"].contributions) == 50
    assert high.scores["s"].contributions[-1].rule_id == "ceiling"
    low = Scorer(m).score(Contact("c"), [], AS_OF)
    assert low.scores["s"].value == 0
    assert [c.rule_id for c in low.scores["s"].contributions] == ["neg", "floor"]
    assert sum(c.points for c in low.scores["s"].contributions) == 0


def test_grades_combined_grade_surge_and_lifecycle() -> None:
    m = model_from_dict(
        {
            "scores": {
                "fit": {
                    "grades": {"A": 60, "B": 40, "C": 20, "D": None},
                    "rules": [
                        {"id": "title", "when": {"field": "title", "contains": "vp"}, "points": 45}
                    ],
                },
                "engagement": {
                    "grades": {"4": 75, "3": 50, "2": 25, "1": None},
                    "rules": [{"id": "p", "on": "page_view", "points": 20}],
                },
            },
            "combined_grade": ["fit", "engagement"],
            "surge": {"score": "engagement", "days": 7, "min_points": 40},
            "lifecycle": {
                "mql": {"fit": ">= 40", "engagement": ">= 50"},
                "sql": {"grade": ["A4", "B4"], "surging": True},
            },
        }
    )
    scorer = Scorer(m)
    vp = Contact("c", {"title": "VP Sales"})
    slow = scorer.score(vp, [ev(str(i), "page_view", 10 + i) for i in range(3)], AS_OF)
    assert (slow.scores["fit"].grade, slow.scores["engagement"].grade, slow.grade) == (
        "B",
        "3",
        "B3",
    )
    assert slow.stage == "mql" and not slow.surging and slow.surge_points == 0
    burst = scorer.score(vp, [ev(str(i), "page_view", 1) for i in range(4)], AS_OF)
    assert (
        burst.grade == "B4" and burst.surging and burst.surge_points == 80 and burst.stage == "sql"
    )
    nobody = scorer.score(Contact("x", {"title": "intern"}), [], AS_OF)
    assert nobody.grade == "D1" and nobody.stage == "lead"


def test_grade_without_catch_all_band() -> None:
    m = model([{"id": "p", "on": "page_view", "points": 5}], grades={"hot": 10})
    result = Scorer(m).score(Contact("c"), [ev("1", "page_view", 1)], AS_OF)
    assert result.scores["s"].grade is None


def test_surge_respects_caps() -> None:
    m = model_from_dict(
        {
            "scores": {
                "s": {"rules": [{"id": "p", "on": "page_view", "points": 10, "max_points": 25}]}
            },
            "surge": {"score": "s", "days": 3, "min_points": 30},
        }
    )
    result = Scorer(m).score(Contact("c"), [ev(str(i), "page_view", 0.5) for i in range(5)], AS_OF)
    assert result.surge_points == 25 and not result.surging


def test_events_after_as_of_are_ignored_and_as_of_must_be_aware() -> None:
    m = model([{"id": "p", "on": "page_view", "points": 10}])
    assert score_of(m, [ev("1", "page_view", -1), ev("2", "page_view", 0)]) == 10
    with pytest.raises(ValueError, match="timezone-aware"):
        Scorer(m).score(Contact("c"), [], datetime(2026, 11, 1))


def test_profile_contributions_carry_field_evidence_and_top_reasons() -> None:
    m = model(
        [
            {
                "id": "title",
                "description": "Senior title",
                "when": {"field": "title", "regex": "(?i)vp"},
                "points": 15,
            },
            {"id": "free", "when": {"check": "free_email"}, "points": -10},
            {"id": "phone", "when": {"field": "phone", "exists": True}, "points": 5},
            {"id": "p", "description": "Pricing", "on": "page_view", "points": 1},
        ]
    )
    result = Scorer(m).score(
        Contact("c", {"title": "VP", "email": "a@gmail.com", "phone": "1"}),
        [ev("1", "page_view", 1)],
        AS_OF,
    )
    assert [c.label for c in result.top_reasons()] == ["Senior title", "free", "phone"]
    assert result.reasons_text() == "Senior title +15; free -10; phone +5"
    assert result.contributions[0].evidence == {"title": "VP"}
    row = result.to_row()
    assert row["s"] == 11 and row["stage"] == "lead" and row["surging"] is False
