"""Signing in to the dashboard: an API key once, then a signed session cookie.

The cookie never holds the key. It holds the key's SHA-256 (what the store keeps)
and an expiry, signed with HMAC-SHA256 under a secret only the server knows; each
request re-checks that the key still exists and is not revoked, so revoking a key
signs its sessions out. Scripts and the benchmark may instead send the key itself
in ``Authorization: Bearer`` or ``X-API-Key`` on every request.

Forms that change something carry a CSRF token derived from the session (a
cookie-authenticated POST from another site cannot know it); requests
authenticated by a header need none, because a browser never adds that header
on its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select

from leadscore.service.keys import KeyInfo, hash_key
from leadscore.store import Store
from leadscore.store.tables import api_keys

COOKIE = "leadscore_session"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the key they signed in with."""

    key: KeyInfo
    digest: str
    via_cookie: bool

    @property
    def name(self) -> str:
        return self.key.name or f"key {self.key.id}"


def new_secret() -> bytes:
    return secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def session_cookie(secret: bytes, digest: str, now: float | None = None) -> str:
    payload = _b64(
        json.dumps({"k": digest, "exp": int((now or time.time()) + SESSION_SECONDS)}).encode()
    )
    return f"{payload}.{_sign(secret, payload)}"


def read_cookie(secret: bytes, value: str, now: float | None = None) -> str | None:
    """The key digest in a valid, unexpired cookie, else None."""
    payload, _, signature = value.partition(".")
    if not payload or not hmac.compare_digest(_sign(secret, payload), signature):
        return None
    try:
        data = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("exp", 0) < (now or time.time()):
        return None
    digest = data.get("k")
    return digest if isinstance(digest, str) else None


def csrf_token(secret: bytes, digest: str) -> str:
    return _sign(secret, "csrf:" + digest)


def key_by_digest(store: Store, digest: str) -> KeyInfo | None:
    """An active key by its stored hash (the cookie's contents)."""
    with store.read() as conn:
        row = conn.execute(
            select(api_keys.c.id, api_keys.c.name, api_keys.c.scopes).where(
                api_keys.c.hash == digest, api_keys.c.revoked_us.is_(None)
            )
        ).first()
    if row is None:
        return None
    return KeyInfo(row.id, row.name, frozenset(row.scopes.split(",")))


def key_by_token(store: Store, token: str) -> tuple[KeyInfo, str] | None:
    digest = hash_key(token)
    info = key_by_digest(store, digest)
    return (info, digest) if info is not None else None


def presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def viewer(request: Request, store: Store, secret: bytes) -> Viewer | None:
    """The signed-in key for this request, by header first, then by cookie."""
    token = presented_token(request)
    if token is not None:
        found = key_by_token(store, token)
        return Viewer(found[0], found[1], via_cookie=False) if found else None
    cookie = request.cookies.get(COOKIE)
    if cookie:
        digest = read_cookie(secret, cookie)
        if digest is not None:
            info = key_by_digest(store, digest)
            if info is not None:
                return Viewer(info, digest, via_cookie=True)
    return None
