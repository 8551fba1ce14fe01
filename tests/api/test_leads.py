"""Reading scores and leads, and the lifecycle (thresholds and sales actions)."""

from __future__ import annotations

import pytest

from .conftest import GOOD_FIT, Api, ago, event


@pytest.fixture
def crowd(api: Api) -> Api:
    """Four leads with different fit and engagement."""
    api.activate()
    api.contact("hot", owner="ana", **GOOD_FIT)
    api.contact(
        "warm", owner="ana", job_title="Director", industry="saas", country="US", employees=300
    )
    api.contact("cold", owner="bob", job_title="Student", country="FR")
    api.contact("new", owner="bob")
    items = [
        event("h1", "hot", type="form_submit", form="demo"),
        *[event(f"h{i}", "hot", url="/pricing") for i in range(2, 6)],
        # Older than the 7-day surge window: qualified but not surging.
        event("w1", "warm", url="/pricing", timestamp=ago(days=10)),
        event("w2", "warm", type="form_submit", form="demo", timestamp=ago(days=10)),
        event("w3", "warm", url="/pricing", timestamp=ago(days=10)),
        event("c1", "cold", url="/careers"),
    ]
    r = api.post("/v1/events/batch?wait=true", "ingest", json={"events": items})
    assert r.json()["accepted"] == 9
    api.service.drain()
    return api


def test_score_read_has_values_grades_stage_and_why(crowd: Api) -> None:
    s = crowd.get("/v1/contacts/hot/score", "read").json()
    assert s["grade"] == s["scores"]["fit"]["grade"] + s["scores"]["engagement"]["grade"]
    assert s["stage"] in ("mql", "sql")
    total = sum(c["points"] for c in s["contributions"] if c["score"] == "engagement")
    assert total == pytest.approx(s["scores"]["engagement"]["value"])
    assert s["top_reasons"][0] == "demo-request"
    assert s["model_version"] == 1 and s["pending_rescoring"] is False
    assert crowd.get("/v1/contacts/ghost/score", "read").status_code == 404


