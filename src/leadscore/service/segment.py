"""Segment's tracking spec (as Segment and RudderStack send it) -> leadscore.

=========  ==============================================================
identify   ``userId`` is the contact id; traits become contact fields
           (snake_case; ``email`` the contact's email; see ``TRAITS``);
           ``anonymousId`` is linked, so the visitor's history joins.
           Without ``userId``, ``traits.email`` finds (or creates) the contact.
group      ``groupId`` is the account (``traits.name``, ``traits.website`` ->
           domain, other traits -> account fields); the user joins it.
track      an event typed by its name (``EVENT_TYPES``, else snake_case:
           "Trial Started" -> ``trial_started``); properties as sent.
page       a ``page_view``: ``url`` is the path (as rules read it, e.g.
           ``starts_with: /pricing``), ``page_url`` the full address.
screen     a ``screen_view``.
alias      ``previousId`` (an anonymous id) is linked to ``userId``.
=========  ==============================================================

``messageId`` is the event id, so a retried message is a duplicate, never a
second event. Times come from ``timestamp`` (else ``originalTimestamp``,
``sentAt``, ``receivedAt``; else the server's clock). A user id never seen
before gets a bare contact (a ``track`` often comes before the ``identify``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from leadscore.service import events as event_service
from leadscore.service.connect import (
    BadValue,
    Outcome,
    Scalar,
    Text,
    field_errors,
    flatten,
    identify_by_email,
    snake_case,
)
from leadscore.service.contacts import upsert_account, upsert_contact
from leadscore.service.errors import Conflict, ServiceError
from leadscore.store import Store

MAX_BATCH = 10_000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")  # as POST /v1/contacts checks it

# Segment's semantic event names with a leadscore meaning (compared lower-cased);
# any other name is snake_cased.
EVENT_TYPES = {
    "form submitted": "form_submit",
    "email delivered": "email_delivered",
    "email opened": "email_open",
    "email link clicked": "email_click",
    "email bounced": "email_bounce",
    "email marked as spam": "email_spamreport",
    "unsubscribed": "email_unsubscribe",
}

# Reserved traits, after flattening and snake_casing, -> the fields models read.
TRAITS = {
    "title": "job_title",
    "company_name": "company",
    "company_industry": "industry",
    "company_employee_count": "employees",
    "address_country": "country",
    "address_city": "city",
    "address_state": "state",
    "address_postal_code": "postal_code",
    "address_street": "street",
}

Id = Annotated[Text, Field(min_length=1, max_length=200)] | int
When = AwareDatetime | None

EXAMPLE_TRACK: dict[str, Any] = {
    "type": "track",
    "event": "Course Clicked",
    "userId": "AiUGstSDIg",
    "anonymousId": "23adfd82-aa0f-45a7-a756-24f2a7a4c895",
    "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
    "properties": {"title": "Intro to Analytics"},
    "timestamp": "2015-12-12T19:11:01.249Z",
}


class SegmentMessage(BaseModel):
    """One message of Segment's spec. Fields leadscore does not use (``integrations``,
    ``channel``, ``version``...) are accepted and ignored."""

    model_config = ConfigDict(
        extra="allow", allow_inf_nan=False, json_schema_extra={"examples": [EXAMPLE_TRACK]}
    )

    type: Literal["identify", "track", "page", "screen", "group", "alias"]
    messageId: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    userId: Id | None = None
    anonymousId: Id | None = None
    event: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    name: Annotated[Text, Field(max_length=500)] | None = None
    category: Annotated[Text, Field(max_length=500)] | None = None
    groupId: Id | None = None
    previousId: Id | None = None
    traits: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    timestamp: When = None
    originalTimestamp: When = None
    sentAt: When = None
    receivedAt: When = None


class SegmentBatch(BaseModel):
    """``/v1/segment/batch``: Segment's and RudderStack's batch body."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{"batch": [EXAMPLE_TRACK]}]},
    )

    batch: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        json_schema_extra={"items": {"$ref": "#/components/schemas/SegmentMessage"}},
    )
    context: dict[str, Any] = Field(default_factory=dict)


_MESSAGE = TypeAdapter(SegmentMessage)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    """JSON without NaN/Infinity (Python's parser takes them; JSON has none)."""
    return json.loads(raw, parse_constant=_no_constants)


def event_type(name: str) -> str:
    return EVENT_TYPES.get(" ".join(name.lower().split())) or snake_case(name)[:100]


