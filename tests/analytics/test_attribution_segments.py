"""Attribution credits, factual tags and RFM scores on hand-checkable data."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from leadscore.analytics import attribution, factual_tags, rfm, segment_summary
from leadscore.analytics.segments import SEGMENT_ORDER

from .conftest import AS_OF


def test_first_last_linear_by_campaign(events, stages):
    t = attribution(events, stages, as_of=AS_OF, touch="campaign").set_index("touch")
    # c1 (converts 02-01): a (01-01), b (01-03); the form has no campaign and the
    # 02-15 touch comes after the conversion. c4 (03-20): c, c.
    assert t.loc["a", ["first_touch", "last_touch", "linear"]].tolist() == [1.0, 0.0, 0.5]
    assert t.loc["b", ["first_touch", "last_touch", "linear"]].tolist() == [0.0, 1.0, 0.5]
    assert t.loc["c", ["first_touch", "last_touch", "linear"]].tolist() == [1.0, 1.0, 1.0]
    assert t.loc["c", "touches"] == 2
    assert "z" not in t.index
    for col in ("first_touch", "last_touch", "linear"):
        assert t[col].sum() == pytest.approx(2.0)  # two conversions
    assert t.loc["c", "linear_share"] == pytest.approx(0.5)


def test_conversions_without_touch_and_filters(events, stages):
    t = attribution(
        events, stages, as_of=AS_OF, touch="url", event_types=["page_view"], lookback_days=15
    ).set_index("touch")
    # c1: page views 01-01 (31 days before) and 02-15 (after) -> no touch.
    # c4: /home page view on 03-05 is exactly 15 days before 03-20: included.
    assert t.loc["(no touch)", "linear"] == pytest.approx(1.0)
    assert t.loc["/home", "first_touch"] == pytest.approx(1.0)
    assert "/demo" not in t.index  # a form, not a page view


def test_ties_are_broken_by_event_id():
    ev = pd.DataFrame(
        {
            "event_id": [2, 1],
            "contact_id": ["x", "x"],
            "type": ["email_click", "email_click"],
            "timestamp": ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"],
            "campaign": ["late", "early"],
        }
    )
    st = pd.DataFrame({"contact_id": ["x"], "stage": ["customer"], "timestamp": ["2024-01-02"]})
    t = attribution(ev, st, as_of=AS_OF).set_index("touch")
    assert t.loc["early", "first_touch"] == 1.0 and t.loc["late", "last_touch"] == 1.0


def test_no_conversions_gives_empty_credit(events):
    st = pd.DataFrame({"contact_id": ["c1"], "stage": ["mql"], "timestamp": ["2024-01-05"]})
    t = attribution(events, st, as_of=AS_OF)
    assert t.empty


def test_tag_weight_is_decay_times_place_times_action(events):
    t = factual_tags(
        events,
        as_of=AS_OF,
        half_life_days=30,
        action_weights={"form_submit": 5.0},
        place_weights={"/pricing*": 2.0, "/careers*": 0.2},
    )
    c3 = t[t["contact_id"] == "c3"].set_index("tag")
    # email click on Saturday 03-02, exactly 30 days before as_of: half weight.
    assert c3.loc["what:email_click", "weight"] == pytest.approx(0.5)
    assert c3.loc["when:weekend", "weight"] == pytest.approx(0.5)
    c2 = t[t["contact_id"] == "c2"].set_index("tag")
    # /pricing page view on 03-01 (31 days): 2.0 x 0.5^(31/30)
    assert c2.loc["where:/pricing", "weight"] == pytest.approx(2.0 * 0.5 ** (31 / 30))
    # /careers on 01-10 (82 days): 0.2 x 0.5^(82/30)
    assert c2.loc["where:/careers", "weight"] == pytest.approx(0.2 * 0.5 ** (82 / 30))
    assert c2.loc["what:page_view", "events"] == 2
    c4 = t[t["contact_id"] == "c4"].set_index("tag")
    age = (pd.Timestamp("2024-04-01") - pd.Timestamp("2024-03-06T20:00")) / pd.Timedelta(days=1)
    assert c4.loc["what:form_submit", "weight"] == pytest.approx(5.0 * 0.5 ** (age / 30))
    assert c4.loc["when:off_hours", "events"] == 2  # Tue 00:00 and Wed 20:00


def test_who_tags_do_not_decay(events, contacts):
    t = factual_tags(events, contacts, as_of=AS_OF, who_fields=["source"])
    who = t[t["dimension"] == "who"].set_index("contact_id")
    assert who.loc["c5", "tag"] == "who:source=ads"
    assert who.loc["c5", "weight"] == 1.0


def _rfm_fixture() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contact i: last event i+1 days before as_of; counts and money chosen for ties."""
    as_of = pd.Timestamp("2024-06-01", tz="UTC")
    counts = [1, 1, 1, 1, 2, 3, 4, 5, 6, 7]
    money = [0, 0, 0, 0, 0, 0, 100, 100, 200, 300]
    rows, eid = [], 0
    for i, n in enumerate(counts):
        for k in range(n):
            eid += 1
            ts = as_of - pd.Timedelta(days=i + 1 + k * 0.001)
            rows.append((eid, f"k{i}", "page_view", ts))
    ev = pd.DataFrame(rows, columns=["event_id", "contact_id", "type", "timestamp"])
    m = pd.DataFrame({"contact_id": [f"k{i}" for i in range(10)], "value": money})
    return ev, m


