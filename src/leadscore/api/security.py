"""API-key authentication and request-size limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Header, HTTPException, Request

from leadscore.api.limits import RateLimiter
from leadscore.service.keys import KeyInfo


def require(scope: str) -> Any:
    """A dependency admitting keys with ``scope`` (or ``admin``): 401 without a valid key, 403
    with a key that lacks the scope."""

    # async so FastAPI runs it on the event loop instead of a threadpool hop; a
    # cache hit is a dictionary lookup, a miss one indexed read.
    async def check(
        request: Request,
        authorization: str | None = Header(None, include_in_schema=False),
        x_api_key: str | None = Header(None, include_in_schema=False),
    ) -> KeyInfo:
        token = x_api_key
        if token is None and authorization is not None:
            kind, _, value = authorization.partition(" ")
            token = value.strip() if kind.lower() == "bearer" else None
        if not token:
            raise HTTPException(
                401,
                "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        info = request.app.state.service.keys.check(token)
        if info is None:
            raise HTTPException(
                401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"}
            )
        if not info.allows(scope):
            raise HTTPException(403, f"this API key lacks the '{scope}' scope")
        limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
        wait = limiter.take(info.id) if limiter is not None else 0.0
        if limiter is not None and wait > 0:
            raise HTTPException(
                429,
                f"too many requests for this API key (limit {limiter.rate:g}/s, "
                f"bursts of {limiter.burst}); retry after {wait:.2f} s",
                headers={"Retry-After": limiter.retry_after(wait)},
            )
        return info

    return Depends(check)


class BodyLimit:
    """Reject request bodies above ``max_bytes`` with 413, even when sent chunked."""

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
        received = 0

        async def limited() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the app, so FastAPI turns it into a 413 answer.
                    raise HTTPException(413, _message(self.max_bytes))
            return message

        await self.app(scope, limited, send)


def _message(limit: int) -> str:
    return f"request body larger than {limit:,} bytes"


async def _too_large(send: Any, limit: int) -> None:
    import json

    body = json.dumps({"detail": [{"field": "body", "message": _message(limit)}]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