def contact_fields(traits: dict[str, Any], where: str) -> tuple[str | None, dict[str, Scalar]]:
    """Identify traits -> (email, contact fields)."""
    fields = flatten(traits, where, snake=True)
    email = fields.pop("email", None)
    for reserved, ours in TRAITS.items():
        if reserved in fields and ours not in fields:
            fields[ours] = fields.pop(reserved)
    _numeric(fields, "employees")
    if email is not None and not (isinstance(email, str) and EMAIL.match(email.strip())):
        raise BadValue(f"{where}.email", "must be an email address")
    return email, fields


def _numeric(fields: dict[str, Scalar], name: str) -> None:
    # Segment documents `employees` as a string; rules compare it as a number.
    value = fields.get(name)
    if isinstance(value, str) and value.strip().isdigit():
        fields[name] = int(value.strip())


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


# ------------------------------------------------------------------ planning --


@dataclass
class Plan:
    """A request's messages sorted into events (stored by the committer) and profile
    changes (stored one by one), with each message's outcome so far."""

    outcomes: list[Outcome | None]
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    profiles: list[tuple[int, SegmentMessage]] = field(default_factory=list)
    users: set[str] = field(default_factory=set)  # contacts the events need


def plan(raw: list[Any], prefix: str, now: datetime, context: dict[str, Any] | None = None) -> Plan:
    """Validate messages (each alone) and map them. Pure: no store, time passed in."""
    out = Plan([None] * len(raw))
    for i, item in enumerate(raw):
        where = f"{prefix}[{i}]" if prefix == "batch" else prefix
        try:
            if context and isinstance(item, dict):
                item = {**item, "context": {**context, **(item.get("context") or {})}}
            msg = _MESSAGE.validate_python(item)
            if msg.type in ("identify", "group", "alias"):
                _check_profile(msg, where)
                out.profiles.append((i, msg))
                continue
            row = event_row(msg, where, now)
        except ValidationError as exc:
            out.outcomes[i] = Outcome("rejected", errors=field_errors(exc.errors(), where))
            continue
        except BadValue as exc:
            out.outcomes[i] = Outcome(
                "rejected", errors=[{"field": exc.field, "message": exc.message}]
            )
            continue
        if row.get("contact_id"):
            out.users.add(row["contact_id"])
        out.events.append((i, row))
    return out


def _check_profile(msg: SegmentMessage, where: str) -> None:
    if msg.type == "group" and msg.groupId is None:
        raise BadValue(f"{where}.groupId", "a group message needs groupId")
    if msg.type == "alias" and (msg.userId is None or msg.previousId is None):
        raise BadValue(f"{where}.previousId", "an alias message needs userId and previousId")
    if msg.type == "identify" and msg.userId is None and msg.anonymousId is None:
        raise BadValue(f"{where}.userId", "give userId or anonymousId")
    contact_fields(msg.traits, f"{where}.traits")  # refuse bad values before writing


def event_row(msg: SegmentMessage, where: str, now: datetime) -> dict[str, Any]:
    """A track, page or screen message as a leadscore event."""
    if msg.messageId is None:
        raise BadValue(f"{where}.messageId", "needed: it is the event id that makes retries safe")
    if msg.userId is None and msg.anonymousId is None:
        raise BadValue(f"{where}.userId", "give userId or anonymousId")
    props = flatten(msg.properties, f"{where}.properties")
    if msg.type == "track":
        if msg.event is None:
            raise BadValue(f"{where}.event", "a track message needs its event name")
        kind = event_type(msg.event)
        if not kind:
            raise BadValue(f"{where}.event", f"'{msg.event}' has no letters or digits")
        props.setdefault("event_name", msg.event)
        if kind == "form_submit":
            props.setdefault("form", props.get("form_id") or props.get("form_name"))
        if kind.startswith("email_") and "link_url" in props:
            props.setdefault("url", props["link_url"])
    elif msg.type == "page":
        kind = "page_view"
        page: dict[str, Any] = (
            msg.context["page"] if isinstance(msg.context.get("page"), dict) else {}
        )
        full = props.get("url") or page.get("url")
        path = props.get("path") or page.get("path")
        if path is None and isinstance(full, str):
            path = urlsplit(full).path or "/"
        if isinstance(full, str):
            props["page_url"] = full
        if path is not None:
            props["url"] = path
        for key in ("name", "category"):
            value = getattr(msg, key)
            if value is not None:
                props.setdefault(key, value)
    else:
        kind = "screen_view"
        if msg.name is not None:
            props.setdefault("name", msg.name)
    campaign = msg.context.get("campaign")
    if isinstance(campaign, dict):
        for key, value in flatten(campaign, f"{where}.context.campaign").items():
            props.setdefault(f"utm_{'campaign' if key == 'name' else key}", value)
    when = msg.timestamp or msg.originalTimestamp or msg.sentAt or msg.receivedAt or now
    row: dict[str, Any] = {
        "event_id": msg.messageId,
        "type": kind,
        "timestamp": when.astimezone(UTC).isoformat(),
        "properties": {k: v for k, v in props.items() if v is not None},
    }
    if msg.userId is not None:
        row["contact_id"] = _id(msg.userId)
    if msg.anonymousId is not None:
        row["anonymous_id"] = _id(msg.anonymousId)
    ip = msg.context.get("ip")
    if isinstance(ip, str):
        row["ip"] = ip[:64]
    return row


