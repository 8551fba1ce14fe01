"""The FastAPI application factory.

``create_app(settings)`` builds an app around one :class:`~leadscore.service.runtime.Service`
(store, scoring engine, workers). Tests call it directly; ``leadscore serve``
runs it under uvicorn. Other surfaces (the dashboard) mount their routers here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadscore.api.guard import clean_params
from leadscore.api.openapi import ErrorOut, document_errors
from leadscore.clean import storable_message
from leadscore.service.errors import ServiceError
from leadscore.service.events import clean_errors
from leadscore.service.runtime import Service
from leadscore.service.settings import Settings

DESCRIPTION = """
Lead scoring as a service: post contacts and their activity, read scores that
explain themselves, follow leads through their lifecycle and get webhooks when
they qualify.

Every `/v1` route needs an API key (`Authorization: Bearer <key>` or
`X-API-Key: <key>`) with the scope the route names: `ingest` (write data),
`read`, or `admin` (everything). Errors answer
`{"detail": [{"field": ..., "in": ..., "message": ...}]}` (schema `ErrorOut`). Each key
is rate-limited (429 with `Retry-After`); webhook URLs must point at public addresses.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    from leadscore.api import reports, routes
    from leadscore.api.limits import DocsPolicy, RateLimiter
    from leadscore.api.security import BodyLimit

    settings = settings or Settings.from_env()
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not service.started:
            service.start()
        try:
            yield
        finally:
            service.stop()

    # /docs and /redoc from Swagger UI and ReDoc files shipped in a package (no CDN):
    # the pages work offline and load nothing from another host.
    app = FastAPIOffline(
        title="leadscore",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Every route's path and query parameters: no NUL, finite numbers, 64-bit ints.
        dependencies=[Depends(clean_params)],
        # Swagger UI would send the document to validator.swagger.io for its badge.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.service = service
    app.state.settings = settings
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(DocsPolicy)  # /docs, /redoc load nothing from other hosts
    app.state.rate_limiter = RateLimiter(settings.rate_limit, settings.rate_limit_burst)
    _error_handlers(app)
    for router in routes.routers():
        app.include_router(router)
    app.include_router(reports.router)  # /v1/reports: funnel analytics over the store
    from leadscore.api import collect, email_hooks, segment  # connectors (docs/connect.md)

    app.include_router(collect.router)  # /t.js and /v1/collect: the website tracker
    app.include_router(segment.router)  # /v1/segment: Segment / RudderStack messages
    app.include_router(email_hooks.router)  # /v1/hooks/*: SendGrid, Mailgun, Mandrill events
    from leadscore.api import crm

    app.include_router(crm.router)  # /v1/crm: CRM write-back queue and dead letters
    _openapi(
        app,
        [
            routes.BatchIn,
            routes.EventIn,
            routes.ModelIn,
            *collect.BODIES,
            *segment.BODIES,
            ErrorOut,
        ],
    )
    from leadscore import web  # the dashboard (server-rendered pages under /dashboard)

    web.install(app)
    return app


def _openapi(app: FastAPI, bodies: list[type[BaseModel]]) -> None:
    """Routes that read their body themselves (batch ingest, model upload) document it
    with a reference; this puts the referenced schemas into the OpenAPI components."""
    from fastapi.openapi.utils import get_openapi
    from pydantic.json_schema import models_json_schema

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            found = schema.setdefault("components", {}).setdefault("schemas", {})
            _, together = models_json_schema(
                [(model, "validation") for model in bodies],
                ref_template="#/components/schemas/{model}",
            )
            for name, sub in together.get("$defs", {}).items():
                found.setdefault(name, sub)
            app.openapi_schema = document_errors(schema)
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        item: dict[str, Any] = {"field": exc.field, "message": exc.message}
        problems = getattr(exc, "problems", None)
        if problems:
            return JSONResponse(
                {
                    "detail": [
                        {"field": p["path"], "line": p["line"], "message": p["message"]}
                        for p in problems
                    ]
                },
                status_code=exc.status,
            )
        return JSONResponse({"detail": [item]}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail: list[dict[str, Any]] = []
        seen: set[str] = set()
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            where = "body"
            if loc and loc[0] in ("body", "query", "path", "header"):
                where, loc = loc[0], loc[1:]
            cleaned = clean_errors([{**err, "loc": loc}])[0]
            field = cleaned["field"] or where
            if field in seen:
                if storable_message(err) is not None:  # NaN in a union: say that
                    for item in detail:
                        if item["field"] == field:
                            item["message"] = cleaned["message"]
                continue
            seen.add(field)
            message = cleaned["message"]
            if err.get("type") == "json_invalid":
                field = "body"
                message = f"malformed JSON: {err.get('ctx', {}).get('error', message)}"
            detail.append({"field": field, "in": where, "message": message})
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail: Any = exc.detail
        if isinstance(detail, str):
            detail = [{"field": None, "message": detail}]
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)
