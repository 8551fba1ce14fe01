"""Every JSON route under /v1 declares a pydantic response model (issue 15, item 3).

A route answering ``dict[str, Any]`` documents nothing in the OpenAPI document,
so schemathesis cannot check its answers and integrators cannot see its fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from leadscore.api.app import create_app
from leadscore.service.settings import Settings

# (method, path) -> why it has no response model.
NOT_JSON = {
    ("GET", "/t.js"): "JavaScript file (the website tracker)",
    ("OPTIONS", "/v1/collect"): "CORS preflight: headers only, no body",
    ("HEAD", "/v1/hooks/mandrill"): "Mandrill's URL check: headers only, no body",
}


def _routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every API route, included routers too.

    FastAPI 0.165 keeps included routers as ``_IncludedRouter`` entries in
    ``app.routes``; their effective contexts carry the prefixed path."""
    for entry in app.routes:
        if isinstance(entry, APIRoute):
            yield entry.path, entry
        elif hasattr(entry, "effective_route_contexts"):
            for ctx in entry.effective_route_contexts():
                route = getattr(ctx, "original_route", None)
                if isinstance(route, APIRoute):
                    yield ctx.path, route


def _is_model(annotation: Any) -> bool:
    """A BaseModel, or a list of them (``list[JobOut]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    args = getattr(annotation, "__args__", ())
    return getattr(annotation, "__origin__", None) is list and all(_is_model(a) for a in args)


def _without_model(app: FastAPI) -> list[str]:
    missing = []
    for path, route in _routes(app):
        if not path.startswith("/v1") and path != "/t.js":
            continue
        if route.status_code == 204:  # no body to describe
            continue
        for method in sorted(route.methods):
            if (method, path) in NOT_JSON:
                continue
            if not _is_model(route.response_model):
                missing.append(f"{method} {path} ({route.response_model!r})")
    return missing


def _app(tmp_path: Path) -> FastAPI:
    return create_app(Settings(db_url=f"sqlite:///{tmp_path / 'r.db'}", run_workers=False))


def test_every_v1_json_route_has_a_response_model(tmp_path: Path) -> None:
    app = _app(tmp_path)
    paths = {path for path, _ in _routes(app)}
    # The walk reaches the included routers (else the check below passes vacuously).
    assert {"/v1/contacts/{contact_id}", "/v1/reports/funnel", "/v1/collect"} <= paths
    assert _without_model(app) == []


def test_the_check_catches_a_free_form_route(tmp_path: Path) -> None:
    app = _app(tmp_path)

    @app.get("/v1/free-form")
    def free_form() -> dict[str, Any]:
        return {}

    assert _without_model(app) == ["GET /v1/free-form (dict[str, typing.Any])"]
