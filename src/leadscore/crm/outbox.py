"""The durable CRM outbox: what each CRM has not acknowledged yet.

* **Enqueue** (:func:`enqueue_crm_sync`) runs inside the transaction that stores
  new scores, so a committed score always reaches the CRM eventually, across
  crashes and CRM outages. One row per (connector, contact): a later change only
  bumps the row's ``version`` (coalescing), and the record is built from the
  contact's current score when it is sent.
* **Claim** (:func:`claim`) takes due rows under a lease, with ``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL so two servers never take the same row (SQLite
  serialises writers anyway). The HTTP call happens outside any transaction.
* **Settle** (:func:`settle`) deletes a row only after the CRM acknowledged the
  version that was sent; a row changed meanwhile stays, to send the newer values.
  Transient failures back off exponentially; permanent ones (and rows out of
  attempts) become **dead letters**, listed and retried through the API.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, tuple_, update

from leadscore.crm.config import SyncSettings
from leadscore.service.errors import NotFound
from leadscore.store import Store, now_us
from leadscore.store.tables import contacts, crm_outbox

ENQUEUE_CHUNK = 5_000


@dataclass(frozen=True)
class Claimed:
    id: int
    contact_id: str
    version: int
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """How the CRM answered for one record."""

    ok: bool
    permanent: bool = False  # a 4xx or a per-record error: retrying cannot help
    skipped: bool = False  # nothing to send (e.g. no email, no CRM record id)
    status: int | None = None
    error: str | None = None
    payload: dict[str, Any] | None = None
    retry_after: float | None = None


@dataclass
class Settled:
    sent: int = 0
    skipped: int = 0
    retrying: int = 0
    dead: int = 0
    superseded: int = 0  # acknowledged, but changed meanwhile: will be sent again

    def add(self, other: Settled) -> None:
        for name in ("sent", "skipped", "retrying", "dead", "superseded"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _insert(conn: Connection) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    if conn.dialect.name == "postgresql":
        return postgresql.insert(crm_outbox)
    return sqlite.insert(crm_outbox)


def enqueue_crm_sync(
    conn: Connection, contact_ids: Sequence[str], connectors: Sequence[str]
) -> None:
    """Record that these contacts' scores changed, for each CRM connector (in the
    caller's transaction). An existing row keeps its place and backoff; its version
    moves on so the newest values are what gets acknowledged."""
    if not contact_ids or not connectors:
        return
    stamp = now_us()
    # One lock order for every writer of these rows (no deadlock on PostgreSQL).
    rows = [
        {
            "connector": connector,
            "contact_id": cid,
            "version": 1,
            "state": "pending",
            "attempts": 0,
            "next_attempt_us": stamp,
            "created_us": stamp,
            "updated_us": stamp,
        }
        for connector in sorted(connectors)
        for cid in sorted(set(contact_ids))
    ]
    stmt = _insert(conn)
    stmt = stmt.on_conflict_do_update(
        index_elements=["connector", "contact_id"],
        set_={"version": crm_outbox.c.version + 1, "updated_us": stmt.excluded.updated_us},
    )
    for start in range(0, len(rows), ENQUEUE_CHUNK):
        conn.execute(stmt, rows[start : start + ENQUEUE_CHUNK])


def enqueue_all(store: Store, connector: str) -> int:
    """Backfill: queue every scored contact for ``connector``; returns how many."""
    with store.read() as conn:
        ids = list(
            conn.execute(
                select(contacts.c.contact_id)
                .where(contacts.c.scored_as_of_us.is_not(None))
                .order_by(contacts.c.contact_id)
            ).scalars()
        )
    for start in range(0, len(ids), ENQUEUE_CHUNK):
        with store.write() as conn:
            enqueue_crm_sync(conn, ids[start : start + ENQUEUE_CHUNK], [connector])
    return len(ids)


def claim(store: Store, connector: str, limit: int, lease_s: float, owner: str) -> list[Claimed]:
    """Take up to ``limit`` due rows under a lease of ``lease_s`` seconds."""
    now = now_us()
    with store.write() as conn:
        rows = conn.execute(
            select(
                crm_outbox.c.id,
                crm_outbox.c.contact_id,
                crm_outbox.c.version,
                crm_outbox.c.attempts,
            )
            .where(
                crm_outbox.c.connector == connector,
                crm_outbox.c.state == "pending",
                crm_outbox.c.next_attempt_us <= now,
                (crm_outbox.c.claimed_until_us.is_(None)) | (crm_outbox.c.claimed_until_us <= now),
            )
            .order_by(crm_outbox.c.next_attempt_us, crm_outbox.c.id)
            .limit(limit)
            # PostgreSQL: rows another server is claiming right now are passed over,
            # not waited for (SQLite ignores this; its writers are serialised).
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return []
        conn.execute(
            update(crm_outbox)
            .where(crm_outbox.c.id.in_([r.id for r in rows]))
            .values(claimed_until_us=now + int(lease_s * 1_000_000), claimed_by=owner)
        )
    return [Claimed(r.id, r.contact_id, r.version, r.attempts) for r in rows]


def backoff_us(policy: SyncSettings, attempts: int) -> int:
    delay = min(policy.backoff_max, policy.backoff_base * 2 ** max(0, attempts - 1))
    return int(delay * 1_000_000)


def settle(
    store: Store,
    claimed: Sequence[Claimed],
    outcomes: dict[int, Outcome],
    policy: SyncSettings,
    owner: str,
) -> Settled:
    """Record how the CRM answered for each claimed row (one transaction, a few
    statements per batch whatever its size)."""
    result = Settled()
    now = now_us()
    done = [r for r in claimed if outcomes[r.id].ok or outcomes[r.id].skipped]
    failed = [r for r in claimed if not (outcomes[r.id].ok or outcomes[r.id].skipped)]
    release = {"claimed_until_us": None, "claimed_by": None, "updated_us": now}
    with store.write() as conn:
        if conn.dialect.name == "postgresql":
            # Lock in the order enqueue_crm_sync does (by contact), so a rescoring
            # touching the same rows waits instead of deadlocking.
            conn.execute(
                select(crm_outbox.c.id)
                .where(crm_outbox.c.id.in_([r.id for r in claimed]))
                .order_by(crm_outbox.c.contact_id)
                .with_for_update()
            ).all()
        if done:
            # Acknowledged: gone, unless changed while in flight (a newer version).
            conn.execute(
                delete(crm_outbox).where(
                    tuple_(crm_outbox.c.id, crm_outbox.c.version).in_(
                        [(r.id, r.version) for r in done]
                    )
                )
            )
            newer = set(
                conn.execute(
                    select(crm_outbox.c.id).where(crm_outbox.c.id.in_([r.id for r in done]))
                ).scalars()
            )
            if newer:  # the CRM has older values: send again, now
                conn.execute(
                    update(crm_outbox)
                    .where(crm_outbox.c.id.in_(newer), crm_outbox.c.claimed_by == owner)
                    .values(attempts=0, last_error=None, **release)
                )
            for row in done:
                if row.id in newer:
                    result.superseded += 1
                elif outcomes[row.id].ok:
                    result.sent += 1
                else:
                    result.skipped += 1
        if failed:
            conn.execute(
                update(crm_outbox)
                .where(crm_outbox.c.id == bindparam("rid"), crm_outbox.c.claimed_by == owner)
                .values(
                    attempts=bindparam("p_attempts"),
                    state=bindparam("p_state"),
                    next_attempt_us=bindparam("p_due"),
                    last_status=bindparam("p_status"),
                    last_error=bindparam("p_error"),
                    payload=bindparam("p_payload"),
                    **release,
                ),
                [_failure(row, outcomes[row.id], policy, now, result) for row in failed],
            )
    return result


def _failure(
    row: Claimed, outcome: Outcome, policy: SyncSettings, now: int, result: Settled
) -> dict[str, Any]:
    """The new state of a row whose send failed: back off, or a dead letter."""
    attempts = row.attempts + 1
    dead = outcome.permanent or attempts >= policy.max_attempts
    wait = backoff_us(policy, attempts)
    if outcome.retry_after is not None:
        wait = max(wait, int(outcome.retry_after * 1_000_000))
    if dead:
        result.dead += 1
    else:
        result.retrying += 1
    return {
        "rid": row.id,
        "p_attempts": attempts,
        "p_state": "dead" if dead else "pending",
        "p_due": now + wait,
        "p_status": outcome.status,
        "p_error": (outcome.error or "")[:2000] or None,
        "p_payload": None if outcome.payload is None else json.dumps(outcome.payload, default=str),
    }


# -------------------------------------------------------------- dead letters --


def _letter(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "connector": row.connector,
        "contact_id": row.contact_id,
        "attempts": row.attempts,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "payload": json.loads(row.payload) if row.payload else None,
        "updated_us": row.updated_us,
    }


def dead_letters(
    store: Store, connector: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    query = (
        select(crm_outbox)
        .where(crm_outbox.c.state == "dead")
        .order_by(crm_outbox.c.updated_us.desc(), crm_outbox.c.id.desc())
        .limit(limit)
    )
    if connector is not None:
        query = query.where(crm_outbox.c.connector == connector)
    with store.read() as conn:
        return [_letter(r) for r in conn.execute(query)]


def retry_dead(store: Store, letter_id: int | None = None, connector: str | None = None) -> int:
    """Put one dead letter (or all, or all of a connector) back in the queue, due now."""
    query = update(crm_outbox).where(crm_outbox.c.state == "dead")
    if letter_id is not None:
        query = query.where(crm_outbox.c.id == letter_id)
    if connector is not None:
        query = query.where(crm_outbox.c.connector == connector)
    with store.write() as conn:
        n = conn.execute(
            query.values(
                state="pending",
                attempts=0,
                next_attempt_us=now_us(),
                claimed_until_us=None,
                claimed_by=None,
            )
        ).rowcount
    if letter_id is not None and not n:
        raise NotFound(f"no dead letter with id {letter_id}", "letter_id")
    return int(n)


def counts(store: Store) -> dict[str, dict[str, int]]:
    """Rows per connector and state: ``{"hubspot": {"pending": 3, "dead": 1}}``."""
    with store.read() as conn:
        rows = conn.execute(
            select(crm_outbox.c.connector, crm_outbox.c.state, func.count()).group_by(
                crm_outbox.c.connector, crm_outbox.c.state
            )
        ).all()
    found: dict[str, dict[str, int]] = {}
    for connector, state, n in rows:
        found.setdefault(connector, {"pending": 0, "dead": 0})[state] = int(n)
    return found


def pending(store: Store, connector: str) -> int:
    with store.read() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(crm_outbox)
                .where(crm_outbox.c.connector == connector, crm_outbox.c.state == "pending")
            ).scalar_one()
        )


def next_due_us(store: Store, connector: str) -> int | None:
    with store.read() as conn:
        value = conn.execute(
            select(func.min(crm_outbox.c.next_attempt_us)).where(
                crm_outbox.c.connector == connector, crm_outbox.c.state == "pending"
            )
        ).scalar()
    return None if value is None else int(value)


def release(store: Store, owner: str) -> None:
    """Give back this sender's unsettled claims (an interrupted ``leadscore sync``)."""
    with store.write() as conn:
        conn.execute(
            update(crm_outbox)
            .where(crm_outbox.c.claimed_by == owner)
            .values(claimed_until_us=None, claimed_by=None)
        )
