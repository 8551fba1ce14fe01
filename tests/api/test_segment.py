"""The Segment-compatible endpoint, fed with the examples of Segment's spec pages."""

from __future__ import annotations

import base64
import copy
from typing import Any

from .conftest import Api

# The "complete example" of each call in Segment's spec (segment.com/docs/connections/spec).
IDENTIFY = {
    "anonymousId": "507f191e810c19729de860ea",
    "channel": "browser",
    "context": {
        "ip": "8.8.8.8",
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_5) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/40.0.2214.115 Safari/537.36",
    },
    "integrations": {"All": False, "Mixpanel": True, "Salesforce": True},
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "receivedAt": "2015-02-23T22:28:55.387Z",
    "sentAt": "2015-02-23T22:28:55.111Z",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "traits": {
        "name": "Peter Gibbons",
        "email": "peter@example.com",
        "plan": "premium",
        "logins": 5,
        "address": {
            "street": "6th St",
            "city": "San Francisco",
            "state": "CA",
            "postalCode": "94103",
            "country": "USA",
        },
    },
    "type": "identify",
    "userId": "97980cfea0067",
    "version": "1.1",
}
TRACK = {
    "anonymousId": "23adfd82-aa0f-45a7-a756-24f2a7a4c895",
    "context": {
        "library": {"name": "analytics.js", "version": "2.11.1"},
        "page": {
            "path": "/academy/",
            "referrer": "",
            "search": "",
            "title": "Analytics Academy",
            "url": "https://segment.com/academy/",
        },
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_0) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/46.0.2490.86 Safari/537.36",
        "ip": "108.0.78.21",
    },
    "event": "Course Clicked",
    "integrations": {},
    "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
    "properties": {"title": "Intro to Analytics"},
    "receivedAt": "2015-12-12T19:11:01.266Z",
    "sentAt": "2015-12-12T19:11:01.169Z",
    "timestamp": "2015-12-12T19:11:01.249Z",
    "type": "track",
    "userId": "AiUGstSDIg",
    "originalTimestamp": "2015-12-12T19:11:01.152Z",
}
PAGE = {
    "anonymousId": "507f191e810c19729de860ea",
    "channel": "browser",
    "context": {"ip": "8.8.8.8", "userAgent": IDENTIFY["context"]["userAgent"]},  # type: ignore[index]
    "integrations": {"All": True, "Mixpanel": False, "Salesforce": False},
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "name": "Home",
    "properties": {"title": "Welcome | Initech", "url": "http://www.example.com"},
    "receivedAt": "2015-02-23T22:28:55.387Z",
    "sentAt": "2015-02-23T22:28:55.111Z",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "type": "page",
    "userId": "97980cfea0067",
    "version": "1.1",
}
GROUP = {
    "anonymousId": "507f191e810c19729de860ea",
    "channel": "browser",
    "context": {"ip": "8.8.8.8"},
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "traits": {
        "name": "Initech",
        "industry": "Technology",
        "employees": 329,
        "plan": "enterprise",
        "total billed": 830,
    },
    "type": "group",
    "userId": "97980cfea0067",
    "groupId": "0e8c78ea9d97a7b8185e8632",
    "version": "1.1",
}
ALIAS = {
    "anonymousId": "507f191e810c19729de860ea",
    "channel": "browser",
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "previousId": "39239-239239-239239-23923",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "type": "alias",
    "userId": "507f191e81",
    "version": "1.1",
}


