"""A Segment-compatible endpoint: ``POST /v1/segment`` (one message) and
``/v1/segment/batch``, for Segment's Webhook destination, RudderStack, or the
Segment libraries pointed at ``https://LEADSCORE/v1/segment`` (they post to
``/v1/batch``, ``/v1/track``... under it). Mapping in :mod:`leadscore.service.segment`.

The write key is the HTTP basic-auth user name (password empty), as Segment and
RudderStack send it; an ``ingest`` or ``admin`` key. ``Authorization: Bearer``,
``X-API-Key`` and the body's ``writeKey`` work too.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from leadscore.service import segment as segment_service
from leadscore.service.connect import (
    Outcome,
    batch_body,
    clock_of,
    ensure_contacts,
    field_errors,
)
from leadscore.service.errors import ServiceError
from leadscore.service.segment import SegmentBatch, SegmentMessage

router = APIRouter(prefix="/v1/segment", tags=["connect: Segment"])

BODIES: list[type[BaseModel]] = [SegmentMessage, SegmentBatch]


class MessageResult(BaseModel):
    index: int
    type: str | None = None
    messageId: str | None = None
    status: Literal["accepted", "duplicate", "rejected", "skipped"]
    event_id: str | None = None
    errors: list[dict[str, str]] = Field(default_factory=list)
    note: str | None = None


class SegmentOut(BaseModel):
    success: bool = Field(default=True, description="Segment's libraries read this")
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0
    results: list[MessageResult] = Field(default_factory=list)


def _token(request: Request, body: Any) -> str | None:
    auth = request.headers.get("authorization", "")
    kind, _, value = auth.partition(" ")
    if kind.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or password or None
    if kind.lower() == "bearer":
        return value.strip() or None
    if request.headers.get("x-api-key"):
        return request.headers["x-api-key"]
    key = body.get("writeKey") if isinstance(body, dict) else None
    return key if isinstance(key, str) else None


def _authorise(request: Request, body: Any) -> None:
    token = _token(request, body)
    if not token:
        raise ServiceError401(
            "missing write key: send it as the basic-auth user name (Segment, RudderStack)"
        )
    info = request.app.state.service.keys.check(token)
    if info is None:
        raise ServiceError401("invalid or revoked write key")
    if not info.allows("ingest"):
        raise ServiceError403("this key lacks the 'ingest' scope")


class ServiceError401(ServiceError):
    status = 401

    def __init__(self, message: str):
        super().__init__(message, "authorization")


class ServiceError403(ServiceError):
    status = 403

    def __init__(self, message: str):
        super().__init__(message, "authorization")


async def _read(request: Request) -> Any:
    raw = await request.body()
    try:
        return segment_service.parse_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Invalid(f"malformed JSON: {exc}", "body") from None


class _Invalid(ServiceError):
    status = 422


async def _handle(
    request: Request, items: list[Any], prefix: str, context: Any
) -> tuple[SegmentOut, list[Outcome]]:
    service = request.app.state.service
    now = clock_of(request.app.state)()
    plan = segment_service.plan(items, prefix, now, context if isinstance(context, dict) else None)
    outcomes = plan.outcomes
    if plan.events:
        await run_in_threadpool(ensure_contacts, service.store, plan.users)
        result = await service.ingest_async(batch_body([row for _, row in plan.events]), "events")
        for (i, row), item in zip(plan.events, result.summary()["results"], strict=True):
            outcomes[i] = Outcome(
                item["status"],
                row["event_id"],
                errors=_segment_fields(item.get("errors", []), i, prefix),
            )
    for i, msg in plan.profiles:
        where = f"{prefix}[{i}]" if prefix == "batch" else prefix
        outcomes[i] = await run_in_threadpool(
            segment_service.apply_profile, service.store, msg, where
        )
    service.notify()
    out = SegmentOut()
    for i, (item, outcome) in enumerate(zip(items, outcomes, strict=True)):
        assert outcome is not None
        raw = item if isinstance(item, dict) else {}
        out.results.append(
            MessageResult(
                index=i,
                type=raw.get("type") if isinstance(raw.get("type"), str) else None,
                messageId=raw.get("messageId") if isinstance(raw.get("messageId"), str) else None,
                status=outcome.status,  # type: ignore[arg-type]
                event_id=outcome.event_id,
                errors=outcome.errors,
                note=outcome.note if outcome.status != "rejected" else None,
            )
        )
        counter = {"duplicate": "duplicates"}.get(outcome.status, outcome.status)
        setattr(out, counter, getattr(out, counter) + 1)
    return out, [o for o in outcomes if o is not None]


_EVENT_FIELDS = {"contact_id": "userId", "anonymous_id": "anonymousId", "event_id": "messageId"}


def _segment_fields(errors: list[dict[str, str]], i: int, prefix: str) -> list[dict[str, str]]:
    """Ingest names fields as leadscore events do; answer in Segment's names."""
    where = f"{prefix}[{i}]" if prefix == "batch" else prefix
    out = []
    for e in errors:
        leaf = e["field"].rsplit(".", 1)[-1]
        out.append({"field": f"{where}.{_EVENT_FIELDS.get(leaf, leaf)}", "message": e["message"]})
    return out


@router.post(
    "",
    summary="One Segment message (identify, track, page, screen, group, alias)",
    response_model=SegmentOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SegmentMessage"}}
            },
            "required": True,
        }
    },
)
async def post_message(request: Request) -> JSONResponse:
    body = await _read(request)
    _authorise(request, body)
    if not isinstance(body, dict):
        raise _Invalid("a Segment message is a JSON object", "body")
    out, outcomes = await _handle(request, [body], "body", None)
    result = out.results[0]
    if result.status == "rejected":
        # A refusal by the service (a conflict) keeps its status; bad input is 422.
        note = outcomes[0].note or ""
        status = int(note) if note.isdigit() else 422
        return JSONResponse({"detail": result.errors}, status_code=status)
    return JSONResponse(out.model_dump(), status_code=200)


@router.post(
    "/batch",
    summary="A Segment / RudderStack batch: answered message by message",
    response_model=SegmentOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SegmentBatch"}}
            },
            "required": True,
        }
    },
)
async def post_batch(request: Request) -> SegmentOut:
    body = await _read(request)
    _authorise(request, body)
    try:
        batch = SegmentBatch.model_validate(body)
    except ValidationError as exc:
        errors = field_errors(exc.errors(include_input=False))
        raise _Invalid(errors[0]["message"], errors[0]["field"] or "body") from None
    out, _ = await _handle(request, batch.batch, "batch", batch.context)
    return out


# The Segment and RudderStack libraries post to <host>/v1/batch, /v1/track...: with
# the host set to https://LEADSCORE/v1/segment they land here.
@router.post("/v1/batch", include_in_schema=False, response_model=SegmentOut)
async def post_library_batch(request: Request) -> SegmentOut:
    return await post_batch(request)


@router.post("/v1/{kind}", include_in_schema=False, response_model=SegmentOut)
async def post_library_message(request: Request, kind: str) -> JSONResponse:
    return await post_message(request)
