"""The active model's ``mapping:`` renames CRM names arriving through the API."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import MODEL_YAML, Api, event

MAPPED_MODEL = (
    MODEL_YAML
    + """
mapping:
  preset: hubspot
  events:
    Form Name: form
  event_types:
    Demo Request: form_submit
"""
)


def fired(api: Api, contact_id: str) -> set[str]:
    api.service.drain()
    r = api.get(f"/v1/contacts/{contact_id}/score", "read")
    assert r.status_code == 200, r.text
    return {c["rule_id"] for c in r.json()["contributions"] if c["points"]}


def post_contact(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/v1/contacts", "ingest", json=body)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def test_hubspot_contact_fields_become_model_fields(api: Api) -> None:
    api.activate(MAPPED_MODEL)
    out = post_contact(
        api, {"contact_id": "c1", "fields": {"Job Title": "VP Marketing", "Industry": "software"}}
    )
    assert out["fields"] == {"job_title": "VP Marketing", "industry": "software"}
    assert {"senior-title", "target-industry"} <= fired(api, "c1")
    # PUT renames too, and already-canonical fields pass unchanged.
    r = api.put("/v1/contacts/c2", "ingest", json={"fields": {"jobtitle": "Student"}})
    assert r.status_code == 201 and r.json()["fields"] == {"job_title": "Student"}
    post_contact(api, {"contact_id": "c3", "fields": {"job_title": "Chief of staff"}})
    assert api.get("/v1/contacts/c3", "read").json()["fields"] == {"job_title": "Chief of staff"}
    assert "student" in fired(api, "c2")


def test_event_type_and_property_names_are_mapped(api: Api) -> None:
    api.activate(MAPPED_MODEL)
    post_contact(api, {"contact_id": "c1", "fields": {}})
    one = event("e1", type="Demo Request", **{"Form Name": "demo"})
    r = api.post("/v1/events", "ingest", json=one)
    assert r.status_code in (200, 201, 202), r.text
    batch = [event("e2", type="page_view", url="/pricing"), event("e3", type="Demo Request")]
    r = api.post("/v1/events/batch", "ingest", json={"events": batch})
    assert r.status_code in (200, 201, 202, 207), r.text
    assert {"demo-request", "pricing"} <= fired(api, "c1")
    history = api.get("/v1/contacts/c1", "read").json()["events"]
    kinds = {e["event_id"]: (e["type"], e.get("properties")) for e in history}
    assert kinds["e1"] == ("form_submit", {"form": "demo"})
    assert kinds["e3"][0] == "form_submit"


def test_without_a_mapping_names_are_kept(api: Api) -> None:
    api.activate()
    out = post_contact(api, {"contact_id": "c1", "fields": {"Job Title": "VP Marketing"}})
    assert out["fields"] == {"Job Title": "VP Marketing"}
    r = api.post("/v1/events", "ingest", json=event("e1", type="Demo Request"))
    assert r.status_code in (200, 201, 202), r.text
    assert "senior-title" not in fired(api, "c1")
    history = api.get("/v1/contacts/c1", "read").json()["events"]
    assert [e["type"] for e in history] == ["Demo Request"]


def test_a_new_active_version_changes_the_mapping(api: Api) -> None:
    api.activate(MAPPED_MODEL)
    assert post_contact(api, {"contact_id": "c1", "fields": {"Job Title": "VP"}})["fields"] == {
        "job_title": "VP"
    }
    api.activate()  # the cache follows the active version
    assert post_contact(api, {"contact_id": "c2", "fields": {"Job Title": "VP"}})["fields"] == {
        "Job Title": "VP"
    }
