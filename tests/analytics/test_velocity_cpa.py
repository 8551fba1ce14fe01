"""Lead velocity rate and cost per acquisition on hand-made series."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from leadscore.analytics import cost_per_acquisition, cpa_summary, lead_velocity

from .conftest import AS_OF


def _mqls(per_month: dict[str, int]) -> pd.DataFrame:
    rows = []
    for month, n in per_month.items():
        for i in range(n):
            rows.append((f"{month}-{i}", "mql", f"{month}-{i + 1:02d}T12:00:00"))
    return pd.DataFrame(rows, columns=["contact_id", "stage", "timestamp"])


SERIES = {"2024-01": 4, "2024-02": 6, "2024-03": 3, "2024-04": 0, "2024-05": 2}


def test_monthly_lvr():
    stages = _mqls(SERIES)
    t = lead_velocity(stages, as_of="2024-06-30", period="month")
    assert list(t["period"]) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    assert list(t["qualified"]) == [4, 6, 3, 0, 2]
    assert list(t["previous"]) == [0, 4, 6, 3, 0]
    lvr = list(t["lvr_pct"])
    # (6-4)/4 = +50 %, (3-6)/6 = -50 %, (0-3)/3 = -100 %; from zero: undefined.
    assert lvr[1:4] == pytest.approx([50.0, -50.0, -100.0])
    assert math.isnan(lvr[0]) and math.isnan(lvr[4])
    assert t["complete"].all()


def test_first_shown_period_uses_the_real_previous_period():
    t = lead_velocity(_mqls(SERIES), as_of="2024-06-30", start="2024-02-01")
    assert t["previous"].iloc[0] == 4
    assert t["lvr_pct"].iloc[0] == pytest.approx(50.0)


def test_quarterly_lvr_and_incomplete_period():
    t = lead_velocity(_mqls(SERIES), as_of="2024-05-20", period="quarter")
    assert list(t["period"]) == ["2024-Q1", "2024-Q2"]
    assert list(t["qualified"]) == [13, 2]
    assert t["lvr_pct"].iloc[1] == pytest.approx((2 - 13) / 13 * 100)
    assert list(t["complete"]) == [True, False]


def test_n_day_periods():
    stages = pd.DataFrame(
        {
            "contact_id": ["a", "b", "c", "d"],
            "stage": ["mql"] * 4,
            "timestamp": ["2024-01-01", "2024-01-05", "2024-01-15", "2024-01-16"],
        }
    )
    t = lead_velocity(stages, as_of="2024-02-01", period="14d")
    # Windows start 01-01 and 01-15.
    assert list(t["period"]) == ["2024-01-01", "2024-01-15"]
    assert list(t["qualified"]) == [2, 2]
    assert t["lvr_pct"].iloc[1] == pytest.approx(0.0)


def test_unrecorded_stage_is_implied_by_later_ones(stages):
    # Nobody has an "opportunity" row, but customers c1 (02-01) and c4 (03-20) passed it.
    t = lead_velocity(stages, as_of=AS_OF, stage="opportunity")
    assert list(t["period"]) == ["2024-02", "2024-03"]
    assert list(t["qualified"]) == [1, 1]
    assert t["lvr_pct"].iloc[1] == pytest.approx(0.0)


def test_stage_nobody_reached_gives_empty_series():
    only_mql = _mqls({"2024-01": 2})
    assert lead_velocity(only_mql, as_of=AS_OF, stage="customer").empty


def test_bad_period_is_a_clear_error(stages):
    with pytest.raises(ValueError, match="unknown period"):
        lead_velocity(stages, as_of=AS_OF, period="fortnight")


@pytest.fixture
def spend() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "channel": ["ads", "ads", "seo", "tv"],
            "period": ["2024-01", "2024-03", "2024-02", "2024-03"],
            "amount": ["100", "50", "30", "70"],
        }
    )


def test_cpa_by_channel(spend, stages, contacts):
    t = cost_per_acquisition(spend, stages, contacts, as_of=AS_OF)
    s = cpa_summary(t).set_index("channel")
    # ads: 150 spent, leads c1 c3 c5, one customer (c1) -> CPA 150, cost per lead 50
    assert s.loc["ads", "spend"] == pytest.approx(150.0)
    assert s.loc["ads", "leads"] == 3 and s.loc["ads", "acquisitions"] == 1
    assert s.loc["ads", "cpa"] == pytest.approx(150.0)
    assert s.loc["ads", "cost_per_lead"] == pytest.approx(50.0)
    assert s.loc["seo", "cpa"] == pytest.approx(30.0)
    # tv spent 70 and acquired nobody: no CPA rather than a fake number.
    assert math.isnan(s.loc["tv", "cpa"])
    assert s.loc["(total)", "cpa"] == pytest.approx(250.0 / 2)


def test_cpa_per_period(spend, stages, contacts):
    t = cost_per_acquisition(spend, stages, contacts, as_of=AS_OF)
    feb = t[(t["period"] == "2024-02")].set_index("channel")
    # In February ads acquired c1 with no February spend: a free acquisition.
    assert feb.loc["ads", "cpa"] == pytest.approx(0.0)
    assert feb.loc["(total)", "spend"] == pytest.approx(30.0)
    assert feb.loc["(total)", "cpa"] == pytest.approx(30.0)
    jan = t[(t["period"] == "2024-01")].set_index("channel")
    assert math.isnan(jan.loc["ads", "cpa"])  # spend, no acquisition


def test_cpa_quarterly_sums_monthly_spend(spend, stages, contacts):
    t = cost_per_acquisition(spend, stages, contacts, as_of=AS_OF, period="quarter")
    q1 = t[t["period"] == "2024-Q1"].set_index("channel")
    assert q1.loc["ads", "spend"] == pytest.approx(150.0)
    assert q1.loc["(total)", "acquisitions"] == 2