def test_score_as_of_recomputes_without_storing(crowd: Api) -> None:
    early = crowd.get("/v1/contacts/hot/score", "read", params={"as_of": ago(hours=2)})
    assert early.status_code == 200
    assert early.json()["scores"]["engagement"]["value"] == 0 or all(
        c["rule_id"] == "quiet-month"
        for c in early.json()["contributions"]
        if c["score"] == "engagement"
    )
    later = crowd.get("/v1/contacts/hot/score", "read", params={"as_of": ago(minutes=1)})
    assert later.json()["scores"]["engagement"]["value"] > 50
    bad = crowd.get("/v1/contacts/hot/score", "read", params={"as_of": "2026-11-21T00:00:00"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "as_of"
    bad = crowd.get("/v1/contacts/hot/score", "read", params={"as_of": "soon"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "as_of"


def test_list_leads_filters_sorts_and_paginates(crowd: Api) -> None:
    def ids(**params: object) -> list[str]:
        r = crowd.get("/v1/leads", "read", params=params)
        assert r.status_code == 200, r.text
        return [i["contact_id"] for i in r.json()["items"]]

    by_engagement = ids(sort="-engagement")
    assert by_engagement[0] == "hot"
    scores = [
        crowd.get(f"/v1/contacts/{c}/score", "read").json()["scores"]["engagement"]["value"]
        for c in by_engagement
    ]
    assert scores == sorted(scores, reverse=True)
    assert ids(sort="fit")[-1] in ("hot", "warm")
    assert set(ids(owner="bob")) == {"cold", "new"}
    hot_grade = crowd.get("/v1/contacts/hot/score", "read").json()["grade"]
    assert "hot" in ids(grade=hot_grade)
    assert ids(score="fit", min_score=40, sort="contact_id") == sorted(
        c
        for c in ("hot", "warm", "cold", "new")
        if crowd.get(f"/v1/contacts/{c}/score", "read").json()["scores"]["fit"]["value"] >= 40
    )
    assert ids(score="engagement", max_score=-1000) == []
    assert ids(surging=True) == ["hot"]
    assert "hot" in ids(stage=["mql", "sql"])
    page1 = crowd.get("/v1/leads", "read", params={"sort": "contact_id", "limit": 2}).json()
    page2 = crowd.get(
        "/v1/leads", "read", params={"sort": "contact_id", "limit": 2, "offset": 2}
    ).json()
    assert page1["total"] == page2["total"] == 4
    assert [i["contact_id"] for i in page1["items"] + page2["items"]] == [
        "cold",
        "hot",
        "new",
        "warm",
    ]


def test_list_leads_bad_input(crowd: Api) -> None:
    for params, field in [
        ({"sort": "nonsense"}, "sort"),
        ({"sort": "-x;drop"}, "sort"),
        ({"min_score": 10}, "score"),
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"surging": "perhaps"}, "surging"),
    ]:
        r = crowd.get("/v1/leads", "read", params=params)
        assert r.status_code == 422, params
        assert r.json()["detail"][0]["field"] == field, params


def test_grades_history_and_threshold_transitions(crowd: Api) -> None:
    grades = crowd.get("/v1/grades", "read").json()
    assert sum(grades.values()) == 4
    hot = crowd.get("/v1/contacts/hot").json()
    assert hot["history"] and hot["history"][-1]["model_version"] == 1
    causes = [(t["from_stage"], t["to_stage"], t["cause"]) for t in hot["transitions"]]
    assert causes[0] == (None, "lead", "created")
    assert causes[1] == ("lead", "mql", "threshold")
    history = crowd.get("/v1/contacts/hot/history", "read").json()
    assert history == hot["history"]
    assert crowd.get("/v1/contacts/ghost/history", "read").status_code == 404


def test_sales_actions_are_recorded_with_cause_and_reason(crowd: Api) -> None:
    def act(contact: str, **body: object) -> object:
        return crowd.post(f"/v1/contacts/{contact}/stage", "ingest", json=body)

    assert crowd.get("/v1/contacts/hot", "read").json()["stage"] == "sql"  # threshold
    r = act("hot", action="reject", reason="no budget this year")
    assert r.status_code == 200 and r.json()["stage"] == "lead"
    assert crowd.get("/v1/contacts/warm", "read").json()["stage"] == "mql"
    r = act("warm", action="accept")
    assert r.json()["stage"] == "sql"
    assert act("warm", action="accept").status_code == 409
    r = act("warm", action="opportunity", value=5000, currency="eur")
    assert r.json()["stage"] == "opportunity"
    r = act("warm", action="won", value=12000, currency="EUR")
    assert r.json()["stage"] == "customer"
    assert act("warm", action="lost", reason="x").status_code == 409
    r = act("cold", action="lost", reason="went with a competitor")
    assert r.json()["stage"] == "lost"

    warm = crowd.get("/v1/contacts/warm").json()
    sales = [t for t in warm["transitions"] if t["cause"].startswith("sales:")]
    assert [(t["from_stage"], t["to_stage"], t["cause"]) for t in sales] == [
        ("mql", "sql", "sales:accept"),
        ("sql", "opportunity", "sales:opportunity"),
        ("opportunity", "customer", "sales:won"),
    ]
    assert all(t["actor"] == "test-ingest" for t in sales)
    assert [(o["kind"], o["value"], o["currency"]) for o in warm["outcomes"]] == [
        ("opportunity", 5000, "EUR"),
        ("won", 12000, "EUR"),
    ]
    hot = crowd.get("/v1/contacts/hot").json()
    assert hot["transitions"][-1]["reason"] == "no budget this year"
    # A rejected lead is not promoted again by the same, still-high scores...
    crowd.post("/v1/events?wait=true", "ingest", json=event("h9", "hot", url="/pricing"))
    assert crowd.get("/v1/contacts/hot", "read").json()["stage"] == "lead"
    # ...and a customer stays a customer whatever its scores do.
    crowd.post("/v1/events?wait=true", "ingest", json=event("w9", "warm", url="/pricing"))
    assert crowd.get("/v1/contacts/warm", "read").json()["stage"] == "customer"


def test_sales_action_bad_input(crowd: Api) -> None:
    for body, status, field in [
        ({"action": "promote"}, 422, "action"),
        ({}, 422, "action"),
        ({"action": "reject"}, 422, "reason"),
        ({"action": "won", "value": -5}, 422, "value"),
        ({"action": "won", "value": "lots"}, 422, "value"),
        ({"action": "won", "currency": "euro"}, 422, "currency"),
    ]:
        r = crowd.post("/v1/contacts/hot/stage", "ingest", json=body)
        assert r.status_code == status, body
        assert r.json()["detail"][0]["field"] == field, body
    r = crowd.post("/v1/contacts/ghost/stage", "ingest", json={"action": "accept"})
    assert r.status_code == 404
