"""What the connectors (website tracker, Segment, email-tool webhooks) share.

Each connector turns a foreign payload into leadscore's own events and contact
updates, then stores them through the same paths as the native API: events go
through the group committer (one durable transaction, idempotent by
``event_id``), identification through :func:`leadscore.service.events.identify`.

Foreign payloads nest objects and lists, while events and profiles hold flat
scalars; :func:`flatten` is the one rule for that. Strings with NUL characters
and numbers that are not finite are refused with the path of the offending
field (PostgreSQL cannot store NUL in text, and JSON has no NaN).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator
from sqlalchemy import insert, select

from leadscore.service import events as event_service
from leadscore.service.errors import Conflict, Invalid
from leadscore.store import Store, now_us
from leadscore.store.tables import anonymous_visitors, contacts, transitions

Scalar = str | int | float | bool | None

MAX_TEXT = 10_000  # characters of one property value (a list counts as its JSON text)
MAX_KEYS = 200  # properties per event or fields per profile


def wall_clock() -> datetime:
    return datetime.now(UTC)


def clock_of(state: Any) -> Callable[[], datetime]:
    """The connectors' one clock: ``app.state.clock`` when a test (or an embedder) set
    one, else the wall clock. Events stamped by the server (the tracker's, Segment
    messages without a time) take their time from here."""
    clock: Callable[[], datetime] = getattr(state, "clock", None) or wall_clock
    return clock


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(no_nul)]


class BadValue(ValueError):
    """A value of a foreign payload that cannot be stored; ``field`` says where."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def snake_case(name: str) -> str:
    """``firstName`` / ``First Name`` / ``first-name`` -> ``first_name``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", spaced).strip("_").lower()


def scalar(value: Any, where: str) -> Scalar:
    """One value as something an event property or profile field can hold."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise BadValue(where, "is too large a number")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadValue(where, "must be a finite number")
        return value
    if isinstance(value, str):
        if "\x00" in value:
            raise BadValue(where, "must not contain NUL characters")
        text = value
    else:
        # Lists (and anything else) are kept as JSON text: nothing sent is dropped.
        text = json.dumps(value, separators=(",", ":"), default=str, allow_nan=False)
        if "\\u0000" in text:
            raise BadValue(where, "must not contain NUL characters")
    if len(text) > MAX_TEXT:
        raise BadValue(where, f"longer than {MAX_TEXT:,} characters")
    return text


def flatten(
    values: Mapping[str, Any] | None, where: str, *, snake: bool = False
) -> dict[str, Scalar]:
    """Nested objects become ``parent_child`` keys; lists become JSON text.

    ``snake`` turns ``camelCase`` keys into ``snake_case`` (Segment treats both
    spellings of a trait as the same trait).
    """
    out: dict[str, Scalar] = {}

    def walk(prefix: str, node: Mapping[str, Any], path: str) -> None:
        for key, value in node.items():
            if not isinstance(key, str) or "\x00" in key or len(key) > 200:
                raise BadValue(path, "keys must be text of at most 200 characters, no NUL")
            name = snake_case(key) if snake else key
            full = f"{prefix}_{name}" if prefix else name
            if isinstance(value, Mapping):
                walk(full, value, f"{path}.{key}")
            else:
                try:
                    out[full] = scalar(value, f"{path}.{key}")
                except ValueError as exc:  # json.dumps of a NaN inside a list
                    if isinstance(exc, BadValue):
                        raise
                    raise BadValue(f"{path}.{key}", "must be finite numbers") from None
            if len(out) > MAX_KEYS:
                raise BadValue(path, f"more than {MAX_KEYS} fields")

    walk("", values or {}, where)
    return out


# ------------------------------------------------------------------ storing --


@dataclass
class Outcome:
    """What happened to one foreign message."""

    status: str  # accepted, duplicate, rejected, skipped
    event_id: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.event_id is not None:
            out["event_id"] = self.event_id
        if self.errors:
            out["errors"] = self.errors
        if self.note:
            out["note"] = self.note
        return out


def batch_body(events: list[dict[str, Any]]) -> bytes:
    """Events as a batch request body: the form both committers (in-process thread and
    ingest process) take, so connectors get group commit and idempotency unchanged."""
    return json.dumps({"events": events}, separators=(",", ":"), allow_nan=False).encode()