# ------------------------------------------------------------------ applying --


def apply_profile(store: Store, msg: SegmentMessage, where: str) -> Outcome:
    """Store one identify, group or alias message (each in its own transactions)."""
    try:
        if msg.type == "identify":
            return _identify(store, msg, where)
        if msg.type == "group":
            return _group(store, msg, where)
        return _alias(store, msg, where)
    except ServiceError as exc:
        name = {
            "anonymous_id": "anonymousId",
            "contact_id": "userId",
            "email": "traits.email",
            "account_id": "groupId",
        }.get(exc.field or "", exc.field or "body")
        return Outcome(
            "rejected",
            errors=[{"field": f"{where}.{name}", "message": exc.message}],
            note=str(exc.status),
        )


def _identify(store: Store, msg: SegmentMessage, where: str) -> Outcome:
    email, fields = contact_fields(msg.traits, f"{where}.traits")
    anonymous_id = _id(msg.anonymousId)
    if msg.userId is None:
        if email is None:
            return Outcome(
                "skipped", note="no userId and no traits.email: no contact to give the traits to"
            )
        identify_by_email(store, anonymous_id, email, fields)
        return Outcome("accepted")
    contact_id = str(msg.userId)
    if anonymous_id is not None:
        _free_visitor(store, anonymous_id, contact_id)
    upsert_contact(store, contact_id, email, fields=fields)
    if anonymous_id is not None:
        event_service.identify(store, anonymous_id, contact_id=contact_id)
    return Outcome("accepted")


def _free_visitor(store: Store, anonymous_id: str, contact_id: str) -> None:
    from sqlalchemy import select

    from leadscore.store.tables import anonymous_visitors

    with store.read() as conn:
        owner = conn.execute(
            select(anonymous_visitors.c.contact_id).where(
                anonymous_visitors.c.anonymous_id == anonymous_id
            )
        ).scalar()
    if owner is not None and owner != contact_id:
        raise Conflict(
            f"anonymous id '{anonymous_id}' is already linked to another contact", "anonymous_id"
        )


def _group(store: Store, msg: SegmentMessage, where: str) -> Outcome:
    fields = flatten(msg.traits, f"{where}.traits", snake=True)
    name = fields.pop("name", None)
    website = fields.pop("website", None)
    domain = None
    if isinstance(website, str) and website.strip():
        host = urlsplit(website if "//" in website else f"//{website}").hostname or ""
        domain = host.removeprefix("www.")[:255] or None
    _numeric(fields, "employees")
    account_id = str(msg.groupId)
    upsert_account(store, account_id, str(name)[:500] if name is not None else None, domain, fields)
    if msg.userId is None:
        return Outcome("accepted", note="account saved; no userId to join to it")
    upsert_contact(store, str(msg.userId), account_id=account_id)
    return Outcome("accepted")


def _alias(store: Store, msg: SegmentMessage, where: str) -> Outcome:
    from sqlalchemy import select

    from leadscore.store.tables import contacts

    user, previous = str(msg.userId), str(msg.previousId)
    if user == previous:
        return Outcome("skipped", note="previousId is userId")
    with store.read() as conn:
        known = conn.execute(
            select(contacts.c.contact_id).where(contacts.c.contact_id == previous)
        ).scalar()
    if known is not None:
        return Outcome(
            "rejected",
            errors=[
                {
                    "field": f"{where}.previousId",
                    "message": f"'{previous}' is a contact: merging two known contacts is "
                    "not supported (alias links an anonymous id to a user)",
                }
            ],
            note="409",
        )
    if not _exists(store, user):
        upsert_contact(store, user)
    event_service.identify(store, previous, contact_id=user)
    return Outcome("accepted")


def _exists(store: Store, contact_id: str) -> bool:
    from sqlalchemy import select

    from leadscore.store.tables import contacts

    with store.read() as conn:
        found = conn.execute(
            select(contacts.c.contact_id).where(contacts.c.contact_id == contact_id)
        ).scalar()
    return found is not None
