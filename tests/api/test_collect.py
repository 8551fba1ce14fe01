"""The website tracker's collect endpoint: publishable keys, CORS, bots, rate limits."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from leadscore.service.keys import create_key

from .conftest import GOOD_FIT, Api, make_api

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SHOP = "https://shop.example"


@pytest.fixture
def site(db_url: str) -> Iterator[Api]:
    for api in make_api(db_url, collect_origins=(SHOP,), collect_rate=1.0, collect_burst=5.0):
        api.keys["collect"] = create_key(api.service.store, ["collect"], name="site")["key"]
        yield api


def page_view(path: str = "/pricing", **extra: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "page_view",
        "properties": {"url": path, "title": "Pricing", **extra},
    }


def collect(api: Api, body: dict[str, Any], origin: str | None = SHOP, **headers: str) -> Any:
    sent = {"User-Agent": CHROME, "Content-Type": "text/plain;charset=UTF-8", **headers}
    if origin:
        sent["Origin"] = origin
    return api.client.post("/v1/collect", content=json.dumps(body), headers=sent)


def visit(api: Api, anonymous_id: str, *events: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "key": api.keys["collect"],
        "anonymous_id": anonymous_id,
        "events": list(events),
        **extra,
    }


def test_tracker_is_served_as_javascript(site: Api) -> None:
    r = site.client.get("/t.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert "sendBeacon" in r.text and "v1/collect" in r.text
    assert len(r.content) < 10_000  # small: one request, no CDN


def test_visit_then_form_identifies_and_history_counts(site: Api) -> None:
    site.activate()
    site.contact("c1", **GOOD_FIT)  # email vp@acme.com
    cookie = "cookie-" + uuid.uuid4().hex
    r = collect(site, visit(site, cookie, page_view(), page_view("/pricing/enterprise")))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2 and r.headers["access-control-allow-origin"] == SHOP
    site.service.drain()
    before = site.get("/v1/contacts/c1/score", "read").json()
    assert "pricing" not in {c["rule_id"] for c in before["contributions"]}

    form = {"event_id": "f-1", "type": "form_submit", "properties": {"form": "demo"}}
    r = collect(site, visit(site, cookie, form, identify={"email": "VP@acme.com"}))
    assert r.json() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": 0,
        "filtered": None,
        "identified": True,
        "errors": [],
    }
    site.service.drain()
    after = site.get("/v1/contacts/c1/score", "read").json()
    rules = {c["rule_id"]: c for c in after["contributions"]}
    assert len(rules["pricing"]["evidence"]) == 2
    assert rules["demo-request"]["evidence"] == ["web:f-1"]
    detail = site.get("/v1/contacts/c1").json()
    assert detail["anonymous_ids"] == [cookie] and detail["event_count"] == 3
    # A resent beacon is a duplicate, not a second form.
    r = collect(site, visit(site, cookie, form))
    assert r.json()["duplicates"] == 1 and r.json()["accepted"] == 0


def test_form_with_a_new_email_creates_the_lead(site: Api) -> None:
    site.activate()
    r = collect(
        site,
        visit(
            site,
            "cookie-new-1",
            {"event_id": "f-2", "type": "form_submit", "properties": {"form": "demo"}},
            identify={"email": "new.lead@corp.example"},
        ),
    )
    assert r.json()["identified"] is True
    leads = site.get("/v1/leads", "read").json()
    (lead,) = [x for x in leads["items"] if x.get("email") == "new.lead@corp.example"]
    assert site.get(f"/v1/contacts/{lead['contact_id']}").json()["event_count"] == 1


def test_collect_key_can_do_nothing_else(site: Api) -> None:
    key = {"Authorization": f"Bearer {site.keys['collect']}"}
    event = {
        "event_id": "x",
        "type": "page_view",
        "timestamp": "2026-01-01T00:00:00Z",
        "anonymous_id": "a1",
    }
    assert site.client.post("/v1/events", json=event, headers=key).status_code == 403
    assert (
        site.client.post(
            "/v1/identify", json={"anonymous_id": "a1", "email": "a@b.c"}, headers=key
        ).status_code
        == 403
    )
    assert site.client.post("/v1/contacts", json={"email": "a@b.c"}, headers=key).status_code == 403
    assert site.client.get("/v1/leads", headers=key).status_code == 403
    assert site.client.post("/v1/segment", json={}, headers=key).status_code == 403
    # ...and an ingest key is no site key.
    body = visit(site, "cookie-xyz1", page_view())
    body["key"] = site.keys["ingest"]
    r = collect(site, body)
    assert r.status_code == 403 and r.json()["detail"][0]["field"] == "key"
    body["key"] = "lsk_not-a-key"
    assert collect(site, body).status_code == 401


def test_only_allowed_event_types(site: Api) -> None:
    bad = {"event_id": "e1", "type": "email_click", "properties": {}}
    r = collect(site, visit(site, "cookie-types", page_view(), bad))
    assert r.status_code == 200
    out = r.json()
    assert out["accepted"] == 1 and out["rejected"] == 1
    assert out["errors"][0]["field"] == "events[1].type"


def test_cors_only_for_configured_origins(site: Api) -> None:
    body = visit(site, "cookie-cors", page_view())
    r = collect(site, body, origin="https://evil.example")
    assert r.status_code == 403 and r.json()["detail"][0]["field"] == "origin"
    assert "access-control-allow-origin" not in r.headers
    pre = site.client.options(
        "/v1/collect", headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"}
    )
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == SHOP
    pre = site.client.options("/v1/collect", headers={"Origin": "https://evil.example"})
    assert pre.status_code == 403
    # A server-side sender (no Origin) and the service's own pages are not a CORS matter.
    assert collect(site, body, origin=None).status_code == 200
    assert (
        collect(
            site, visit(site, "cookie-cors", page_view()), origin="http://testserver"
        ).status_code
        == 200
    )


def test_bots_and_do_not_track_store_nothing(site: Api) -> None:
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    r = collect(site, visit(site, "cookie-bot1", page_view()), **{"User-Agent": googlebot})
    assert r.status_code == 200 and r.json()["filtered"] == "bot" and r.json()["accepted"] == 0
    headless = CHROME.replace("Chrome/", "HeadlessChrome/")
    assert (
        collect(site, visit(site, "cookie-bot2", page_view()), **{"User-Agent": headless}).json()[
            "filtered"
        ]
        == "bot"
    )
    r = collect(site, visit(site, "cookie-dnt1", page_view()), DNT="1")
    assert r.json()["filtered"] == "do_not_track"
    r = collect(site, visit(site, "cookie-gpc1", page_view()), **{"Sec-GPC": "1"})
    assert r.json()["filtered"] == "do_not_track"
    assert site.get("/v1/status", "read").json()["events"] == 0


def test_rate_limit_per_key(site: Api) -> None:
    now = [1000.0]
    collector_clock = lambda: now[0]  # noqa: E731
    collect(site, visit(site, "cookie-rate", page_view()))  # builds the collector
    site.client.app.state.collector.limiter.clock = collector_clock  # type: ignore[attr-defined]
    site.client.app.state.collector.limiter._buckets.clear()  # type: ignore[attr-defined]
    burst = visit(site, "cookie-rate", *[page_view() for _ in range(5)])
    assert collect(site, burst).json()["accepted"] == 5
    r = collect(site, visit(site, "cookie-rate", page_view(), page_view()))
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    assert r.headers["access-control-allow-origin"] == SHOP  # the page can read why
    now[0] += 2.0  # one event a second refills
    assert collect(site, visit(site, "cookie-rate", page_view(), page_view())).status_code == 200
    # Another site key has its own bucket.
    other = create_key(site.service.store, ["collect"], name="other")["key"]
    body = visit(site, "cookie-rate2", page_view())
    body["key"] = other
    assert collect(site, body).status_code == 200


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (
            '{"anonymous_id": "cookie-nan1", "events": [{"event_id": "n", "type": "page_view", '
            '"properties": {"x": NaN}}]}',
            "events[0].properties.x",
        ),
        (
            '{"anonymous_id": "cookie-nul1", "events": [{"event_id": "n", "type": "page_view", '
            '"properties": {"url": "/a\\u0000b"}}]}',
            "events[0].properties.url",
        ),
        ('{"anonymous_id": "cookie-xtra", "events": [], "surprise": 1}', "surprise"),
        (
            '{"anonymous_id": "cookie-long", "events": [{"event_id": "'
            + "x" * 101
            + '", "type": "page_view"}]}',
            "events[0].event_id",
        ),
        ("{not json", "body"),
    ],
)
def test_bad_input_is_refused_naming_the_field(site: Api, raw: str, field: str) -> None:
    r = site.client.post(
        "/v1/collect",
        content=raw,
        headers={"User-Agent": CHROME, "X-API-Key": site.keys["collect"]},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field
    message = r.json()["detail"][0]["message"]
    assert {"events[0].properties.x": "finite", "events[0].properties.url": "NUL"}.get(
        field, ""
    ) in message
    assert site.get("/v1/status", "read").json()["events"] == 0


def test_oversized_body_is_413(site: Api) -> None:
    body = visit(site, "cookie-big1", page_view(padding="x" * 1_900))
    body["events"] = body["events"] * 40  # ~80 KB
    r = collect(site, body)
    assert r.status_code == 413 and r.json()["detail"][0]["field"] == "body"


def test_identify_conflict_keeps_the_events(site: Api) -> None:
    site.contact("c1", email="a@acme.com")
    site.contact("c2", email="b@acme.com")
    collect(site, visit(site, "cookie-shared", page_view(), identify={"email": "a@acme.com"}))
    r = collect(site, visit(site, "cookie-shared", page_view(), identify={"email": "b@acme.com"}))
    assert r.status_code == 200 and r.json()["identified"] is False
    assert site.get("/v1/contacts/c1").json()["event_count"] == 2
    assert site.get("/v1/contacts/c2").json()["event_count"] == 0


def test_events_take_the_server_clock(site: Api) -> None:
    from datetime import UTC, datetime

    pinned = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
    site.client.app.state.clock = lambda: pinned  # type: ignore[attr-defined]
    collect(site, visit(site, "cookie-clock", page_view()))
    visitor = site.get("/v1/status", "read").json()
    assert visitor["events"] == 1
    from sqlalchemy import select

    from leadscore.store.tables import events

    with site.service.store.read() as conn:
        (ts,) = conn.execute(select(events.c.ts_us)).scalars()
    assert ts == int(pinned.timestamp() * 1_000_000)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from leadscore.service.settings import Settings

    monkeypatch.setenv("LEADSCORE_COLLECT_ORIGINS", "https://www.example.com/, https://Example.com")
    monkeypatch.setenv("LEADSCORE_COLLECT_TYPES", "page_view,form_submit,content_download")
    monkeypatch.setenv("LEADSCORE_COLLECT_RATE", "5")
    monkeypatch.setenv("LEADSCORE_MAILGUN_SIGNING_KEY", "key-1")
    settings = Settings.from_env()
    assert settings.collect_origins == ("https://www.example.com", "https://example.com")
    assert settings.collect_types == ("page_view", "form_submit", "content_download")
    assert settings.collect_rate == 5.0 and settings.mailgun_signing_key == "key-1"
    assert settings.sendgrid_public_key is None


def test_connectors_are_documented_with_examples(site: Api) -> None:
    doc = site.client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    body = doc["paths"]["/v1/collect"]["post"]["requestBody"]["content"]
    assert body["text/plain"]["schema"] == {"$ref": "#/components/schemas/CollectIn"}
    assert schemas["CollectIn"]["examples"][0]["identify"] == {"email": "ada@example.com"}
    assert schemas["SegmentMessage"]["examples"][0]["type"] == "track"
    batch = doc["paths"]["/v1/segment/batch"]["post"]["requestBody"]["content"]
    assert batch["application/json"]["schema"] == {"$ref": "#/components/schemas/SegmentBatch"}
    for hook in ("sendgrid", "mailgun"):
        content = doc["paths"][f"/v1/hooks/{hook}"]["post"]["requestBody"]["content"]
        assert content["application/json"]["example"]
    assert "mandrill_events" in str(doc["paths"]["/v1/hooks/mandrill"]["post"]["requestBody"])
    for path in ("/v1/collect", "/v1/segment", "/v1/segment/batch", "/v1/hooks/sendgrid"):
        answer = doc["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
        assert answer["schema"]["$ref"].startswith("#/components/schemas/")


def test_site_keys_from_the_cli_and_the_api(site: Api, tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from leadscore.cli.main import app
    from leadscore.service.keys import KeyChecker
    from leadscore.store import Store

    db = str(tmp_path / "keys.db")
    r = CliRunner().invoke(app, ["keys", "create", "--scope", "collect", "--db", db])
    assert r.exit_code == 0, r.output
    store = Store(db)
    info = KeyChecker(store).check(r.stdout.strip().splitlines()[0])
    store.dispose()
    assert info is not None and info.allows("collect")
    assert not (info.allows("ingest") or info.allows("read") or info.allows("admin"))
    made = site.post("/v1/keys", json={"scopes": ["collect"], "name": "www"})
    assert made.status_code == 201 and made.json()["scopes"] == ["collect"]
    body = visit(site, "cookie-api-key", page_view())
    body["key"] = made.json()["key"]
    assert collect(site, body).json()["accepted"] == 1
