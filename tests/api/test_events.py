"""Ingesting events: single, batch, idempotency and every kind of bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from .conftest import GOOD_FIT, Api, event


@pytest.fixture
def ready(api: Api) -> Api:
    api.activate()
    api.contact("c1", **GOOD_FIT)
    return api


def _events_of(api: Api, contact_id: str = "c1") -> list[str]:
    detail = api.get(f"/v1/contacts/{contact_id}", params={"events_limit": 1000}).json()
    return sorted(e["event_id"] for e in detail["events"])


def test_single_event_is_stored_scored_and_idempotent(ready: Api) -> None:
    r = ready.post("/v1/events?wait=true", "ingest", json=event("e1", url="/pricing"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "accepted"
    first = body["scores"]["c1"]["scores"]["engagement"]["value"]
    assert first > 0
    again = ready.post("/v1/events?wait=true", "ingest", json=event("e1", url="/pricing"))
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert _events_of(ready) == ["e1"]
    score = ready.get("/v1/contacts/c1/score", "read").json()
    rules = {c["rule_id"]: c for c in score["contributions"]}
    assert rules["pricing"]["evidence"] == ["e1"]  # counted once


def test_batch_answers_item_by_item_and_rejected_items_write_nothing(ready: Api) -> None:
    items = [
        event("b1", url="/pricing"),
        event("b2", timestamp="2026-11-20T10:00:00"),  # no zone
        event("b3", contact_id="ghost"),
        {"event_id": "b4", "contact_id": "c1", "timestamp": "2026-11-20T10:00:00Z"},  # no type
        {**event("b5"), "properties": {"nested": {"a": 1}}},  # not a scalar
        {**event("b6"), "timestmap": "typo"},  # unknown key
        event("b1", url="/pricing"),  # repeated in the batch
        "not an object",
        {**event("b9"), "timestamp": "yesterday"},
        {**event("b10"), "event_id": 10},  # wrong type
    ]
    r = ready.post("/v1/events/batch?wait=true", "ingest", json={"events": items})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["accepted"], out["duplicates"], out["rejected"]) == (1, 1, 8)
    status = {i["index"]: i for i in out["results"]}
    assert status[0]["status"] == "accepted"
    assert status[6]["status"] == "duplicate"
    fields = {
        i: status[i]["errors"][0]["field"] for i in status if status[i]["status"] == "rejected"
    }
    assert fields == {
        1: "events[1].timestamp",
        2: "events[2].contact_id",
        3: "events[3].type",
        4: "events[4].properties.nested",
        5: "events[5].timestmap",
        7: "events[7]",
        8: "events[8].timestamp",
        9: "events[9].event_id",
    }
    assert "timezone" in status[1]["errors"][0]["message"]
    assert "unknown contact 'ghost'" in status[2]["errors"][0]["message"]
    assert _events_of(ready) == ["b1"]
    # A retry of the whole batch never double-counts.
    again = ready.post("/v1/events/batch", "ingest", json={"events": items}).json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    assert _events_of(ready) == ["b1"]


def test_retried_batch_gives_the_same_score(ready: Api) -> None:
    batch = {"events": [event(f"r{i}", url="/pricing") for i in range(4)]}
    ready.post("/v1/events/batch?wait=true", "ingest", json=batch)
    before = ready.get("/v1/contacts/c1/score", "read").json()["contributions"]
    ready.post("/v1/events/batch?wait=true", "ingest", json=batch)
    after = ready.get("/v1/contacts/c1/score", "read").json()["contributions"]
    assert [c["evidence"] for c in before] == [c["evidence"] for c in after]


def test_events_by_email_and_unknown_email(ready: Api) -> None:
    ok = {**event("m1", contact_id=None), "email": "VP@acme.com"}
    r = ready.post("/v1/events", "ingest", json=ok)
    assert r.status_code == 201 and r.json()["contact_id"] == "c1"
    bad = {**event("m2", contact_id=None), "email": "nobody@acme.com"}
    r = ready.post("/v1/events", "ingest", json=bad)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "email"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**event("s1"), "timestamp": "2026-11-20T10:00:00"}, "timestamp"),
        ({"event_id": "s2", "contact_id": "c1", "timestamp": "2026-11-20T10:00:00Z"}, "type"),
        ({**event("s3"), "event_id": ""}, "event_id"),
        ({**event("s4"), "type": ["page_view"]}, "type"),
        ({**event("s5"), "properties": "url=/pricing"}, "properties"),
        (event("s6", contact_id="ghost"), "contact_id"),
        ({"event_id": "s7", "type": "t", "timestamp": "2026-11-20T10:00:00Z"}, "body"),
        ({**event("s8"), "extra": 1}, "extra"),
    ],
)
def test_single_event_bad_input_names_the_field(ready: Api, body: object, field: str) -> None:
    r = ready.post("/v1/events", "ingest", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field
    assert _events_of(ready) == []


def test_malformed_json_and_wrong_body_shapes(ready: Api) -> None:
    for path in ("/v1/events", "/v1/events/batch", "/v1/contacts", "/v1/identify"):
        r = ready.client.post(
            path,
            content=b'{"event_id": "x",',
            headers={**ready.h("ingest"), "Content-Type": "application/json"},
        )
        assert r.status_code == 422, path
        assert "malformed JSON" in r.json()["detail"][0]["message"]
    r = ready.post("/v1/events/batch", "ingest", json=[event("x")])
    assert r.status_code == 422
    r = ready.post("/v1/events/batch", "ingest", json={"events": []})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "events"


def test_oversized_batch_is_refused_naming_the_field(ready: Api) -> None:
    items = [event(f"o{i}") for i in range(10_001)]
    r = ready.post("/v1/events/batch", "ingest", json={"events": items})
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["field"] == "events"
    assert "10000" in detail["message"]
    assert _events_of(ready) == []


def test_full_batch_of_10000_is_accepted(ready: Api) -> None:
    items = [event(f"f{i}", timestamp=f"2026-11-{1 + i % 20:02d}T10:00:00Z") for i in range(10_000)]
    r = ready.post("/v1/events/batch", "ingest", json={"events": items})
    assert r.status_code == 200
    assert r.json()["accepted"] == 10_000
    assert ready.get("/v1/contacts/c1", params={"events_limit": 0}).json()["event_count"] == 10_000


def test_request_body_size_limit(db_url: str) -> None:
    from .conftest import make_api

    for api in make_api(db_url, max_body_bytes=2_000):
        big = {"events": [event(f"z{i}", url="/x" * 20) for i in range(40)]}
        r = api.post("/v1/events/batch", "ingest", json=big)
        assert r.status_code == 413
        assert "larger than 2,000 bytes" in r.json()["detail"][0]["message"]
        # Chunked upload without a Content-Length is cut off too.
        payload = json.dumps(big).encode()

        def chunks(data: bytes = payload) -> Iterator[bytes]:
            for i in range(0, len(data), 500):
                yield data[i : i + 500]

        r = api.client.post(
            "/v1/events/batch",
            content=chunks(),  # type: ignore[arg-type]
            headers={**api.h("ingest"), "Content-Type": "application/json"},
        )
        assert r.status_code == 413
        small = api.post("/v1/events/batch", "ingest", json={"events": [event("ok")]})
        assert small.status_code == 200  # the contact is unknown but the body was read


def test_event_without_a_model_is_kept_and_scored_on_activation(api: Api) -> None:
    api.contact("c1", **GOOD_FIT)
    r = api.post("/v1/events?wait=true", "ingest", json=event("n1", url="/pricing"))
    assert r.status_code == 201
    assert api.get("/v1/contacts/c1/score", "read").json()["scores"] is None
    api.activate()
    api.service.rescorer.wait()
    score = api.get("/v1/contacts/c1/score", "read").json()
    assert score["scores"]["engagement"]["value"] > 0


def test_user_text_is_data_not_sql(ready: Api) -> None:
    nasty = "x'); DROP TABLE events; --"
    ready.contact(nasty, job_title=nasty)
    r = ready.post("/v1/events?wait=true", "ingest", json=event(nasty, contact_id=nasty, url=nasty))
    assert r.status_code == 201
    detail = ready.get(f"/v1/contacts/{nasty}").json()
    assert detail["contact_id"] == nasty
    assert detail["events"][0]["event_id"] == nasty
    assert detail["fields"]["job_title"] == nasty


def test_batch_fast_and_item_by_item_paths_answer_alike(ready: Api) -> None:
    """A batch whose items are all good is validated in one JSON pass; one bad item
    sends it through item-by-item validation. Good items get the same answer."""
    good = [event(f"g{i}", url="/pricing", note=" spaced ") for i in range(3)]
    fast = ready.post("/v1/events/batch", "ingest", json={"events": good}).json()
    again = [{**e, "event_id": e["event_id"] + "-2"} for e in good]
    slow = ready.post("/v1/events/batch", "ingest", json={"events": [*again, {"x": 1}]}).json()
    assert fast["accepted"] == slow["accepted"] == 3
    strip = [{k: v for k, v in r.items() if k != "event_id"} for r in fast["results"]]
    assert strip == [{k: v for k, v in r.items() if k != "event_id"} for r in slow["results"][:3]]
    stored = ready.get("/v1/contacts/c1", params={"events_limit": 10}).json()["events"]
    props = {e["event_id"]: e["properties"] for e in stored}
    assert props["g0"] == props["g0-2"] == {"url": "/pricing", "note": "spaced"}  # stripped


def test_batch_body_that_is_not_utf8_is_malformed(ready: Api) -> None:
    r = ready.client.post(
        "/v1/events/batch",
        content=b'{"events": [{"event_id": "\xff"}]}',
        headers={**ready.h("ingest"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["field"] == "body" and "malformed JSON" in detail["message"]
