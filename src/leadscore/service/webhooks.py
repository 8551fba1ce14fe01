"""Webhooks: subscriptions, the delivery outbox and the sender.

Deliveries are rows written in the same transaction as the change they report
(the outbox pattern), so a committed MQL crossing always produces its webhook,
even across a crash. The sender posts each due delivery with

* ``X-Leadscore-Signature: sha256=<hex>``: HMAC-SHA256 of the exact body bytes
  with the subscription's secret (receivers recompute it and compare in constant
  time);
* ``X-Leadscore-Event`` and ``X-Leadscore-Delivery`` (the delivery id, stable
  across retries, so receivers can de-duplicate).

Every URL goes through :mod:`leadscore.service.outbound`: refused at subscription
when it points at loopback, private, link-local or metadata addresses (unless
allowed), checked again before each attempt, the connection made to the checked
address, and redirects never followed (a 3xx is a failed attempt).

A 2xx answer marks the delivery delivered; anything else (or no answer) schedules
a retry after ``base x 2^(attempts-1)`` seconds (capped), up to ``max_attempts``,
after which it is ``failed``. Every attempt's outcome is readable via the API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, insert, select, update

from leadscore.service import outbound
from leadscore.service.clock import now_us
from leadscore.service.errors import Invalid, NotFound
from leadscore.store import Store
from leadscore.store.tables import webhook_deliveries, webhooks

EVENTS = (
    "lead.stage_changed",
    "lead.mql",
    "lead.sql",
    "lead.opportunity",
    "lead.customer",
    "lead.lost",
    "lead.lead",
    "lead.surging",
    "lead.score_changed",  # throttled per contact: see leadscore.service.score_changes
)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does (also used by the tests)."""
    return hmac.compare_digest(sign(secret, body), header)


# ------------------------------------------------------------ subscriptions --


