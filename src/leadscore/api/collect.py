"""Website tracking: ``GET /t.js`` (the tracker) and ``POST /v1/collect`` (its events).

Thin: checks (key, origin, size, bots, rate) and the answer's CORS headers live
here; what is stored is decided in :mod:`leadscore.service.collect`.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from leadscore.service import collect as collect_service
from leadscore.service.collect import CollectIn, CollectOut, TokenBucket
from leadscore.service.connect import batch_body, clock_of, field_errors, identify_by_email
from leadscore.service.errors import Conflict

router = APIRouter(tags=["connect: website"])

TRACKER = resources.files("leadscore.api.tracker").joinpath("t.js").read_bytes()


class Collector:
    """What the collect route keeps between requests: the rate limiter (its clock is
    monotonic, injectable too)."""

    def __init__(self, rate: float, burst: float):
        self.limiter = TokenBucket(rate, burst)


def _collector(request: Request) -> Collector:
    state = request.app.state
    if getattr(state, "collector", None) is None:
        settings = state.settings
        state.collector = Collector(settings.collect_rate, settings.collect_burst)
    collector: Collector = state.collector
    return collector


@router.get(
    "/t.js",
    summary="The website tracker (first-party JavaScript, no key needed to fetch)",
    response_class=Response,
    responses={200: {"content": {"application/javascript": {}}}},
)
def get_tracker() -> Response:
    return Response(
        TRACKER,
        media_type="application/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _cors(request: Request) -> tuple[bool, dict[str, str]]:
    origin = request.headers.get("origin")
    allowed = collect_service.origin_allowed(
        origin, request.app.state.settings.collect_origins, _own_origin(request)
    )
    if not allowed or origin is None:
        return allowed, {}
    return True, {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _refuse(status: int, field: str, message: str, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"field": field, "message": message}]}, status_code=status, headers=headers
    )


@router.options("/v1/collect", include_in_schema=False)
def preflight(request: Request) -> Response:
    allowed, headers = _cors(request)
    if not allowed:
        return Response(status_code=403)
    headers.update(
        {
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type, X-API-Key",
            "Access-Control-Max-Age": "86400",
        }
    )
    return Response(status_code=204, headers=headers)


COLLECT_BODY = {
    "requestBody": {
        "content": {
            "text/plain": {"schema": {"$ref": "#/components/schemas/CollectIn"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/CollectIn"}},
        },
        "required": True,
    }
}


@router.post(
    "/v1/collect",
    summary="Events from the website tracker (publishable key, scope collect)",
    description="The body is JSON, sent as text/plain by the tracker (a simple request: "
    "no CORS preflight, and navigator.sendBeacon can send it). The key is the body's "
    "`key`, `?key=` or `X-API-Key`; it needs the `collect` scope (or `admin`). Only "
    "the configured origins may post from a browser. Known bots and Do-Not-Track "
    "browsers are answered 200 with `filtered` and nothing is stored.",
    response_model=CollectOut,
    openapi_extra=COLLECT_BODY,
)
async def post_collect(request: Request) -> Response:
    allowed, headers = _cors(request)
    if not allowed:
        return _refuse(
            403,
            "origin",
            f"origin {request.headers.get('origin')} may not post here "
            "(add it to LEADSCORE_COLLECT_ORIGINS)",
            {},
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > collect_service.MAX_BODY:  # before reading it
        return _refuse(413, "body", f"larger than {collect_service.MAX_BODY:,} bytes", headers)
    raw = await request.body()
    if len(raw) > collect_service.MAX_BODY:
        return _refuse(413, "body", f"larger than {collect_service.MAX_BODY:,} bytes", headers)
    try:
        body = CollectIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = field_errors(exc.errors())
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            errors = [{"field": "body", "message": "malformed JSON"}]
        return JSONResponse({"detail": errors}, status_code=422, headers=headers)
    token = body.key or request.query_params.get("key") or request.headers.get("x-api-key")
    service = request.app.state.service
    info = service.keys.check(token) if token else None
    if info is None:
        return _refuse(401, "key", "missing, invalid or revoked site key", headers)
    if not info.allows("collect"):
        return _refuse(403, "key", "this key lacks the 'collect' scope", headers)
    if collect_service.do_not_track(request.headers):
        return _answer(CollectOut(filtered="do_not_track"), headers)
    if collect_service.bot(request.headers.get("user-agent")):
        return _answer(CollectOut(filtered="bot"), headers)
    collector = _collector(request)
    wait = collector.limiter.take(info.id, len(body.events) + (1 if body.identify else 0))
    if wait:
        return _refuse(
            429,
            "key",
            "rate limit of this site key reached",
            {**headers, "Retry-After": str(max(1, int(wait + 0.999)))},
        )
    ip = request.client.host if request.client else None
    rows, errors = collect_service.events_of(
        body, request.app.state.settings.collect_types, clock_of(request.app.state)(), ip
    )
    out = CollectOut(errors=errors, rejected=len(errors))
    if rows:
        result = await service.ingest_async(batch_body(rows), "events")
        summary = result.summary()
        out.accepted = summary["accepted"]
        out.duplicates = summary["duplicates"]
        out.rejected += summary["rejected"]
        out.errors += [e for r in summary["results"] for e in r.get("errors", [])]
    if body.identify is not None:
        out.identified = await run_in_threadpool(
            _identify, service, body.anonymous_id, body.identify.email
        )
    service.notify()
    return _answer(out, headers)


def _identify(service: Any, anonymous_id: str, email: str) -> bool:
    try:
        identify_by_email(service.store, anonymous_id, email)
    except Conflict:
        # The cookie already belongs to someone else (a shared computer): keep the
        # events where they are rather than move one person's history to another.
        return False
    return True


def _answer(out: CollectOut, headers: dict[str, str]) -> Response:
    return Response(out.model_dump_json(), media_type="application/json", headers=headers)


BODIES: list[type[BaseModel]] = [CollectIn]
