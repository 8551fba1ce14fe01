"""Funnel and fresh-vs-nurtured figures, checked against values worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from leadscore.analytics import fresh_vs_nurtured, funnel_report

from .conftest import AS_OF


def _row(frame: pd.DataFrame, **match: object) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for k, v in match.items():
        mask &= frame[k] == v
    assert mask.sum() == 1, f"expected one row for {match}, got {int(mask.sum())}"
    return frame[mask].iloc[0]


def test_stage_counts_rates_and_medians(stages, contacts):
    r = funnel_report(stages, contacts, as_of=AS_OF)
    assert r.funnel == ["lead", "mql", "sql", "customer"]
    st = r.stages.set_index("stage")
    # c4 skipped SQL but became a customer: it counts as having passed SQL.
    assert st["reached"].to_dict() == {"lead": 5, "mql": 4, "sql": 2, "customer": 2}
    assert st.loc["mql", "rate_from_previous"] == pytest.approx(4 / 5)
    assert st.loc["sql", "rate_from_previous"] == pytest.approx(2 / 4)
    assert st.loc["customer", "rate_from_previous"] == pytest.approx(1.0)
    assert st.loc["customer", "rate_from_first"] == pytest.approx(2 / 5)
    # lead -> mql days: c1 35, c2 5, c3 2, c4 69 -> median 20
    assert st.loc["mql", "median_days_from_previous"] == pytest.approx(20.0)
    # mql -> sql recorded only for c1 (5 days); the implied SQL of c4 is not timed.
    assert st.loc["sql", "median_days_from_previous"] == pytest.approx(5.0)
    assert st.loc["customer", "median_days_from_previous"] == pytest.approx(22.0)
    assert st.loc["mql", "lost_here"] == 1  # c2 was lost after MQL
    assert math.isnan(st.loc["lead", "median_days_from_previous"])


def test_mql_to_customer_pair(stages, contacts):
    r = funnel_report(stages, contacts, as_of=AS_OF)
    row = _row(r.conversions, from_stage="mql", to_stage="customer")
    assert (row["entered"], row["converted"]) == (4, 2)
    assert row["rate"] == pytest.approx(0.5)
    assert row["median_days"] == pytest.approx((27 + 10) / 2)
    pairs = list(zip(r.conversions["from_stage"], r.conversions["to_stage"], strict=True))
    assert pairs == [("lead", "mql"), ("mql", "sql"), ("sql", "customer"), ("mql", "customer")]


def test_by_period_keeps_empty_periods(stages, contacts):
    r = funnel_report(stages, contacts, as_of=AS_OF)
    s = r.by_period[(r.by_period["from_stage"] == "mql") & (r.by_period["to_stage"] == "customer")]
    assert list(s["period"]) == ["2023-12", "2024-01", "2024-02", "2024-03"]
    assert list(s["entered"]) == [0, 2, 0, 2]
    assert list(s["converted"]) == [0, 1, 0, 1]
    rates = list(s["rate"])
    # A period with no MQL has no rate: NaN, not 0 %.
    assert math.isnan(rates[0]) and math.isnan(rates[2])
    assert rates[1] == pytest.approx(0.5) and rates[3] == pytest.approx(0.5)


def test_entries_and_cohorts(stages, contacts):
    r = funnel_report(stages, contacts, as_of=AS_OF)
    e = r.entries.set_index("period")
    assert e.loc["2024-01", ["lead", "mql", "sql", "customer"]].tolist() == [2, 2, 1, 0]
    assert e.loc["2024-03", ["lead", "mql", "sql", "customer"]].tolist() == [1, 2, 1, 1]
    c = r.cohorts.set_index("period")
    # Created in January: c2 (mql, lost) and c4 (mql, customer).
    assert c.loc["2024-01", "leads"] == 2
    assert c.loc["2024-01", "customer"] == 1
    assert c.loc["2024-01", "customer_rate"] == pytest.approx(0.5)
    assert c.loc["2024-02", "mql_rate"] == pytest.approx(0.0)  # c5 never qualified


def test_as_of_hides_the_future(stages, contacts):
    r = funnel_report(stages, contacts, as_of="2024-03-15")
    st = r.stages.set_index("stage")
    # c4's customer transition (03-20) is not known yet, so neither is its implied SQL.
    assert st.loc["customer", "reached"] == 1
    assert st.loc["sql", "reached"] == 1
    assert st.loc["mql", "reached"] == 4


def test_within_days_caps_the_conversion_window(stages, contacts):
    r = funnel_report(stages, contacts, as_of=AS_OF, within_days=20)
    row = _row(r.conversions, from_stage="mql", to_stage="customer")
    assert row["converted"] == 1  # c4 in 10 days; c1 took 27


def test_breakdown_by_source(stages, contacts):
    r = funnel_report(stages, contacts, as_of=AS_OF, by="source")
    ads = r.stages[r.stages["source"] == "ads"].set_index("stage")
    seo = r.stages[r.stages["source"] == "seo"].set_index("stage")
    assert ads["reached"].to_dict() == {"lead": 3, "mql": 2, "sql": 1, "customer": 1}
    assert seo["reached"].to_dict() == {"lead": 2, "mql": 2, "sql": 1, "customer": 1}
    per = r.by_period
    assert set(per["source"]) == {"ads", "seo"}
    # Both groups get every period, even the ones where they had nothing.
    assert per.groupby("source").size().nunique() == 1


def test_explicit_funnel_and_timezones(stages):
    s = stages.copy()
    # 23:30 at -05:00 is 04:30 UTC the next day: lands in February.
    s.loc[0, "timestamp"] = "2024-01-31T23:30:00-05:00"
    r = funnel_report(s, as_of=AS_OF, funnel=["mql", "customer"])
    assert r.funnel == ["mql", "customer"]
    e = r.entries.set_index("period")
    assert e.loc["2024-02", "mql"] == 1


def test_empty_stage_table_gives_empty_report():
    empty = pd.DataFrame({"contact_id": [], "stage": [], "timestamp": []})
    r = funnel_report(empty, as_of=AS_OF)
    assert r.funnel == []
    assert r.stages.empty and r.by_period.empty


def test_fresh_versus_nurtured(stages, contacts):
    t = fresh_vs_nurtured(stages, contacts, as_of=AS_OF, fresh_days=30).set_index("segment")
    # Ages at MQL: c1 35 d (nurtured), c2 5 d, c3 2 d (fresh), c4 69 d (nurtured).
    assert t.loc["fresh", "qualified"] == 2 and t.loc["nurtured", "qualified"] == 2
    assert t.loc["fresh", "converted"] == 0 and t.loc["nurtured", "converted"] == 2
    assert t.loc["nurtured", "share_of_conversions"] == pytest.approx(1.0)
    assert t.loc["fresh", "share_of_qualified"] == pytest.approx(0.5)
    assert t.loc["fresh", "median_age_days"] == pytest.approx(3.5)
    assert t.loc["nurtured", "median_age_days"] == pytest.approx(52.0)
    assert "unknown" not in t.index


def test_fresh_without_creation_time_is_unknown(stages):
    t = fresh_vs_nurtured(stages, as_of=AS_OF).set_index("segment")
    assert t.loc["unknown", "qualified"] == 4
    assert t.loc["fresh", "qualified"] == 0


def test_repeated_index_labels_do_not_matter(stages, contacts):
    doubled = pd.concat([stages.iloc[:4], stages.iloc[4:]])  # index 0-3 then 4-7 ...
    doubled.index = [0, 1, 2, 3, 0, 1, 2, 3]  # ... relabelled to repeat
    r = funnel_report(doubled, contacts, as_of=AS_OF)
    assert r.stages.set_index("stage")["reached"].to_dict() == {
        "lead": 5,
        "mql": 4,
        "sql": 2,
        "customer": 2,
    }


def test_fresh_boundary_and_converted_stage():
    """Exactly N days before qualifying is nurtured ("less than N days" is fresh)."""
    st = pd.DataFrame(
        {
            "contact_id": ["a", "b", "b", "c", "c"],
            "stage": ["mql", "mql", "sql", "mql", "sql"],
            "timestamp": [
                "2024-01-31",
                "2024-01-30T23:59:00",
                "2024-02-05",
                "2024-03-01",
                "2024-03-02",
            ],
        }
    )
    people = pd.DataFrame(
        {"contact_id": ["a", "b", "c"], "created_at": ["2024-01-01", "2024-01-01", "2023-06-01"]}
    )
    t = fresh_vs_nurtured(st, people, as_of=AS_OF, fresh_days=30, converted_stage="sql").set_index(
        "segment"
    )
    # a: exactly 30 days -> nurtured; b: 29 d 23 h 59 min -> fresh; c: 274 days -> nurtured.
    assert t.loc["fresh", "qualified"] == 1 and t.loc["nurtured", "qualified"] == 2
    # Conversions to SQL: b (fresh) and c (nurtured): half each.
    assert t.loc["fresh", "share_of_conversions"] == pytest.approx(0.5)
    assert t.loc["nurtured", "conversion_rate"] == pytest.approx(0.5)
    assert t["share_of_conversions"].sum() == pytest.approx(1.0)