def create_webhook(
    store: Store,
    url: str,
    events: list[str],
    secret: str | None = None,
    description: str | None = None,
    allow_networks: Sequence[str] = (),
) -> dict[str, Any]:
    """Subscribe ``url``; ``allow_networks`` (settings.allow_private_networks) lists the
    private networks it may point into."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("url must be an absolute http:// or https:// URL", "url")
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise Invalid(
            f"events must be one or more of {', '.join(EVENTS)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else ""),
            "events",
        )
    outbound.check_url(url, allow_networks, "url")  # last: it may ask DNS
    secret = secret or secrets.token_urlsafe(32)
    with store.write() as conn:
        hook_id = conn.execute(
            insert(webhooks)
            .values(
                url=url,
                secret=secret,
                events=sorted(set(events)),
                description=description,
                active=True,
                created_us=now_us(),
            )
            .returning(webhooks.c.id)
        ).scalar_one()
    return {**get_webhook(store, hook_id), "secret": secret}


def _hook(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "events": list(row.events),
        "description": row.description,
        "active": row.active,
        "created_us": row.created_us,
    }


def get_webhook(store: Store, hook_id: int) -> dict[str, Any]:
    with store.read() as conn:
        row = conn.execute(select(webhooks).where(webhooks.c.id == hook_id)).first()
    if row is None:
        raise NotFound(f"no webhook with id {hook_id}", "webhook_id")
    return _hook(row)


def list_webhooks(store: Store) -> list[dict[str, Any]]:
    with store.read() as conn:
        return [_hook(r) for r in conn.execute(select(webhooks).order_by(webhooks.c.id))]


def delete_webhook(store: Store, hook_id: int) -> None:
    with store.write() as conn:
        conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == hook_id))
        if not conn.execute(delete(webhooks).where(webhooks.c.id == hook_id)).rowcount:
            raise NotFound(f"no webhook with id {hook_id}", "webhook_id")


def list_deliveries(
    store: Store, hook_id: int, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    get_webhook(store, hook_id)
    query = (
        select(webhook_deliveries)
        .where(webhook_deliveries.c.webhook_id == hook_id)
        .order_by(webhook_deliveries.c.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(webhook_deliveries.c.status == status)
    with store.read() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "id": r.id,
            "event": r.event,
            "contact_id": r.contact_id,
            "status": r.status,
            "attempts": r.attempts,
            "last_status_code": r.last_status_code,
            "last_error": r.last_error,
            "created_us": r.created_us,
            "next_attempt_us": r.next_attempt_us if r.status == "pending" else None,
            "delivered_us": r.delivered_us,
            "payload": json.loads(r.payload),
        }
        for r in rows
    ]


# ------------------------------------------------------------------- outbox --


def _enqueue(
    conn: Connection, event: str, contact_id: str | None, payload: dict[str, Any], stamp: int
) -> int:
    hooks = [
        h
        for h in conn.execute(
            select(webhooks.c.id, webhooks.c.events).where(webhooks.c.active.is_(True))
        )
        if event in h.events
    ]
    if not hooks:
        return 0
    body = json.dumps({"event": event, "occurred_us": stamp, **payload}, default=str)
    conn.execute(
        insert(webhook_deliveries),
        [
            {
                "webhook_id": h.id,
                "contact_id": contact_id,
                "event": event,
                "payload": body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_us": stamp,
                "created_us": stamp,
            }
            for h in hooks
        ],
    )
    return len(hooks)


def enqueue_stage_change(
    conn: Connection,
    contact: dict[str, Any],
    from_stage: str | None,
    to_stage: str,
    cause: str,
    reason: str | None,
    score: dict[str, Any] | None,
    stamp: int,
) -> None:
    payload = {
        "contact": contact,
        "transition": {"from": from_stage, "to": to_stage, "cause": cause, "reason": reason},
        "score": score,
    }
    _enqueue(conn, "lead.stage_changed", contact["contact_id"], payload, stamp)
    _enqueue(conn, f"lead.{to_stage}", contact["contact_id"], payload, stamp)


def enqueue_surging(
    conn: Connection, contact: dict[str, Any], score: dict[str, Any], stamp: int
) -> None:
    _enqueue(
        conn, "lead.surging", contact["contact_id"], {"contact": contact, "score": score}, stamp
    )


# ------------------------------------------------------------------- sender --


class WebhookSender:
    """Posts due deliveries; one instance per process, run from a worker thread."""

    def __init__(
        self,
        store: Store,
        timeout: float = 5.0,
        max_attempts: int = 8,
        backoff_base: float = 2.0,
        backoff_max: float = 3600.0,
        parallel: int = 8,
        allow_networks: Sequence[str] = (),
    ):
        self.store = store
        outbound.networks(allow_networks)  # a bad CIDR in the settings fails at start
        self.allow_networks = tuple(allow_networks)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="webhook")
        self._lock = threading.Lock()
        self._lock_client = threading.Lock()
        self._client: Any = None

    def backoff_us(self, attempts: int) -> int:
        delay = min(self.backoff_max, self.backoff_base * 2 ** max(0, attempts - 1))
        return int(delay * 1_000_000)

    def deliver_due(self, limit: int = 50) -> int:
        """Attempt every due delivery once; returns how many were attempted."""
        with self._lock:
            now = now_us()
            query = (
                select(
                    webhook_deliveries.c.id,
                    webhook_deliveries.c.event,
                    webhook_deliveries.c.payload,
                    webhook_deliveries.c.attempts,
                    webhooks.c.url,
                    webhooks.c.secret,
                )
                .select_from(webhook_deliveries.join(webhooks))
                .where(
                    webhook_deliveries.c.status == "pending",
                    webhook_deliveries.c.next_attempt_us <= now,
                )
                .order_by(webhook_deliveries.c.next_attempt_us, webhook_deliveries.c.id)
                .limit(limit)
            )
            with self.store.read() as conn:  # the common case: nothing due, no write
                if not conn.execute(query.limit(1)).first():
                    return 0
            due = self._claim(query, now)
            if not due:
                return 0
            outcomes = list(self._pool.map(self._post, due))
            with self.store.write() as conn:
                for row, (code, error) in zip(due, outcomes, strict=True):
                    attempts = row.attempts + 1
                    values: dict[str, Any] = {
                        "attempts": attempts,
                        "last_status_code": code,
                        "last_error": error,
                    }
                    if code is not None and 200 <= code < 300:
                        # A coalesced delivery (lead.score_changed) whose payload was
                        # replaced while it was being posted stays pending: the newer
                        # payload goes out next.
                        sent = conn.execute(
                            update(webhook_deliveries)
                            .where(
                                webhook_deliveries.c.id == row.id,
                                webhook_deliveries.c.payload == row.payload,
                            )
                            .values(
                                **values,
                                status="delivered",
                                delivered_us=now_us(),
                                next_attempt_us=now_us(),  # its turn, not the lease
                            )
                        ).rowcount
                        if sent:
                            continue
                        values.update(last_error="payload replaced while it was sent")
                        values.update(attempts=row.attempts, next_attempt_us=now_us())
                    elif attempts >= self.max_attempts:
                        values.update(status="failed")
                    else:
                        values.update(next_attempt_us=now_us() + self.backoff_us(attempts))
                    conn.execute(
                        update(webhook_deliveries)
                        .where(webhook_deliveries.c.id == row.id)
                        .values(**values)
                    )
            return len(due)

    def _claim(self, query: Any, now: int) -> list[Any]:
        """Lease due deliveries to this server before posting them: their next attempt
        moves past the post's timeout, so another server (or the next pass) does not
        post them too; if this one dies mid-post they are due again after the lease
        (at least once: receivers de-duplicate on X-Leadscore-Delivery)."""
        if self.store.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=webhook_deliveries)
        lease_end = now + int((2 * self.timeout + 30) * 1_000_000)
        with self.store.write() as conn:
            due = list(conn.execute(query).all())
            if due:
                conn.execute(
                    update(webhook_deliveries)
                    .where(webhook_deliveries.c.id.in_([r.id for r in due]))
                    .values(next_attempt_us=lease_end)
                )
        return due

    def _post(self, row: Any) -> tuple[int | None, str | None]:
        import httpx

        body = row.payload.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "leadscore-webhooks/1",
            "X-Leadscore-Event": row.event,
            "X-Leadscore-Delivery": str(row.id),
            "X-Leadscore-Signature": sign(row.secret, body),
        }
        try:
            # Resolved and checked again now (DNS may have changed since subscription),
            # sent to the checked address, redirects not followed.
            response = outbound.pinned_request(
                "POST",
                row.url,
                self.allow_networks,
                content=body,
                headers=headers,
                timeout=self.timeout,
                client=self._http(),
            )
        except Invalid as exc:
            return None, exc.message[:500]
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        if response.is_redirect:
            where = response.headers.get("location", "?")
            return (
                response.status_code,
                f"HTTP {response.status_code}: redirect to {where[:200]} not followed",
            )
        return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"

    def _http(self) -> Any:
        """One HTTP client for every post (thread-safe): a new client per post built a
        TLS context each time, ~150 ms of CPU on a busy machine."""
        import httpx

        with self._lock_client:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
            return self._client

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()