def test_rfm_quintiles_with_ties():
    ev, m = _rfm_fixture()
    t = rfm(ev, as_of="2024-06-01", monetary=m).set_index("contact_id")
    # Recency days 1..10: cut points 2.8, 4.6, 6.4, 8.2; recent is good.
    assert [t.loc[f"k{i}", "r"] for i in range(10)] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # Frequency 1,1,1,1,2,3,4,5,6,7: cut points 1, 1.6, 3.4, 5.2; the four 1s tie at 1.
    assert [t.loc[f"k{i}", "f"] for i in range(10)] == [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
    # Money 0 x6, 100, 100, 200, 300: cut points 0, 0, 40, 120; both 100s score 4.
    assert [t.loc[f"k{i}", "m"] for i in range(10)] == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert t.loc["k0", "rfm"] == "511"
    assert t.loc["k0", "segment"] == "Promising"  # recent, rare, no money
    assert t.loc["k9", "segment"] == "At risk"  # R1 low, F5 and M5 high


def test_rfm_segments_follow_high_low():
    ev, m = _rfm_fixture()
    t = rfm(ev, as_of="2024-06-01", monetary=m).set_index("contact_id")
    expected = {
        "k0": "Promising",  # R5 F1 M1
        "k4": "Loyal",  # R3 F3 M1
        "k6": "At risk",  # R2 F4 M4
        "k8": "At risk",  # R1 F5 M5
        "k5": "Loyal",  # R3 F3 M1
        "k7": "At risk",  # R2 F4 M4
    }
    for cid, seg in expected.items():
        assert t.loc[cid, "segment"] == seg, cid


def test_rfm_explicit_edges_and_inactive_contacts():
    ev, m = _rfm_fixture()
    contacts = pd.DataFrame({"contact_id": ["k0", "ghost"], "created_at": ["2024-01-01"] * 2})
    t = rfm(
        ev,
        as_of="2024-06-01",
        monetary=m,
        contacts=contacts,
        recency_edges=[3, 7],
        frequency_edges=[2],
        monetary_edges=[150],
        high_score=2,
    ).set_index("contact_id")
    # Three recency levels: <=3 d -> 3, <=7 d -> 2, older -> 1.
    assert t.loc["k2", "r"] == 3 and t.loc["k3", "r"] == 2 and t.loc["k9", "r"] == 1
    assert t.loc["k4", "f"] == 1 and t.loc["k5", "f"] == 2
    assert t.loc["k8", "m"] == 2 and t.loc["k7", "m"] == 1
    # A contact with no activity at all: least recent, F 0, M 0.
    assert math.isnan(t.loc["ghost", "recency_days"])
    assert t.loc["ghost", "rfm"] == "111" and t.loc["ghost", "segment"] == "Hibernating"
    assert t.loc["k9", "segment"] == "At risk"  # R1 F2 M2 with high >= 2


def test_rfm_all_equal_values_tie_to_one_score():
    ev = pd.DataFrame(
        {
            "event_id": [1, 2, 3],
            "contact_id": ["a", "b", "c"],
            "type": ["x"] * 3,
            "timestamp": ["2024-05-01"] * 3,
        }
    )
    t = rfm(ev, as_of="2024-06-01")
    assert t["r"].nunique() == 1 and t["f"].nunique() == 1 and set(t["m"]) == {1}


def test_segment_summary_lists_all_eight(events):
    s = segment_summary(rfm(events, as_of=AS_OF))
    assert list(s["segment"]) == SEGMENT_ORDER
    assert s["contacts"].sum() == 4
    assert s["share"].sum() == pytest.approx(1.0)