def basic(key: str) -> dict[str, str]:
    """How Segment and RudderStack send the write key: basic auth, empty password."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def send(
    api: Api, message: dict[str, Any], path: str = "/v1/segment", scope: str = "ingest"
) -> Any:
    return api.client.post(path, json=message, headers=basic(api.keys[scope]))


def test_identify_sets_contact_fields(api: Api) -> None:
    r = send(api, IDENTIFY)
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True and r.json()["accepted"] == 1
    contact = api.get("/v1/contacts/97980cfea0067").json()
    assert contact["email"] == "peter@example.com"
    assert contact["fields"] == {
        "name": "Peter Gibbons",
        "plan": "premium",
        "logins": 5,
        "street": "6th St",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94103",
        "country": "USA",
    }
    assert contact["anonymous_ids"] == ["507f191e810c19729de860ea"]
    # Traits arrive camelCase or snake_case alike; the reserved `title` is the job title.
    later = {
        **IDENTIFY,
        "traits": {
            "firstName": "Peter",
            "title": "VP Marketing",
            "company": {"name": "Initech", "employee_count": "320"},
        },
    }
    assert send(api, later).status_code == 200
    fields = api.get("/v1/contacts/97980cfea0067").json()["fields"]
    assert fields["first_name"] == "Peter" and fields["job_title"] == "VP Marketing"
    assert fields["company"] == "Initech" and fields["employees"] == 320


def test_track_is_an_event_typed_by_its_name(api: Api) -> None:
    r = send(api, TRACK)
    assert r.status_code == 200, r.text
    assert r.json()["results"][0] | {} == {
        "index": 0,
        "type": "track",
        "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
        "status": "accepted",
        "event_id": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
        "errors": [],
        "note": None,
    }
    lead = api.get("/v1/contacts/AiUGstSDIg").json()  # created for the event
    assert [t["cause"] for t in lead["transitions"]] == ["created"]
    assert lead["stage"] == "lead"
    (ev,) = lead["events"]
    assert ev["type"] == "course_clicked"
    assert ev["event_id"] == "ajs-f8ca1e4de5024d9430b3928bd8ac6b96"
    assert ev["properties"]["title"] == "Intro to Analytics"
    assert ev["properties"]["event_name"] == "Course Clicked"
    assert lead["anonymous_ids"] == ["23adfd82-aa0f-45a7-a756-24f2a7a4c895"]
    # Retried by Segment: a duplicate, not a second event.
    again = send(api, TRACK)
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    assert api.get("/v1/contacts/AiUGstSDIg").json()["event_count"] == 1


def test_page_is_a_page_view_with_its_url(api: Api) -> None:
    assert send(api, PAGE).status_code == 200
    (ev,) = api.get("/v1/contacts/97980cfea0067").json()["events"]
    assert ev["type"] == "page_view"
    assert ev["properties"]["url"] == "/"  # the path, as rules read it
    assert ev["properties"]["page_url"] == "http://www.example.com"
    assert ev["properties"]["title"] == "Welcome | Initech"
    assert ev["properties"]["name"] == "Home"
    assert ev["ts_us"] == 1_424_730_535_111_000  # the message's timestamp


def test_group_is_the_account(api: Api) -> None:
    assert send(api, GROUP).status_code == 200
    account = api.get("/v1/accounts/0e8c78ea9d97a7b8185e8632").json()
    assert account["name"] == "Initech"
    assert account["fields"] == {
        "industry": "Technology",
        "employees": 329,
        "plan": "enterprise",
        "total_billed": 830,
    }
    assert account["contacts"] == ["97980cfea0067"]


def test_alias_joins_the_anonymous_history(api: Api) -> None:
    anonymous = {**TRACK, "userId": None, "anonymousId": ALIAS["previousId"], "messageId": "m-anon"}
    del anonymous["userId"]
    assert send(api, anonymous).json()["accepted"] == 1
    assert send(api, ALIAS).status_code == 200
    lead = api.get("/v1/contacts/507f191e81").json()
    assert lead["event_count"] == 1 and lead["anonymous_ids"] == [ALIAS["previousId"]]
    # Merging two known contacts is refused, naming the field.
    send(api, {**IDENTIFY, "userId": "someone-else", "anonymousId": None, "traits": {}})
    r = send(api, {**ALIAS, "previousId": "someone-else"})
    assert r.status_code == 409 and r.json()["detail"][0]["field"] == "body.previousId"


def test_batch_scores_and_retries_are_duplicates(api: Api) -> None:
    api.activate()
    user = "u-ada"
    identify = {
        "type": "identify",
        "userId": user,
        "anonymousId": "anon-ada",
        "traits": {
            "email": "ada@acme.com",
            "title": "VP Marketing",
            "company": {"name": "Acme", "industry": "software", "employee_count": 300},
            "address": {"country": "US"},
        },
    }
    batch = {
        "batch": [
            {
                "type": "page",
                "anonymousId": "anon-ada",
                "messageId": "p-1",
                "properties": {"path": "/pricing", "url": "https://acme.example/pricing"},
            },
            identify,
            {
                "type": "track",
                "userId": user,
                "event": "Form Submitted",
                "messageId": "t-1",
                "properties": {"form_id": "demo"},
            },
            {
                "type": "track",
                "userId": user,
                "event": "Email Link Clicked",
                "messageId": "t-2",
                "properties": {"email_id": "demo-7", "link_url": "https://acme.example/demo"},
            },
            {"type": "track", "userId": user, "messageId": "t-3"},  # no event name
            {"type": "fly", "userId": user},
        ],
        "context": {"ip": "10.1.2.3"},
    }
    r = api.client.post("/v1/segment/batch", json=batch, headers=basic(api.keys["admin"]))
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["accepted"], out["rejected"]) == (4, 2)
    assert out["results"][4]["errors"][0]["field"] == "batch[4].event"
    assert out["results"][5]["errors"][0]["field"] == "batch[5].type"
    api.service.drain()
    score = api.get(f"/v1/contacts/{user}/score", "read").json()
    rules = {c["rule_id"]: c for c in score["contributions"]}
    assert rules["pricing"]["evidence"] == ["p-1"]  # anonymous page view, joined by identify
    assert rules["demo-request"]["evidence"] == ["t-1"]
    assert rules["demo-email-click"]["evidence"] == ["t-2"]
    assert rules["senior-title"]["points"] > 0 and rules["target-industry"]["points"] > 0
    # The whole batch retried: no event counted twice.
    again = api.client.post("/v1/segment/batch", json=batch, headers=basic(api.keys["ingest"]))
    assert again.json()["duplicates"] == 3
    assert api.get(f"/v1/contacts/{user}").json()["event_count"] == 3


def test_write_keys(api: Api) -> None:
    r = api.client.post("/v1/segment", json=TRACK)
    assert r.status_code == 401 and r.json()["detail"][0]["field"] == "authorization"
    assert api.client.post("/v1/segment", json=TRACK, headers=basic("lsk_wrong")).status_code == 401
    assert send(api, TRACK, scope="read").status_code == 403
    assert send(api, TRACK, scope="admin").status_code == 200
    # RudderStack and some libraries put the write key in the body.
    body = {**TRACK, "messageId": "m-body-key", "writeKey": api.keys["ingest"]}
    assert api.client.post("/v1/segment", json=body).status_code == 200
    # The libraries post to <host>/v1/batch and /v1/track with host = .../v1/segment.
    lib = {"batch": [{**TRACK, "messageId": "m-lib"}]}
    r = api.client.post("/v1/segment/v1/batch", json=lib, headers=basic(api.keys["ingest"]))
    assert r.status_code == 200 and r.json()["accepted"] == 1
    r = send(api, {**TRACK, "messageId": "m-lib-2"}, path="/v1/segment/v1/track")
    assert r.status_code == 200 and r.json()["accepted"] == 1


def test_bad_values_are_refused_naming_the_field(api: Api) -> None:
    nul = copy.deepcopy(TRACK)
    nul["properties"] = {"title": "a\x00b"}
    r = send(api, nul)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.properties.title"
    long = {**TRACK, "properties": {"title": "x" * 10_001}}
    r = send(api, long)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.properties.title"
    huge = {**TRACK, "properties": {"n": 10**30}}
    assert send(api, huge).json()["detail"][0]["field"] == "body.properties.n"
    r = send(api, {**IDENTIFY, "traits": {"email": "not an address"}})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.traits.email"
    r = send(api, {**TRACK, "userId": "x" * 201})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.userId"
    naive = {**TRACK, "timestamp": "2015-12-12T19:11:01"}
    r = send(api, naive)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.timestamp"
    r = api.client.post(
        "/v1/segment",
        content=b'{"type": "track", "event": "X", "userId": "u", "messageId": "n", '
        b'"properties": {"v": NaN}}',
        headers={**basic(api.keys["ingest"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"
    r = send(api, {**TRACK, "messageId": None})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.messageId"
    big = {"batch": [TRACK] * 10_001}
    r = api.client.post("/v1/segment/batch", json=big, headers=basic(api.keys["ingest"]))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "batch"
    assert api.get("/v1/status", "read").json()["events"] == 0


def test_identify_conflicts_write_nothing(api: Api) -> None:
    api.contact("c1", email="taken@acme.com")
    clash = {
        "type": "identify",
        "userId": "u-2",
        "traits": {"email": "taken@acme.com", "plan": "x"},
    }
    r = send(api, clash)
    assert r.status_code == 409 and r.json()["detail"][0]["field"] == "body.traits.email"
    assert api.get("/v1/contacts/u-2").status_code == 404
    # An anonymous id that belongs to another user is not moved.
    send(api, {**IDENTIFY, "traits": {}})
    other = {"type": "identify", "userId": "u-3", "anonymousId": IDENTIFY["anonymousId"]}
    r = send(api, other)
    assert r.status_code == 409 and r.json()["detail"][0]["field"] == "body.anonymousId"
    assert api.get("/v1/contacts/u-3").status_code == 404
