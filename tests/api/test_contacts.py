"""Accounts and contacts: upsert, read, GDPR erasure and export."""

from __future__ import annotations

from sqlalchemy import func, select

from leadscore.store import tables

from .conftest import GOOD_FIT, Api, event


def test_account_upsert_and_contacts_inherit_company_fields(api: Api) -> None:
    api.activate()
    r = api.put("/v1/accounts/acme", "ingest", json={"name": "Acme", "domain": "ACME.com"})
    assert r.status_code == 200 and r.json()["created"] is True
    assert r.json()["domain"] == "acme.com"
    r = api.post(
        "/v1/contacts",
        "ingest",
        json={"contact_id": "c1", "account_id": "acme", "fields": {"job_title": "VP Sales"}},
    )
    assert r.status_code == 201
    api.service.drain()
    fit_before = api.get("/v1/contacts/c1/score", "read").json()["scores"]["fit"]["value"]
    # Company fields live on the account and count for every contact of it.
    r = api.put("/v1/accounts/acme", "ingest", json={"fields": {"industry": "software"}})
    assert r.json()["created"] is False and r.json()["name"] == "Acme"
    api.service.drain()
    fit_after = api.get("/v1/contacts/c1/score", "read").json()["scores"]["fit"]["value"]
    assert fit_after == fit_before + 20  # target-industry
    assert api.get("/v1/accounts/acme", "read").json()["contacts"] == ["c1"]
    assert api.get("/v1/accounts/nope", "read").status_code == 404


def test_contact_upsert_by_id_then_by_email(api: Api) -> None:
    r = api.post("/v1/contacts", "ingest", json={"email": "Ann@Example.com", "fields": {"a": 1}})
    assert r.status_code == 201
    created = r.json()
    assert created["contact_id"].startswith("c_") and created["email"] == "ann@example.com"
    r = api.post("/v1/contacts", "ingest", json={"email": "ann@example.com", "fields": {"b": 2}})
    assert r.status_code == 200
    assert r.json()["contact_id"] == created["contact_id"]
    assert r.json()["fields"] == {"a": 1, "b": 2}
    r = api.put(f"/v1/contacts/{created['contact_id']}", "ingest", json={"fields": {"a": None}})
    assert r.json()["fields"] == {"b": 2}
    assert r.json()["stage"] == "lead"


def test_contact_bad_input(api: Api) -> None:
    api.contact("c1", email="one@acme.com")
    cases = [
        ({}, 422, "contact_id"),
        ({"contact_id": "c2", "email": "not-an-email"}, 422, "email"),
        ({"contact_id": "c2", "email": "one@acme.com"}, 409, "email"),
        ({"contact_id": "c2", "account_id": "ghost"}, 422, "account_id"),
        ({"contact_id": "c2", "fields": {"x": [1, 2]}}, 422, "fields.x"),
        ({"contact_id": "c2", "fields": "x"}, 422, "fields"),
        ({"contact_id": 5}, 422, "contact_id"),
        ({"contact_id": "c2", "colour": "red"}, 422, "colour"),
    ]
    for body, status, field in cases:
        r = api.post("/v1/contacts", "ingest", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["detail"][0]["field"] == field, body
    assert api.get("/v1/contacts/c2", "read").status_code == 404
    r = api.put("/v1/accounts/a1", "ingest", json={"fields": {"n": {"deep": 1}}})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "fields.n"


def _count(api: Api, table: object, contact_id: str) -> int:
    with api.service.store.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.contact_id == contact_id)  # type: ignore[attr-defined]
            ).scalar_one()
        )


def test_gdpr_export_then_erasure_removes_everything(api: Api) -> None:
    api.activate()
    api.contact("c1", **GOOD_FIT)
    api.contact("c2", job_title="Analyst")
    hook = api.post("/v1/webhooks", json={"url": "https://crm.example/h", "events": ["lead.mql"]})
    assert hook.status_code == 201
    anon = [{**event(f"a{i}", contact_id=None), "anonymous_id": "cookie-1"} for i in range(3)]
    api.post("/v1/events/batch", "ingest", json={"events": anon})
    api.post(
        "/v1/identify?wait=true", "ingest", json={"anonymous_id": "cookie-1", "contact_id": "c1"}
    )
    demo = [event("d1", type="form_submit", form="demo"), event("p1", url="/pricing")]
    api.post("/v1/events/batch?wait=true", "ingest", json={"events": demo})
    api.post("/v1/events/batch?wait=true", "ingest", json={"events": [event("x1", "c2")]})
    api.post("/v1/contacts/c1/stage", "ingest", json={"action": "won", "value": 1200})

    export = api.get("/v1/contacts/c1/export").json()
    assert export["contact"]["email"] == "vp@acme.com"
    assert {e["event_id"] for e in export["events"]} == {"a0", "a1", "a2", "d1", "p1"}
    assert export["anonymous_ids"] == ["cookie-1"]
    assert export["outcomes"][0]["value"] == 1200
    assert [t["to_stage"] for t in export["transitions"]][-1] == "customer"
    assert export["score_history"] and export["webhook_deliveries"]

    r = api.delete("/v1/contacts/c1")
    assert r.status_code == 200
    assert r.json()["erased"]["events"] == 5
    for table in (
        tables.events,
        tables.score_snapshots,
        tables.transitions,
        tables.outcomes,
        tables.webhook_deliveries,
        tables.contact_scores,
        tables.anonymous_visitors,
        tables.contacts,
    ):
        assert _count(api, table, "c1") == 0, table.name
    with api.service.store.read() as conn:
        left = conn.execute(select(tables.events.c.event_id)).scalars().all()
    assert left == ["x1"]  # other people's data is untouched
    assert api.get("/v1/contacts/c1", "read").status_code == 404
    assert api.delete("/v1/contacts/c1").status_code == 404
    assert api.get("/v1/contacts/c1/export").status_code == 404
