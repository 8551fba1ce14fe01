"""Every route checks its key: none or a wrong key gives 401, a wrong scope 403."""

from __future__ import annotations

import pytest

from .conftest import Api

# (method, path, scope the route needs, a body that would otherwise be acceptable)
ROUTES = [
    ("get", "/v1/status", "read", None),
    ("put", "/v1/accounts/a1", "ingest", {"name": "Acme"}),
    ("get", "/v1/accounts/a1", "read", None),
    ("post", "/v1/contacts", "ingest", {"contact_id": "c9"}),
    ("put", "/v1/contacts/c9", "ingest", {}),
    ("get", "/v1/contacts/c1", "read", None),
    ("delete", "/v1/contacts/c1", "admin", None),
    ("get", "/v1/contacts/c1/export", "admin", None),
    ("get", "/v1/contacts/c1/score", "read", None),
    ("get", "/v1/contacts/c1/history", "read", None),
    ("post", "/v1/contacts/c1/stage", "ingest", {"action": "accept"}),
    (
        "post",
        "/v1/events",
        "ingest",
        {"event_id": "x", "contact_id": "c1", "type": "t", "timestamp": "2026-01-01T00:00:00Z"},
    ),
    ("post", "/v1/events/batch", "ingest", {"events": [{"event_id": "y"}]}),
    ("post", "/v1/identify", "ingest", {"anonymous_id": "a", "contact_id": "c1"}),
    ("get", "/v1/leads", "read", None),
    ("get", "/v1/grades", "read", None),
    ("post", "/v1/models/validate", "read", {"yaml": "scores: {}"}),
    ("post", "/v1/models", "admin", {"yaml": "scores: {}"}),
    ("get", "/v1/models", "read", None),
    ("get", "/v1/models/active", "read", None),
    ("get", "/v1/models/1", "read", None),
    ("post", "/v1/models/1/activate", "admin", None),
    ("get", "/v1/jobs", "read", None),
    ("get", "/v1/jobs/1", "read", None),
    ("post", "/v1/webhooks", "admin", {"url": "http://127.0.0.1:9/x", "events": ["lead.mql"]}),
    ("get", "/v1/webhooks", "admin", None),
    ("get", "/v1/webhooks/1", "admin", None),
    ("delete", "/v1/webhooks/1", "admin", None),
    ("get", "/v1/webhooks/1/deliveries", "admin", None),
    ("post", "/v1/keys", "admin", {"scopes": ["read"]}),
    ("get", "/v1/keys", "admin", None),
    ("delete", "/v1/keys/99", "admin", None),
]


def _call(api: Api, method: str, path: str, body: object, headers: dict[str, str]) -> int:
    kwargs: dict[str, object] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    if method == "delete" and body is not None:
        return int(api.client.request("DELETE", path, **kwargs).status_code)  # type: ignore[arg-type]
    return int(getattr(api.client, method)(path, **kwargs).status_code)


PARAM_AFTER = {
    "accounts": "{account_id}",
    "contacts": "{contact_id}",
    "models": "{version}",
    "jobs": "{job_id}",
    "webhooks": "{webhook_id}",
    "keys": "{key_id}",
}


def _template(path: str) -> str:
    """``/v1/contacts/c1/score`` -> ``/v1/contacts/{contact_id}/score``."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        if parts[i - 1] in PARAM_AFTER and parts[i] not in ("validate", "active", "batch"):
            parts[i] = PARAM_AFTER[parts[i - 1]]
    return "/".join(parts)


def test_every_api_route_is_in_the_table() -> None:
    from leadscore.api import routes

    served = {
        (method, route.path)
        for router in routes.routers()
        for route in router.routes
        if route.path.startswith("/v1")  # type: ignore[attr-defined]
        for method in route.methods - {"HEAD"}  # type: ignore[attr-defined]
    }
    assert served == {(m.upper(), _template(p)) for m, p, _, _ in ROUTES}


@pytest.mark.parametrize(("method", "path", "scope", "body"), ROUTES)
def test_auth_outcomes(module_api: Api, method: str, path: str, scope: str, body: object) -> None:
    api = module_api
    assert _call(api, method, path, body, {}) == 401
    assert _call(api, method, path, body, {"Authorization": "Bearer lsk_wrong"}) == 401
    assert _call(api, method, path, body, {"X-API-Key": "lsk_wrong"}) == 401
    assert _call(api, method, path, body, {"Authorization": "Basic abc"}) == 401
    others = [s for s in ("read", "ingest") if s != scope]
    for other in others:
        assert _call(api, method, path, body, api.h(other)) == 403, other
    # The right scope (and admin, which holds every scope) gets past authorisation.
    for good in {scope, "admin"}:
        assert _call(api, method, path, body, api.h(good)) not in (401, 403)


def test_health_needs_no_key(api: Api) -> None:
    r = api.client.get("/health")
    assert r.status_code == 200
    assert r.json()["ok"] is True


def test_401_says_how_to_authenticate(api: Api) -> None:
    r = api.client.get("/v1/leads")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in r.json()["detail"][0]["message"]
    r = api.client.get("/v1/leads", headers=api.h("ingest"))
    assert r.status_code == 403
    assert "'read' scope" in r.json()["detail"][0]["message"]


def test_keys_are_created_listed_and_revoked(api: Api) -> None:
    r = api.post("/v1/keys", json={"scopes": ["read"], "name": "crm"})
    assert r.status_code == 201
    key = r.json()["key"]
    assert key.startswith("lsk_") and len(key) > 40
    listed = api.get("/v1/keys").json()
    crm = next(k for k in listed if k["name"] == "crm")
    assert "key" not in crm and "hash" not in crm
    assert key.startswith(crm["prefix"])
    assert api.client.get("/v1/leads", headers={"X-API-Key": key}).status_code == 200
    assert api.delete(f"/v1/keys/{crm['id']}").status_code == 204
    assert api.client.get("/v1/leads", headers={"X-API-Key": key}).status_code == 401
    assert api.delete(f"/v1/keys/{crm['id']}").status_code == 404


def test_keys_are_stored_hashed(api: Api) -> None:
    from sqlalchemy import select

    from leadscore.store.tables import api_keys

    with api.service.store.read() as conn:
        stored = [tuple(r) for r in conn.execute(select(api_keys.c.hash, api_keys.c.prefix))]
    for token in api.keys.values():
        assert all(token not in row for row in stored)


def test_bad_key_creation_names_the_field(api: Api) -> None:
    r = api.post("/v1/keys", json={"scopes": ["root"]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"].startswith("scopes")
    r = api.post("/v1/keys", json={"scopes": []})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "scopes"
