"""Sign-in, sessions, CSRF, scopes and assets, over HTTP without a browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadscore.service.keys import create_key, revoke_key
from leadscore.web import auth

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PAGES = (
    "/dashboard/",
    "/dashboard/matrix",
    "/dashboard/leads/c0001",
    "/dashboard/model",
    "/dashboard/funnel",
    "/dashboard/performance",
)


@pytest.fixture(scope="module")
def client(live_server: Any) -> TestClient:
    # The server's service is already running (uvicorn's lifespan started it), so
    # the test client talks to the same app and store without starting it again.
    return TestClient(live_server.app, follow_redirects=False)


def key(live_server: Any, *scopes: str) -> str:
    return str(create_key(live_server.service.store, list(scopes), name="-".join(scopes))["key"])


def signed_in(client: TestClient, token: str) -> TestClient:
    fresh = TestClient(client.app, follow_redirects=False)
    r = fresh.post("/dashboard/signin", data={"api_key": token, "next": "/dashboard/"})
    assert r.status_code == 303, r.text
    return fresh


def test_pages_need_a_key(client: TestClient) -> None:
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/dashboard/signin?next=")


def test_every_page_renders_with_a_header_key(client: TestClient, live_server: Any) -> None:
    headers = {"X-API-Key": key(live_server, "read")}
    for path in PAGES:
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text[:500])
        assert r.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in r.headers["content-security-policy"]
        # Nothing in the page points anywhere but this server.
        assert re.findall(r"(?:src|href|action)=\"(?:https?:)?//", r.text) == []


def test_bad_key_and_open_redirect(client: TestClient, live_server: Any) -> None:
    r = client.post("/dashboard/signin", data={"api_key": "lsk_wrong"})
    assert r.status_code == 401
    assert "not valid" in r.text
    r = client.post(
        "/dashboard/signin", data={"api_key": live_server.key, "next": "https://evil.example/"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/"
    r = client.post(
        "/dashboard/signin", data={"api_key": live_server.key, "next": "//evil.example/x"}
    )
    assert r.headers["location"] == "/dashboard/"


def test_session_cookie_is_signed_and_expires(live_server: Any) -> None:
    secret = live_server.app.state.dashboard_secret
    cookie = auth.session_cookie(secret, "a" * 64, now=1000.0)
    assert auth.read_cookie(secret, cookie, now=1001.0) == "a" * 64
    assert auth.read_cookie(secret, cookie, now=1000.0 + auth.SESSION_SECONDS + 1) is None
    payload, _, signature = cookie.partition(".")
    assert auth.read_cookie(secret, payload + "." + signature[::-1]) is None
    assert auth.read_cookie(b"another secret", cookie, now=1001.0) is None
    # The cookie holds the key's hash, never the key.
    assert live_server.key not in cookie


def test_revoking_a_key_ends_its_sessions(client: TestClient, live_server: Any) -> None:
    token = key(live_server, "read")
    browser = signed_in(client, token)
    assert browser.get("/dashboard/matrix").status_code == 200
    info = auth.key_by_token(live_server.service.store, token)
    assert info is not None
    revoke_key(live_server.service.store, info[0].id)
    assert browser.get("/dashboard/matrix").status_code == 303


def test_forms_need_the_csrf_token(client: TestClient, live_server: Any) -> None:
    browser = signed_in(client, key(live_server, "admin"))
    page = browser.get("/dashboard/leads/c0002")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    r = browser.post("/dashboard/leads/c0002/action", data={"action": "accept"})
    assert r.status_code == 403
    assert "form expired" in r.text
    r = browser.post("/dashboard/leads/c0002/action", data={"action": "accept", "csrf": "forged"})
    assert r.status_code == 403
    r = browser.post(
        "/dashboard/model", data={"do": "validate", "yaml": "scores: {}", "csrf": "forged"}
    )
    assert r.status_code == 403


def test_scopes(client: TestClient, live_server: Any) -> None:
    reader = {"X-API-Key": key(live_server, "read")}
    r = client.post("/dashboard/leads/c0003/action", data={"action": "accept"}, headers=reader)
    assert r.status_code == 403
    assert "the &#39;ingest&#39; scope" in r.text
    model = live_server.service.engine.active()
    text = client.get("/dashboard/model", headers=reader).text
    assert "Activate this version" in text
    r = client.post(
        "/dashboard/model",
        data={"do": "activate", "yaml": (EXAMPLES / "model.yaml").read_text()},
        headers=reader,
    )
    assert r.status_code == 403
    assert live_server.service.engine.active().version == model.version


def test_service_refusals_are_shown(client: TestClient, live_server: Any) -> None:
    writer = {"X-API-Key": key(live_server, "read", "ingest")}
    r = client.post(
        "/dashboard/leads/c0004/action", data={"action": "reject", "reason": ""}, headers=writer
    )
    assert r.status_code in (409, 422)
    assert "Cannot do that" in r.text
    r = client.post("/dashboard/leads/nobody/action", data={"action": "accept"}, headers=writer)
    assert r.status_code == 404


def test_validation_reports_lines(client: TestClient, live_server: Any) -> None:
    headers = {"X-API-Key": key(live_server, "read")}
    text = "scores:\n  fit:\n    rules:\n      - {id: a, when: {field: x, exists: true}, points: nope}\n"
    r = client.post("/dashboard/model", data={"do": "validate", "yaml": text}, headers=headers)
    assert r.status_code == 422
    assert 'data-goto-line="4"' in r.text
    assert "scores.fit.rules[0].points" in r.text


def test_assets(client: TestClient) -> None:
    r = client.get("/dashboard/static/app.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert "immutable" in r.headers["cache-control"]
    assert client.get("/dashboard/static/app.js").status_code == 200
    for bad in ("nope.css", "..%2Fauth.py", ".hidden.css", "routes.py"):
        assert client.get(f"/dashboard/static/{bad}").status_code == 404
