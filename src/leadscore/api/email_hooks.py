"""Email tools' event webhooks: ``POST /v1/hooks/sendgrid``, ``/mailgun``, ``/mandrill``.

No API key: each tool signs its requests and the signature is checked with the
key in the settings (a hook whose key is not set answers 503, so the tool keeps
retrying until it is). Bad or missing signature: 401. Mapping and the choice of
contact in :mod:`leadscore.service.email_hooks`.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from leadscore.service import email_hooks as hooks
from leadscore.service.connect import BadValue, batch_body, contacts_by_email
from leadscore.service.email_hooks import BadSignature, EmailEvent
from leadscore.service.errors import ServiceError

router = APIRouter(prefix="/v1/hooks", tags=["connect: email tools"])


class HookItem(BaseModel):
    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    event_id: str | None = None
    type: str | None = None
    errors: list[dict[str, str]] = Field(default_factory=list)


class HookOut(BaseModel):
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    results: list[HookItem] = Field(default_factory=list)


class Unauthorised(ServiceError):
    status = 401


class NotConfigured(ServiceError):
    status = 503


class BadBody(ServiceError):
    status = 422


def _setting(request: Request, name: str) -> str:
    value: str | None = getattr(request.app.state.settings, name)
    if not value:
        raise NotConfigured(
            f"this webhook is off until LEADSCORE_{name.upper()} is set", name.lower()
        )
    return value


async def _store(request: Request, parsed: list[EmailEvent | BadValue]) -> HookOut:
    service = request.app.state.service
    good = [p for p in parsed if isinstance(p, EmailEvent)]
    out = HookOut()
    results: dict[int, Any] = {}
    if good:
        contact_of = await run_in_threadpool(
            contacts_by_email, service.store, {e.email for e in good if e.email}
        )
        rows = hooks.event_rows(good, contact_of)
        result = await service.ingest_async(batch_body(rows), "events")
        stored = iter(zip(good, result.summary()["results"], strict=True))
        for i, p in enumerate(parsed):
            if isinstance(p, EmailEvent):
                ev, item = next(stored)
                results[i] = HookItem(
                    index=i,
                    status=item["status"],
                    event_id=ev.event_id,
                    type=ev.type,
                    errors=item.get("errors", []),
                )
        service.notify()
    for i, p in enumerate(parsed):
        item = results.get(i) or HookItem(
            index=i,
            status="rejected",
            errors=[{"field": p.field, "message": p.message}] if isinstance(p, BadValue) else [],
        )
        out.results.append(item)
        if item.status == "accepted":
            out.accepted += 1
        elif item.status == "duplicate":
            out.duplicates += 1
        else:
            out.rejected += 1
    return out


def _parse_each(items: list[Any], parse: Any, prefix: str) -> list[EmailEvent | BadValue]:
    parsed: list[EmailEvent | BadValue] = []
    for i, item in enumerate(items):
        try:
            parsed.append(parse(item, f"{prefix}[{i}]"))
        except BadValue as exc:
            parsed.append(exc)
    return parsed


def _json(raw: bytes | str, what: str) -> Any:
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBody(f"malformed JSON: {exc}", what) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


SENDGRID_EXAMPLE = [
    {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": "click",
        "category": "cat facts",
        "sg_event_id": "sg_event_id",
        "sg_message_id": "sg_message_id",
        "url": "https://sendgrid.com",
    }
]


@router.post(
    "/sendgrid",
    summary="SendGrid Event Webhook (signed)",
    description="Set the Event Webhook's HTTP POST URL to this route and turn on its "
    "signature; put the verification key in LEADSCORE_SENDGRID_PUBLIC_KEY.",
    response_model=HookOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": {"type": "object"}},
                    "example": SENDGRID_EXAMPLE,
                }
            },
            "required": True,
        }
    },
)
async def post_sendgrid(request: Request) -> HookOut:
    key = _setting(request, "sendgrid_public_key")
    raw = await request.body()
    try:
        hooks.verify_sendgrid(
            key,
            request.headers.get("x-twilio-email-event-webhook-signature"),
            request.headers.get("x-twilio-email-event-webhook-timestamp"),
            raw,
        )
    except BadSignature as exc:
        raise Unauthorised(str(exc), "x-twilio-email-event-webhook-signature") from None
    payload = _json(raw, "body")
    if not isinstance(payload, list):
        raise BadBody("SendGrid posts a JSON array of events", "body")
    return await _store(request, _parse_each(payload, hooks.sendgrid_event, "body"))


MAILGUN_EXAMPLE = {
    "signature": {
        "token": "e0b5477167110d68991efc6b9f89f0a11066af27834600e123",
        "timestamp": "1770920772",
        "signature": "<hex HMAC-SHA256 of timestamp+token>",
    },
    "event-data": {
        "event": "clicked",
        "id": "Ase7i2zsRYeDXztHGENqRA",
        "timestamp": 1521243339.873676,
        "recipient": "alice@example.com",
        "url": "https://example.com/pricing",
        "message": {"headers": {"message-id": "20130503182626.18666.16540@example.com"}},
    },
}


@router.post(
    "/mailgun",
    summary="Mailgun webhook (signed)",
    description="Add this URL as a Mailgun webhook for each event kind; put the HTTP "
    "webhook signing key in LEADSCORE_MAILGUN_SIGNING_KEY.",
    response_model=HookOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "object"}, "example": MAILGUN_EXAMPLE}
            },
            "required": True,
        }
    },
)
async def post_mailgun(request: Request) -> HookOut:
    key = _setting(request, "mailgun_signing_key")
    payload = _json(await request.body(), "body")
    if not isinstance(payload, dict):
        raise BadBody("Mailgun posts a JSON object", "body")
    try:
        hooks.verify_mailgun(key, payload.get("signature"))
    except BadSignature as exc:
        raise Unauthorised(str(exc), "signature") from None
    return await _store(request, _parse_each([payload.get("event-data")], _mailgun, "body"))


def _mailgun(item: Any, where: str) -> EmailEvent:
    return hooks.mailgun_event(item, "body.event-data")


@router.head("/mandrill", include_in_schema=False)
def head_mandrill() -> Response:
    # Mailchimp Transactional checks that the URL answers before saving a webhook.
    return Response(status_code=200)


@router.post(
    "/mandrill",
    summary="Mailchimp Transactional (Mandrill) webhook (signed)",
    description="Form-encoded `mandrill_events` (a JSON array). Put the webhook's key in "
    "LEADSCORE_MANDRILL_WEBHOOK_KEY and, behind a proxy, the URL exactly as registered "
    "in LEADSCORE_MANDRILL_WEBHOOK_URL (it is part of the signature).",
    response_model=HookOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"mandrill_events": {"type": "string"}},
                        "required": ["mandrill_events"],
                    }
                }
            },
            "required": True,
        }
    },
)
async def post_mandrill(request: Request) -> HookOut:
    key = _setting(request, "mandrill_webhook_key")
    raw = await request.body()
    try:
        params = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise BadBody("the form is not UTF-8", "body") from None
    url = request.app.state.settings.mandrill_webhook_url or str(request.url)
    try:
        hooks.verify_mandrill(key, url, params, request.headers.get("x-mandrill-signature"))
    except BadSignature as exc:
        raise Unauthorised(str(exc), "x-mandrill-signature") from None
    if "mandrill_events" not in params:
        raise BadBody("missing the mandrill_events field", "mandrill_events")
    payload = _json(params["mandrill_events"], "mandrill_events")
    if not isinstance(payload, list):
        raise BadBody("mandrill_events is a JSON array", "mandrill_events")
    return await _store(request, _parse_each(payload, hooks.mandrill_event, "mandrill_events"))
