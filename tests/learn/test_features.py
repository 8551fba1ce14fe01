"""Point-in-time training sets: no future event reaches a feature, labels come from
the horizon only, and the leakage guard catches columns filled in after the outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadscore.learn.features import (
    EventGroup,
    TrainingSetError,
    build_training_set,
    check_leakage,
    event_features,
)


def _contacts(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def test_snapshot_never_sees_a_later_event() -> None:
    contacts = _contacts(
        [
            {"contact_id": "a", "created_at": "2026-01-01T00:00:00Z", "converted_at": None},
            {"contact_id": "b", "created_at": "2026-01-01T00:00:00Z", "converted_at": None},
        ]
    )
    snap = pd.Series(pd.to_datetime(["2026-01-10T00:00:00Z"] * 2, utc=True))
    events = pd.DataFrame(
        {
            "event_id": ["e1", "e2", "e3", "e4"],
            "contact_id": ["a", "a", "a", "b"],
            "type": ["page_view"] * 4,
            # exactly at the snapshot counts; one second later does not
            "timestamp": [
                "2026-01-10T00:00:00Z",
                "2026-01-10T00:00:01Z",
                "2026-03-01T00:00:00Z",
                "2026-01-09T00:00:00Z",
            ],
            "url": ["/pricing", "/pricing", "/pricing", "/blog"],
        }
    )
    groups = [
        EventGroup("views", ("page_view",)),
        EventGroup("pricing", ("page_view",), {"url": {"starts_with": "/pricing"}}),
    ]
    X, infos = event_features(contacts["contact_id"], snap, events, groups=groups, windows=(1, 30))
    assert X.loc["a", "views_count_30d"] == 1
    assert X.loc["a", "pricing_count_30d"] == 1
    assert X.loc["a", "views_recency_days"] == 0
    assert X.loc["b", "views_count_1d"] == 1  # age exactly 1 day is inside a 1-day window
    assert X.loc["b", "pricing_count_30d"] == 0
    assert np.isinf(X.loc["b", "pricing_recency_days"])
    assert infos["pricing_count_30d"].where == {"url": {"starts_with": "/pricing"}}


def test_generated_history_has_no_post_snapshot_feature(history, training_set) -> None:
    contacts, events = history
    X = training_set.X
    # purchases happen only after converting, i.e. after the snapshot: no feature for them
    assert not [c for c in X.columns if "purchase" in c]
    # converters visit pricing a lot after the snapshot; before it, counts are bounded by
    # what the generator put there (Poisson(0.8) pricing views in the first 14 days)
    pre = events[(events["url"] == "/pricing") & (events["type"] == "page_view")]
    stamps = pd.to_datetime(pre["timestamp"], utc=True)
    created = contacts.set_index("contact_id")["created_at"]
    snap = pd.to_datetime(created, utc=True) + pd.Timedelta(days=14)
    before = pre[stamps.to_numpy() <= snap.loc[pre["contact_id"]].to_numpy()]
    expected = before.groupby("contact_id").size().reindex(X.index, fill_value=0)
    assert (X["page_view_url_pricing_count_90d"] == expected.to_numpy()).all()


def test_labels_use_the_horizon_and_censor_unfinished_leads() -> None:
    contacts = _contacts(
        [
            # converts 10 days after its snapshot: positive
            {"contact_id": "p", "created_at": "2026-01-01", "converted_at": "2026-01-25"},
            # converted before the snapshot: left out
            {"contact_id": "early", "created_at": "2026-01-01", "converted_at": "2026-01-05"},
            # converts after the 30-day horizon: negative
            {"contact_id": "late", "created_at": "2026-01-01", "converted_at": "2026-03-30"},
            # horizon not over at the data end and not converted: left out
            {"contact_id": "young", "created_at": "2026-03-10", "converted_at": None},
            # snapshot (created + 14 days) after the data end: left out
            {"contact_id": "new", "created_at": "2026-03-25", "converted_at": None},
            {"contact_id": "n", "created_at": "2026-01-02", "converted_at": None},
        ]
    )
    ts = build_training_set(contacts, None, horizon_days=30, data_end="2026-04-01", on_leak="warn")
    assert dict(zip(ts.X.index, ts.y, strict=True)) == {"p": 1, "late": 0, "n": 0}
    assert ts.excluded["converted before the snapshot"] == 1
    assert ts.excluded["horizon not over at the end of the data"] == 1
    assert ts.excluded["snapshot after the end of the data"] == 1
    assert "created_at" not in ts.X.columns and "converted_at" not in ts.X.columns


def test_leakage_guard_catches_a_planted_post_outcome_column(history) -> None:
    contacts, events = history
    planted = contacts.copy()
    converted = planted["converted_at"].notna()
    # the CRM fills in the deal stage date when the deal closes: after the snapshot
    planted["stage_changed_at"] = planted["converted_at"] + pd.Timedelta(days=2)
    # and the deal amount, only for customers
    planted["deal_amount"] = np.where(converted, 1000.0, np.nan)
    with pytest.raises(TrainingSetError, match="stage_changed_at") as info:
        build_training_set(planted, events)
    assert "deal_amount" in str(info.value)
    ts = build_training_set(planted, events, on_leak="drop")
    assert set(ts.dropped_columns) == {"stage_changed_at", "deal_amount"}
    assert "deal_amount" not in ts.X.columns
    reasons = {f.column: f.reason for f in ts.leakage}
    assert "after the snapshot" in reasons["stage_changed_at"]


def test_leakage_guard_leaves_honest_columns_and_ids_alone(training_set) -> None:
    X = training_set.X.copy()
    X["row_id"] = [f"id{i}" for i in range(len(X))]  # unique per lead: cross-fitting sees noise
    assert [f for f in check_leakage(X, training_set.y) if f.severity == "leak"] == []


def test_rows_are_sorted_by_snapshot_for_temporal_splits(training_set) -> None:
    snaps = training_set.snapshot_at.to_numpy()
    assert (snaps[1:] >= snaps[:-1]).all()
    train, test = training_set.temporal_split(0.25)
    assert train.snapshot_at.max() <= test.snapshot_at.min()
    assert len(test.y) == round(len(training_set.y) * 0.25)


def test_bad_input_names_the_column_and_row() -> None:
    contacts = _contacts(
        [
            {"contact_id": "a", "created_at": "2026-01-01", "converted_at": None},
            {"contact_id": "b", "created_at": "not a date", "converted_at": None},
        ]
    )
    with pytest.raises(TrainingSetError, match=r"created_at'.*row 2.*not a date"):
        build_training_set(contacts, None)
    with pytest.raises(TrainingSetError, match=r"missing column.*converted_at"):
        build_training_set(contacts.drop(columns="converted_at"), None)
    dupes = _contacts(
        [
            {"contact_id": "a", "created_at": "2026-01-01", "converted_at": None},
            {"contact_id": "a", "created_at": "2026-01-02", "converted_at": None},
        ]
    )
    with pytest.raises(TrainingSetError, match="row 2, duplicate contact_id 'a'"):
        build_training_set(dupes, None)


def test_snapshot_at_a_stage_column() -> None:
    contacts = _contacts(
        [
            {"contact_id": "a", "mql_at": "2026-01-05", "converted_at": "2026-01-20"},
            {"contact_id": "b", "mql_at": None, "converted_at": None},
            {"contact_id": "c", "mql_at": "2026-01-06", "converted_at": None},
        ]
    )
    ts = build_training_set(
        contacts, None, snapshot="column:mql_at", horizon_days=30, data_end="2026-06-01"
    )
    assert list(ts.X.index) == ["a", "c"]
    assert list(ts.y) == [1, 0]
    assert "mql_at" not in ts.X.columns
    assert ts.excluded["no snapshot (e.g. never reached the snapshot stage)"] == 1


def test_snapshot_by_bare_column_name() -> None:
    contacts = _contacts(
        [
            {"contact_id": "a", "mql_at": "2026-01-05", "converted_at": "2026-01-20"},
            {"contact_id": "c", "mql_at": "2026-01-06", "converted_at": None},
        ]
    )
    bare = build_training_set(
        contacts, None, snapshot="mql_at", horizon_days=30, data_end="2026-06-01", on_leak="warn"
    )
    named = build_training_set(
        contacts,
        None,
        snapshot="column:mql_at",
        horizon_days=30,
        data_end="2026-06-01",
        on_leak="warn",
    )
    assert bare.snapshot_at.equals(named.snapshot_at) and list(bare.y) == [1, 0]
    with pytest.raises(TrainingSetError, match="a contacts column holding dates"):
        build_training_set(contacts, None, snapshot="sql_at")
