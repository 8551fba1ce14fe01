"""Numeric event properties aggregated and categorical values counted, under the same
point-in-time guard as the counts; the leakage guard reads property columns too; each
factor carries a sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadscore.learn.features import TrainingSetError, build_training_set, event_features
from leadscore.learn.tabular import FeatureInfo, factor_sentence


def _events(rows: list[tuple[str, str, str, float | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "event_id": f"e{i}",
                "contact_id": c,
                "type": t,
                "timestamp": ts,
                "seconds": s,
                "plan": p,
            }
            for i, (c, t, ts, s, p) in enumerate(rows)
        ]
    )


def test_property_aggregates_stop_at_each_leads_snapshot() -> None:
    events = _events(
        [
            ("a", "page_view", "2026-01-02", 10.0, "pro"),
            ("a", "page_view", "2026-01-05", 30.0, "pro"),
            ("a", "page_view", "2026-01-20", 500.0, "pro"),  # after a's snapshot
            ("b", "page_view", "2026-01-03", 7.0, "basic"),
            ("c", "email_open", "2026-01-03", None, None),
        ]
        + [
            (f"x{i}", "page_view", "2026-01-03", float(i), "pro" if i < 20 else "basic")
            for i in range(30)
        ]
    )
    ids = pd.Series(["a", "b", "c", *(f"x{i}" for i in range(30))])
    snap = pd.Series(pd.to_datetime(["2026-01-10"] * len(ids), utc=True))
    from leadscore.learn.features import auto_event_groups

    groups = auto_event_groups(events, min_contacts=20)
    pv = next(g for g in groups if g.name == "page_view")
    assert pv.numeric == ("seconds",)
    X, infos = event_features(ids, snap, events, groups=groups)
    assert X.loc["a", "page_view_seconds_sum_90d"] == 40.0  # not the 500 after the snapshot
    assert X.loc["a", "page_view_seconds_max_90d"] == 30.0
    assert X.loc["a", "page_view_seconds_last_90d"] == 30.0
    assert X.loc["b", "page_view_seconds_sum_90d"] == 7.0
    assert X.loc["c", "page_view_seconds_sum_90d"] == 0.0
    assert np.isnan(X.loc["c", "page_view_seconds_max_90d"])
    # a categorical property with few values is counted per value
    assert X.loc["a", "page_view_plan_pro_count_90d"] == 2.0
    assert infos["page_view_seconds_sum_90d"].kind == "property"


def test_property_holding_later_dates_is_a_leak() -> None:
    rng = np.random.default_rng(0)
    n = 400
    created = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        rng.uniform(0, 200, n), unit="D"
    )
    converts = rng.random(n) < 0.3
    converted_at = pd.Series(created + pd.to_timedelta(30, unit="D")).where(converts)
    contacts = pd.DataFrame(
        {
            "contact_id": [f"c{i}" for i in range(n)],
            "created_at": created,
            "converted_at": converted_at,
        }
    )
    visit = created + pd.to_timedelta(2, unit="D")
    events = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "contact_id": contacts["contact_id"],
            "type": "page_view",
            "timestamp": visit,
            # a CRM sync stamped the deal's close date on earlier visits
            "deal_closed_at": converted_at.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    with pytest.raises(TrainingSetError, match=r"events\.deal_closed_at"):
        build_training_set(contacts, events, horizon_days=60, data_end="2025-12-31")
    ts = build_training_set(
        contacts, events, horizon_days=60, data_end="2025-12-31", on_leak="drop"
    )
    assert ts.dropped_columns == ["events.deal_closed_at"]
    assert not [c for c in ts.X.columns if "deal_closed" in c]


def test_leakage_guard_checks_property_aggregates() -> None:
    """A numeric property that gives the outcome away (a deal amount on a visit)
    is caught by the single-column check like a profile field."""
    rng = np.random.default_rng(1)
    n = 600
    created = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        rng.uniform(0, 200, n), unit="D"
    )
    converts = rng.random(n) < 0.3
    contacts = pd.DataFrame(
        {
            "contact_id": [f"c{i}" for i in range(n)],
            "created_at": created,
            "converted_at": pd.Series(created + pd.to_timedelta(40, unit="D")).where(converts),
        }
    )
    events = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "contact_id": contacts["contact_id"],
            "type": "page_view",
            "timestamp": created + pd.to_timedelta(1, unit="D"),
            "amount": np.where(converts, 1000.0, 0.0) + rng.uniform(0, 1, n),
        }
    )
    with pytest.raises(TrainingSetError, match="page_view_amount_sum_90d"):
        build_training_set(contacts, events, horizon_days=60, data_end="2025-12-31")


def test_factor_sentences() -> None:
    careers = FeatureInfo(
        "page_view_url_careers_count_90d",
        "event_count",
        ("page_view",),
        {"url": {"starts_with": "/careers"}},
        within_days=90,
    )
    assert factor_sentence(careers, 5.0) == "Visited the /careers page 5 times in the last 90 days"
    assert factor_sentence(careers, 0.0) == "Never visited the /careers page in the last 90 days"
    assert factor_sentence(FeatureInfo("industry"), "software") == "Industry is software"
    assert factor_sentence(FeatureInfo("employees"), None) == "Employees is not filled in"
    quiet = FeatureInfo("email_open_recency_days", "recency", ("email_open",))
    assert factor_sentence(quiet, 3.2) == "Last opened e-mails 3 days ago"
    assert factor_sentence(quiet, float("inf")) == "Never opened e-mails"
    seconds = FeatureInfo(
        "page_view_seconds_sum_90d",
        "property",
        ("page_view",),
        within_days=90,
        prop="seconds",
        stat="sum",
    )
    assert (
        factor_sentence(seconds, 616.0) == "Seconds on page views in the last 90 days: 616 in total"
    )
