"""Accounts and contacts: upsert, read, GDPR erasure and export."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from leadscore.service.api_mapping import active_mapping
from leadscore.service.clock import now_us
from leadscore.service.errors import Conflict, Invalid, NotFound
from leadscore.store import Store
from leadscore.store.tables import (
    accounts,
    anonymous_visitors,
    contact_scores,
    contacts,
    events,
    outcomes,
    score_snapshots,
    transitions,
    webhook_deliveries,
)


def _merge(old: dict[str, Any], new: dict[str, Any] | None) -> dict[str, Any]:
    """Update profile fields; a null value removes the field."""
    merged = dict(old)
    for key, value in (new or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# ----------------------------------------------------------------- accounts --


def upsert_account(
    store: Store,
    account_id: str,
    name: str | None = None,
    domain: str | None = None,
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create or update an account; its contacts are rescored (company fields feed fit)."""
    stamp = now_us()
    with store.write() as conn:
        row = conn.execute(select(accounts).where(accounts.c.account_id == account_id)).first()
        if row is None:
            conn.execute(
                insert(accounts).values(
                    account_id=account_id,
                    name=name,
                    domain=domain.lower() if domain else None,
                    fields=_merge({}, fields),
                    created_us=stamp,
                    updated_us=stamp,
                )
            )
            created = True
        else:
            conn.execute(
                update(accounts)
                .where(accounts.c.account_id == account_id)
                .values(
                    name=name if name is not None else row.name,
                    domain=domain.lower() if domain else row.domain,
                    fields=_merge(row.fields, fields),
                    updated_us=stamp,
                )
            )
            conn.execute(
                update(contacts)
                .where(contacts.c.account_id == account_id)
                .values(dirty=contacts.c.dirty + 1)
            )
            created = False
    return {**get_account(store, account_id), "created": created}


def get_account(store: Store, account_id: str) -> dict[str, Any]:
    with store.read() as conn:
        row = conn.execute(select(accounts).where(accounts.c.account_id == account_id)).first()
        if row is None:
            raise NotFound(f"no account '{account_id}'", "account_id")
        members = conn.execute(
            select(contacts.c.contact_id)
            .where(contacts.c.account_id == account_id)
            .order_by(contacts.c.contact_id)
        ).scalars()
        return {
            "account_id": row.account_id,
            "name": row.name,
            "domain": row.domain,
            "fields": row.fields,
            "contacts": list(members),
            "created_us": row.created_us,
            "updated_us": row.updated_us,
        }


# ----------------------------------------------------------------- contacts --


