"""API keys: created once, stored only as a SHA-256 hash, checked in constant time.

A key is 32 random bytes (256 bits) in URL-safe base64 behind the ``lsk_`` prefix.
With that much entropy a plain SHA-256 is enough (a slow password hash protects
low-entropy secrets; it would only slow every request down here). The stored
``prefix`` lets an admin recognise a key in listings without revealing it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from leadscore.service.clock import now_us
from leadscore.service.errors import Invalid, NotFound
from leadscore.store import Store
from leadscore.store.tables import api_keys

# ``collect`` is the publishable site key of the website tracker: it can only add
# the tracker's events and identify visitors (POST /v1/collect), nothing else.
SCOPES = ("ingest", "read", "admin", "collect")


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str | None
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        # admin can do everything; ingest and read are separate powers.
        return scope in self.scopes or "admin" in self.scopes


def create_key(store: Store, scopes: list[str], name: str | None = None) -> dict[str, Any]:
    """Create a key; the returned ``key`` is shown once and never stored."""
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise Invalid(
            f"scopes must be one or more of {', '.join(SCOPES)} (got {', '.join(scopes) or 'none'})",
            "scopes",
        )
    token = "lsk_" + secrets.token_urlsafe(32)
    with store.write() as conn:
        key_id = conn.execute(
            insert(api_keys)
            .values(
                name=name,
                prefix=token[:12],
                hash=hash_key(token),
                scopes=",".join(sorted(set(scopes))),
                created_us=now_us(),
            )
            .returning(api_keys.c.id)
        ).scalar_one()
    return {"id": key_id, "name": name, "scopes": sorted(set(scopes)), "key": token}


def list_keys(store: Store) -> list[dict[str, Any]]:
    with store.read() as conn:
        rows = conn.execute(select(api_keys).order_by(api_keys.c.id)).mappings().all()
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "prefix": r["prefix"],
            "scopes": r["scopes"].split(","),
            "created_us": r["created_us"],
            "revoked": r["revoked_us"] is not None,
        }
        for r in rows
    ]


def revoke_key(store: Store, key_id: int) -> None:
    with store.write() as conn:
        done = conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_us.is_(None))
            .values(revoked_us=now_us())
        ).rowcount
    if not done:
        raise NotFound(f"no active API key with id {key_id}", "key_id")


class KeyChecker:
    """Verifies presented keys, caching good ones briefly to keep the hot path cheap."""

    def __init__(self, store: Store, cache_seconds: float = 5.0):
        self.store = store
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, KeyInfo]] = {}
        self._lock = threading.Lock()

    def check(self, token: str) -> KeyInfo | None:
        digest = hash_key(token)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self.store.read() as conn:
            row = conn.execute(
                select(api_keys.c.id, api_keys.c.name, api_keys.c.hash, api_keys.c.scopes).where(
                    api_keys.c.hash == digest, api_keys.c.revoked_us.is_(None)
                )
            ).first()
        # The lookup is by hash, so timing reveals nothing about the secret; the
        # constant-time comparison guards against a collation or index surprise.
        if row is None or not hmac.compare_digest(row.hash, digest):
            return None
        info = KeyInfo(row.id, row.name, frozenset(row.scopes.split(",")))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + self.cache_seconds, info)
        return info

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
