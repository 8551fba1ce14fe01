"""Anonymous activity (SPEC D5): kept before the person is known, counted after identify."""

from __future__ import annotations

from .conftest import GOOD_FIT, Api, event


def _anon(event_id: str, anonymous_id: str = "cookie-9", **props: object) -> dict[str, object]:
    return {
        **event(event_id, contact_id=None, **props),
        "anonymous_id": anonymous_id,
        "ip": "10.0.0.7",
    }


def test_identify_moves_anonymous_activity_into_the_score(api: Api) -> None:
    api.activate()
    api.contact("c1", **GOOD_FIT)
    anon = [
        _anon("v1", url="/pricing"),
        _anon("v2", url="/pricing/enterprise"),
        _anon("v3", type="form_submit", form="demo"),
    ]
    r = api.post("/v1/events/batch?wait=true", "ingest", json={"events": anon})
    assert r.json()["accepted"] == 3
    assert all("contact_id" not in i for i in r.json()["results"])
    api.post("/v1/events?wait=true", "ingest", json=event("k1", url="/blog"))
    before = api.get("/v1/contacts/c1/score", "read").json()
    assert {c["rule_id"] for c in before["contributions"]} & {"pricing", "demo-request"} == set()

    r = api.post(
        "/v1/identify?wait=true",
        "ingest",
        json={"anonymous_id": "cookie-9", "email": "VP@acme.com"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["events_linked"] == 3 and r.json()["contact_id"] == "c1"
    after = api.get("/v1/contacts/c1/score", "read").json()
    rules = {c["rule_id"]: c for c in after["contributions"]}
    assert sorted(rules["pricing"]["evidence"]) == ["v1", "v2"]
    assert rules["demo-request"]["evidence"] == ["v3"]
    assert after["scores"]["engagement"]["value"] > before["scores"]["engagement"]["value"] + 50
    # Later anonymous events from the same cookie go straight to the contact.
    r = api.post("/v1/events?wait=true", "ingest", json=_anon("v4", url="/pricing"))
    assert r.json()["contact_id"] == "c1"
    detail = api.get("/v1/contacts/c1").json()
    assert detail["anonymous_ids"] == ["cookie-9"]
    assert detail["event_count"] == 5
    # Identify is idempotent for the same pair.
    again = api.post(
        "/v1/identify", "ingest", json={"anonymous_id": "cookie-9", "contact_id": "c1"}
    )
    assert again.status_code == 200 and again.json()["events_linked"] == 0


def test_event_with_contact_and_anonymous_id_links_them(api: Api) -> None:
    api.activate()
    api.contact("c1", **GOOD_FIT)
    api.post("/v1/events", "ingest", json=_anon("w1", "cookie-5", url="/pricing"))
    both = {**event("w2", url="/demo"), "anonymous_id": "cookie-5"}
    r = api.post("/v1/events?wait=true", "ingest", json=both)
    assert r.status_code == 201
    score = api.get("/v1/contacts/c1/score", "read").json()
    pricing = next(c for c in score["contributions"] if c["rule_id"] == "pricing")
    assert pricing["evidence"] == ["w1"]


def test_identify_errors(api: Api) -> None:
    api.contact("c1", email="a@acme.com")
    api.contact("c2", email="b@acme.com")
    api.post("/v1/events", "ingest", json=_anon("z1", "cookie-1"))
    assert (
        api.post(
            "/v1/identify", "ingest", json={"anonymous_id": "cookie-1", "contact_id": "c1"}
        ).status_code
        == 200
    )
    r = api.post("/v1/identify", "ingest", json={"anonymous_id": "cookie-1", "contact_id": "c2"})
    assert r.status_code == 409 and r.json()["detail"][0]["field"] == "anonymous_id"
    r = api.post("/v1/identify", "ingest", json={"anonymous_id": "cookie-1", "contact_id": "ghost"})
    assert r.status_code == 404 and r.json()["detail"][0]["field"] == "contact_id"
    r = api.post("/v1/identify", "ingest", json={"anonymous_id": "cookie-1", "email": "x@y.z"})
    assert r.status_code == 404 and r.json()["detail"][0]["field"] == "email"
    r = api.post("/v1/identify", "ingest", json={"anonymous_id": "cookie-1"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "contact_id"
    r = api.post("/v1/identify", "ingest", json={"contact_id": "c1"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "anonymous_id"
    # An event claiming a linked cookie for another contact is rejected, writing nothing.
    clash = {**event("z2", "c2"), "anonymous_id": "cookie-1"}
    r = api.post("/v1/events", "ingest", json=clash)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "anonymous_id"
    assert api.get("/v1/contacts/c2").json()["event_count"] == 0
