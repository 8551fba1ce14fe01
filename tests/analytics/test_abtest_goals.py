"""A/B tests agree with statsmodels; goal planning, capacity threshold and SLA by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower, zt_ind_solve_power
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from leadscore.analytics import (
    ab_test,
    average_deal_size,
    conversions_from_stages,
    funnel_report,
    goal_plan,
    measured_rates,
    sample_size,
    sla_follow_up,
    threshold_for_capacity,
)
from leadscore.analytics.inputs import AnalyticsInputError

from .conftest import AS_OF


def _arms(spec: dict[str, tuple[int, int]], experiment: str = "subject-line") -> pd.DataFrame:
    """{variant: (contacts, conversions)} -> one row per contact."""
    rows = []
    for variant, (n, x) in spec.items():
        for i in range(n):
            rows.append((f"{variant}{i}", experiment, variant, i < x))
    return pd.DataFrame(rows, columns=["contact_id", "experiment", "variant", "converted"])


def test_z_test_and_interval_match_statsmodels():
    t = ab_test(_arms({"A": (1200, 96), "B": (1150, 121)}), control="A").set_index("variant")
    z, p = proportions_ztest(np.array([121, 96]), np.array([1150, 1200]))
    low, high = confint_proportions_2indep(121, 1150, 96, 1200, method="newcomb", compare="diff")
    assert abs(t.loc["B", "z"] - z) < 1e-9
    assert abs(t.loc["B", "p_value"] - p) < 1e-9
    assert abs(t.loc["B", "ci_low"] - low) < 1e-9
    assert abs(t.loc["B", "ci_high"] - high) < 1e-9
    assert t.loc["B", "diff"] == pytest.approx(121 / 1150 - 96 / 1200, abs=1e-12)
    # One variant: Holm leaves the p-value alone.
    assert abs(t.loc["B", "p_adjusted"] - p) < 1e-9


def test_wald_interval_option_matches_statsmodels():
    t = ab_test(_arms({"A": (500, 40), "B": (480, 60)}), control="A", ci_method="wald")
    low, high = confint_proportions_2indep(60, 480, 40, 500, method="wald", compare="diff")
    b = t[t["variant"] == "B"].iloc[0]
    assert abs(b["ci_low"] - low) < 1e-9 and abs(b["ci_high"] - high) < 1e-9


def test_winner_loser_and_no_difference_with_enough_sample():
    arms = _arms({"A": (10_000, 1_000), "B": (10_000, 1_300), "C": (10_000, 1_010)})
    t = ab_test(arms, control="A", mde=0.02).set_index("variant")
    assert t.loc["A", "verdict"] == "control"
    assert t.loc["B", "verdict"] == "winner"
    assert t.loc["C", "verdict"] == "no difference detected"
    # Holm across B and C: the smaller p is doubled, the larger kept (monotone).
    pb, pc = t.loc["B", "p_value"], t.loc["C", "p_value"]
    assert t.loc["B", "p_adjusted"] == pytest.approx(min(1.0, 2 * pb))
    assert t.loc["C", "p_adjusted"] == pytest.approx(max(min(1.0, 2 * pb), pc))
    loser = ab_test(_arms({"A": (10_000, 1_300), "B": (10_000, 1_000)}), control="A")
    assert loser.set_index("variant").loc["B", "verdict"] == "loser"


def test_small_sample_keeps_running_and_warns():
    t = ab_test(_arms({"A": (200, 20), "B": (200, 40)}), control="A").set_index("variant")
    assert t.loc["B", "verdict"] == "keep running"
    assert "sample too small" in t.loc["B", "warnings"]
    assert t.loc["B", "required_per_arm"] == sample_size(0.1, 0.02).per_control


def test_variant_with_no_conversions():
    t = ab_test(_arms({"A": (300, 15), "B": (300, 0)}), control="A").set_index("variant")
    z, p = proportions_ztest(np.array([0, 15]), np.array([300, 300]))
    assert abs(t.loc["B", "z"] - z) < 1e-9 and abs(t.loc["B", "p_value"] - p) < 1e-9
    assert t.loc["B", "rate"] == 0.0
    assert "no conversions" in t.loc["B", "warnings"]
    # Neither arm converted: no evidence of a difference, and no crash.
    none = ab_test(_arms({"A": (50, 0), "B": (50, 0)}), control="A").set_index("variant")
    assert none.loc["B", "p_value"] == 1.0 and math.isnan(none.loc["B", "z"])
    assert "cannot plan" in none.loc["B", "warnings"]


def test_bad_assignments_are_clear_errors():
    arms = _arms({"A": (3, 1), "B": (3, 1)})
    with pytest.raises(AnalyticsInputError, match="control 'X' not among variants"):
        ab_test(arms, control="X")
    dup = pd.concat([arms, arms.iloc[[0]]], ignore_index=True)
    with pytest.raises(AnalyticsInputError, match="assigned twice"):
        ab_test(dup, control="A")
    two = pd.concat([arms, _arms({"A": (2, 1)}, experiment="other")], ignore_index=True)
    with pytest.raises(AnalyticsInputError, match="several experiments"):
        ab_test(two, control="A")


def test_sample_size_matches_statsmodels_power():
    s = sample_size(0.10, 0.02, alpha=0.05, power=0.8)
    h = proportion_effectsize(0.12, 0.10)
    expected = zt_ind_solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=1.0)
    assert abs(s.exact_per_control - expected) < 1e-9
    assert s.per_control == math.ceil(expected)
    # The solved size really gives the asked power.
    achieved = NormalIndPower().power(h, nobs1=s.exact_per_control, alpha=0.05, ratio=1.0)
    assert abs(achieved - 0.8) < 1e-9
    rel = sample_size(0.10, 0.2, relative=True, ratio=2.0, power=0.9)
    h2 = proportion_effectsize(0.12, 0.10)
    expected2 = zt_ind_solve_power(effect_size=h2, alpha=0.05, power=0.9, ratio=2.0)
    assert abs(rel.exact_per_control - expected2) < 1e-9
    assert rel.per_variant == math.ceil(expected2 * 2.0)
    with pytest.raises(ValueError):
        sample_size(0.99, 0.05)


def test_conversions_from_stages_respects_assignment_time(stages):
    a = pd.DataFrame(
        {
            "contact_id": ["c1", "c2", "c4", "c3"],
            "experiment": "e",
            "variant": ["A", "A", "B", "B"],
            "assigned_at": ["2024-01-01", "2024-01-01", "2024-03-15", "2024-03-01"],
        }
    )
    out = conversions_from_stages(a, stages, stage="customer", as_of=AS_OF).set_index("contact_id")
    assert out["converted"].to_dict() == {"c1": True, "c2": False, "c4": True, "c3": False}
    windowed = conversions_from_stages(
        a, stages, stage="customer", as_of=AS_OF, window_days=10
    ).set_index("contact_id")
    assert not windowed.loc["c1", "converted"]  # 31 days after assignment
    assert windowed.loc["c4", "converted"]  # 5 days


def test_goal_plan_works_the_funnel_backwards():
    rates = {("lead", "mql"): 0.2, ("mql", "sql"): 0.5, ("sql", "customer"): 0.25}
    plan = goal_plan(100_000, avg_deal_size=5_000, rates=rates, months=4).set_index("stage")
    # 20 customers <- 80 SQLs <- 160 MQLs <- 800 leads; per month over 4 months.
    assert plan["needed"].to_dict() == {"lead": 800, "mql": 160, "sql": 80, "customer": 20}
    assert plan["needed_per_month"].to_dict() == {"lead": 200, "mql": 40, "sql": 20, "customer": 5}
    odd = goal_plan(10_000, avg_deal_size=750, rates={("mql", "customer"): 0.5}, months=3)
    assert odd.set_index("stage")["needed"].to_dict() == {"mql": 27, "customer": 14}
    with pytest.raises(ValueError, match="conversion rate"):
        goal_plan(1, avg_deal_size=1, rates={("mql", "customer"): 0.0})


def test_goal_plan_from_measured_funnel(stages, contacts):
    report = funnel_report(stages, contacts, as_of=AS_OF)
    rates = measured_rates(report)
    assert rates == {
        ("lead", "mql"): pytest.approx(0.8),
        ("mql", "sql"): pytest.approx(0.5),
        ("sql", "customer"): pytest.approx(1.0),
    }
    deal = average_deal_size(stages, as_of=AS_OF)
    assert deal == pytest.approx(750.0)
    plan = goal_plan(3_000, avg_deal_size=deal, rates=rates, funnel=report.funnel)
    assert plan.set_index("stage")["needed"].to_dict() == {
        "lead": 10,
        "mql": 8,
        "sql": 4,
        "customer": 4,
    }


def test_threshold_for_capacity_never_splits_ties():
    sc = pd.DataFrame({"contact_id": range(10), "score": [90, 80, 80, 70, 60, 60, 60, 50, 40, 10]})
    r = threshold_for_capacity(sc, capacity_per_period=5)
    # >= 70 gives 4 leads; >= 60 would give 7 (three tie at 60), over capacity.
    assert r["threshold"] == 70 and r["leads_passing"] == 4
    assert threshold_for_capacity(sc, capacity_per_period=3)["threshold"] == 80
    assert threshold_for_capacity(sc, capacity_per_period=100)["threshold"] == 10
    sc["scored_at"] = ["2024-01-10"] * 5 + ["2024-02-10"] * 5
    two = threshold_for_capacity(sc, capacity_per_period=2)
    assert two["periods"] == 2 and two["threshold"] == 70 and two["per_period"] == 2.0
    tight = threshold_for_capacity(sc.iloc[[1, 2]], capacity_per_period=1, n_periods=1)
    assert tight["leads_passing"] == 0 and tight["threshold"] > 80


def test_sla_follow_up_statuses():
    st = pd.DataFrame(
        {
            "contact_id": ["a", "a", "b", "b", "c", "d", "e"],
            "stage": ["mql", "sql", "mql", "lost", "mql", "mql", "mql"],
            "timestamp": [
                "2024-01-01T00:00:00",
                "2024-01-01T10:00:00",  # a: 10 h -> in time
                "2024-01-02T00:00:00",
                "2024-01-03T06:00:00",  # b: 30 h -> late
                "2024-01-03T00:00:00",  # c: nothing -> missed
                "2024-01-04T00:00:00",  # d: call after 5 h -> in time
                "2024-01-31T22:00:00",  # e: deadline after as_of -> pending
            ],
        }
    )
    ev = pd.DataFrame(
        {
            "event_id": [1, 2],
            "contact_id": ["d", "c"],
            "type": ["call", "page_view"],
            "timestamp": ["2024-01-04T05:00:00", "2024-01-03T01:00:00"],
        }
    )
    t = sla_follow_up(st, as_of="2024-02-01", events=ev, sla_hours=24)
    row = t.set_index("period").loc["2024-01"]
    assert row[["mqls", "in_time", "late", "missed", "pending"]].tolist() == [5, 2, 1, 1, 1]
    assert row["in_time_rate"] == pytest.approx(2 / 4)