def ensure_contacts(store: Store, contact_ids: set[str]) -> None:
    """Create bare contacts for ids never seen, all in one transaction: a Segment
    ``track`` for a user often arrives before their ``identify``; its events must not
    be refused for that. (A contact made here is what ``upsert_contact`` makes for an
    id alone: stage ``lead``, its ``created`` transition, marked for scoring.)"""
    if not contact_ids:
        return
    with store.read() as conn:
        known = _known(conn, contact_ids)
    missing = sorted(contact_ids - known)
    if not missing:
        return
    stamp = now_us()
    with store.write() as conn:
        missing = sorted(set(missing) - _known(conn, set(missing)))  # created meanwhile?
        if not missing:
            return
        made = conn.execute(
            event_service.dialect_insert(store, contacts)
            .on_conflict_do_nothing(index_elements=["contact_id"])
            .returning(contacts.c.contact_id),
            [
                {
                    "contact_id": cid,
                    "fields": {},
                    "stage": "lead",
                    "stage_us": stamp,
                    "surging": False,
                    "dirty": 1,
                    "created_us": stamp,
                    "updated_us": stamp,
                }
                for cid in missing
            ],
        ).scalars()
        created = sorted(made)  # not those another writer made meanwhile (PostgreSQL)
        if not created:
            return
        conn.execute(
            insert(transitions),
            [
                {
                    "contact_id": cid,
                    "from_stage": None,
                    "to_stage": "lead",
                    "at_us": stamp,
                    "cause": "created",
                }
                for cid in created
            ],
        )


def _known(conn: Any, contact_ids: set[str]) -> set[str]:
    ids = sorted(contact_ids)
    found: set[str] = set()
    for start in range(0, len(ids), 5_000):
        found.update(
            conn.execute(
                select(contacts.c.contact_id).where(
                    contacts.c.contact_id.in_(ids[start : start + 5_000])
                )
            ).scalars()
        )
    return found


def contacts_by_email(store: Store, emails: set[str]) -> dict[str, str]:
    """Lower-cased address -> contact id, for the addresses that belong to a contact
    (contacts store their email lower-cased, see ``upsert_contact``)."""
    wanted = sorted({e.strip().lower() for e in emails if e})
    if not wanted:
        return {}
    found: dict[str, str] = {}
    with store.read() as conn:
        for start in range(0, len(wanted), 5_000):
            rows = conn.execute(
                select(contacts.c.email, contacts.c.contact_id).where(
                    contacts.c.email.in_(wanted[start : start + 5_000])
                )
            )
            found.update({email: cid for email, cid in rows})
    return found


def identify_by_email(
    store: Store, anonymous_id: str | None, email: str, fields: dict[str, Scalar] | None = None
) -> str:
    """The contact with this address (created when there is none: a form fill is how a
    lead is born), with the visitor's anonymous history joined to it. Returns its id.

    Raises :class:`Conflict` when the anonymous id already belongs to another contact.
    """
    from leadscore.service.contacts import upsert_contact

    address = email.strip().lower()
    if "@" not in address or len(address) > 320:
        raise Invalid(f"'{email}' is not an email address", "email")
    if anonymous_id is not None:
        _check_visitor_free(store, anonymous_id, address)
    found = contacts_by_email(store, {address})
    if address in found and not fields:
        contact_id = found[address]
    else:
        contact_id = upsert_contact(
            store, found.get(address), address if address not in found else None, fields=fields
        )["contact_id"]
    if anonymous_id is not None:
        event_service.identify(store, anonymous_id, contact_id=contact_id)
    return contact_id


def _check_visitor_free(store: Store, anonymous_id: str, email: str) -> None:
    with store.read() as conn:
        row = conn.execute(
            select(anonymous_visitors.c.contact_id, contacts.c.email)
            .select_from(
                anonymous_visitors.outerjoin(
                    contacts, contacts.c.contact_id == anonymous_visitors.c.contact_id
                )
            )
            .where(anonymous_visitors.c.anonymous_id == anonymous_id)
        ).first()
    if row is not None and row.contact_id is not None and row.email != email:
        raise Conflict(
            f"anonymous id '{anonymous_id}' is already linked to another contact",
            "anonymous_id",
        )


_TELLING = (
    "value_error",
    "finite_number",
    "string_too_long",
    "too_long",
    "string_pattern_mismatch",
)


def field_errors(errors: list[Any], prefix: str = "") -> list[dict[str, str]]:
    """Pydantic errors as ``{field, message}``, one per field, without the members of
    unions in the path (``function-after[no_nul(), str]``, ``int``...), and with the
    message that says most (a NUL or a NaN rather than "not a boolean")."""
    by_field: dict[str, list[Any]] = {}
    for e in errors:
        parts = [p for p in e["loc"] if not (isinstance(p, str) and _union_member(p))]
        field = event_service.error_field(tuple(parts), prefix)
        by_field.setdefault(field, []).append(e)
    out = []
    for field, found in by_field.items():
        telling = [e for e in found if e.get("type") in _TELLING]
        if telling:
            message = telling[0]["msg"].removeprefix("Value error, ")
        elif len(found) > 1:
            message = "must be text, a number, true/false or null"
        else:
            message = found[0]["msg"]
        out.append({"field": field, "message": message})
    return out


def _union_member(part: str) -> bool:
    return part in ("str", "int", "float", "bool", "none", "dict", "list") or (
        "[" in part and part.endswith("]")
    )