def upsert_contact(
    store: Store,
    contact_id: str | None = None,
    email: str | None = None,
    account_id: str | None = None,
    owner: str | None = None,
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create or update a contact found by ``contact_id``, else by ``email``.

    A new contact without an id gets a generated one. Changing the profile marks
    the contact for rescoring (fit rules read these fields).
    """
    if contact_id is None and email is None:
        raise Invalid("give contact_id or email (or both)", "contact_id")
    with store.write() as conn:
        # A CRM's own column names ("Job Title") become the active model's fields.
        mapping = active_mapping(conn)
        if mapping is not None:
            fields = mapping.contact_fields(fields)
        contact_id, created = upsert_contact_in(
            conn, now_us(), contact_id, email, account_id, owner, fields
        )
    if email:
        # Email-tool events that came before the contact (docs/connect.md) join it now.
        from leadscore.service.email_history import link_email_history

        link_email_history(store, contact_id, email.strip().lower())
    return {**get_contact(store, contact_id), "created": created}


def upsert_contact_in(
    conn: Connection,
    stamp: int,
    contact_id: str | None,
    email: str | None,
    account_id: str | None,
    owner: str | None,
    fields: dict[str, Any] | None,
) -> tuple[str, bool]:
    """:func:`upsert_contact` inside a caller's transaction: (contact_id, created).

    Every check raises before anything is written for this contact, so a caller
    that writes many contacts in one transaction (``leadscore import``) can skip
    a rejected one and keep the others.
    """
    if contact_id is None and email is None:
        raise Invalid("give contact_id or email (or both)", "contact_id")
    email = email.strip().lower() if email else None
    if account_id is not None and not _exists(conn, accounts.c.account_id, account_id):
        raise Invalid(
            f"unknown account '{account_id}' (create it with PUT /v1/accounts/{{id}})",
            "account_id",
        )
    found = conn.execute(
        select(contacts).where(
            contacts.c.contact_id == contact_id
            if contact_id is not None
            else contacts.c.email == email
        )
    ).first()
    if email is not None:
        owner_of_email = conn.execute(
            select(contacts.c.contact_id).where(contacts.c.email == email)
        ).scalar()
        if owner_of_email is not None and (found is None or owner_of_email != found.contact_id):
            raise Conflict(f"email '{email}' belongs to contact '{owner_of_email}'", "email")
    if found is None:
        contact_id = contact_id or "c_" + uuid.uuid4().hex
        conn.execute(
            insert(contacts).values(
                contact_id=contact_id,
                email=email,
                account_id=account_id,
                owner=owner,
                fields=_merge({}, fields),
                stage="lead",
                stage_us=stamp,
                surging=False,
                dirty=1,
                created_us=stamp,
                updated_us=stamp,
            )
        )
        conn.execute(
            insert(transitions).values(
                contact_id=contact_id,
                from_stage=None,
                to_stage="lead",
                at_us=stamp,
                cause="created",
            )
        )
        return contact_id, True
    conn.execute(
        update(contacts)
        .where(contacts.c.contact_id == found.contact_id)
        .values(
            email=email if email is not None else found.email,
            account_id=account_id if account_id is not None else found.account_id,
            owner=owner if owner is not None else found.owner,
            fields=_merge(found.fields, fields),
            dirty=contacts.c.dirty + 1,
            updated_us=stamp,
        )
    )
    return found.contact_id, False


def _exists(conn: Connection, column: Any, value: Any) -> bool:
    return conn.execute(select(column).where(column == value)).first() is not None


def contact_row(row: Any) -> dict[str, Any]:
    """The public view of a contact row, with its current score."""
    return {
        "contact_id": row.contact_id,
        "email": row.email,
        "account_id": row.account_id,
        "owner": row.owner,
        "fields": row.fields,
        "stage": row.stage,
        "stage_us": row.stage_us,
        "grade": row.grade,
        "surging": row.surging,
        "scores": row.scores,
        "model_version": row.model_version,
        "scored_as_of_us": row.scored_as_of_us,
        "pending_rescoring": row.dirty > 0,
        # When the stored score next changes without a new event (null: never).
        "due_us": row.due_us,
        "probability": row.probability,
        "predictive_version": row.predictive_version,
        "created_us": row.created_us,
        "updated_us": row.updated_us,
    }


def find_contact(conn: Connection, contact_id: str) -> Any:
    row = conn.execute(select(contacts).where(contacts.c.contact_id == contact_id)).first()
    if row is None:
        raise NotFound(f"no contact '{contact_id}'", "contact_id")
    return row


def get_contact(store: Store, contact_id: str) -> dict[str, Any]:
    with store.read() as conn:
        return contact_row(find_contact(conn, contact_id))


def erase_contact(store: Store, contact_id: str) -> dict[str, int]:
    """GDPR erasure: the contact and everything recorded about it, in one transaction.

    Anonymous activity the person was linked to is erased too (it is theirs), as
    are webhook deliveries whose payload names them. Returns row counts per table.
    """
    counts: dict[str, int] = {}
    with store.write() as conn:
        find_contact(conn, contact_id)
        anon_ids = list(
            conn.execute(
                select(anonymous_visitors.c.anonymous_id).where(
                    anonymous_visitors.c.contact_id == contact_id
                )
            ).scalars()
        )
        event_filter = events.c.contact_id == contact_id
        if anon_ids:
            event_filter = or_(event_filter, events.c.anonymous_id.in_(anon_ids))
        counts["events"] = conn.execute(delete(events).where(event_filter)).rowcount
        for name, table in (
            ("anonymous_visitors", anonymous_visitors),
            ("score_snapshots", score_snapshots),
            ("transitions", transitions),
            ("outcomes", outcomes),
            ("webhook_deliveries", webhook_deliveries),
            ("contact_scores", contact_scores),
        ):
            counts[name] = conn.execute(
                delete(table).where(table.c.contact_id == contact_id)
            ).rowcount
        counts["contacts"] = conn.execute(
            delete(contacts).where(contacts.c.contact_id == contact_id)
        ).rowcount
    return counts


def export_contact(store: Store, contact_id: str) -> dict[str, Any]:
    """GDPR access request: everything stored about one contact, as plain data."""
    with store.read() as conn:
        row = find_contact(conn, contact_id)
        account = None
        if row.account_id is not None:
            acc = conn.execute(
                select(accounts).where(accounts.c.account_id == row.account_id)
            ).first()
            account = dict(acc._mapping) if acc is not None else None

        def rows(table: Any, *order: Any) -> list[dict[str, Any]]:
            query = select(table).where(table.c.contact_id == contact_id).order_by(*order)
            return [dict(r._mapping) for r in conn.execute(query)]

        anon_ids = [
            r["anonymous_id"] for r in rows(anonymous_visitors, anonymous_visitors.c.anonymous_id)
        ]
        return {
            "contact": {**contact_row(row), "explanation": row.explanation},
            "account": account,
            "anonymous_visitors": rows(anonymous_visitors, anonymous_visitors.c.anonymous_id),
            "events": rows(events, events.c.ts_us, events.c.event_id),
            "score_history": rows(score_snapshots, score_snapshots.c.id),
            "transitions": rows(transitions, transitions.c.id),
            "outcomes": rows(outcomes, outcomes.c.id),
            "webhook_deliveries": [
                {k: v for k, v in d.items() if k != "payload"}
                for d in rows(webhook_deliveries, webhook_deliveries.c.id)
            ],
            "anonymous_ids": anon_ids,
        }
