"""Limits that protect the service: per-key request rates; doc pages kept to this host.

* :class:`RateLimiter`: a token bucket per API key, in process. Each key may send
  ``burst`` requests at once and ``rate`` per second sustained; past that the API
  answers 429 with ``Retry-After`` (whole seconds until one request is allowed).
  Several server processes each keep their own buckets (documented).
* :class:`DocsPolicy`: a Content-Security-Policy on ``/docs`` and ``/redoc`` so the
  pages load nothing from another host.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token buckets keyed by API key id; ``rate <= 0`` turns limiting off."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock  # injectable, so tests move time by hand
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key_id: int) -> float:
        """Spend one token of ``key_id``: 0.0 when allowed, else seconds until one is."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = self._buckets[key_id] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """The Retry-After header: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait)))


ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


DOC_PAGES = ("/docs", "/redoc")
# The doc pages may load only what the service itself serves. Their assets are shipped
# in a package (fastapi-offline), but ReDoc's bundle still names its logo on a CDN:
# with this policy the browser never sends that request (offline or not).
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'self'"
)


class DocsPolicy:
    """Add a Content-Security-Policy that keeps /docs and /redoc to this host."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") not in DOC_PAGES:
            await self.app(scope, receive, send)
            return

        async def with_policy(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", [])]
                headers.append((b"content-security-policy", DOCS_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_policy)
