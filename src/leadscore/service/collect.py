"""The website tracker's collect endpoint: what a browser may send and what is kept.

The tracker (``/t.js``) posts small JSON bodies authorised by a *publishable*
site key (scope ``collect``). Such a key sits in every page's source, so anyone
can send what the tracker sends; the endpoint therefore

* accepts only the tracker's event types (``page_view``, ``form_submit``,
  ``click`` by default; ``LEADSCORE_COLLECT_TYPES`` to widen) and identification
  by email, never reads or changes anything else;
* namespaces the browser's event ids (``web:<id>``) so a page cannot collide
  with the ids of server-side sources;
* stamps events with the server's clock (a visitor's clock is not to be trusted);
* limits each key to a rate (token bucket, in this process: ``leadscore serve``
  answers HTTP from one process);
* answers browsers only from the configured origins (CORS), and drops what
  known bots send (user agent, by the kept ``crawlerdetect`` patterns) and what
  browsers send with Do Not Track / Global Privacy Control set.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadscore.service.connect import Text

DEFAULT_TYPES = ("page_view", "form_submit", "click")
MAX_BODY = 64 * 1024  # a tracker body holds a few small events
MAX_EVENTS = 50

Value = Annotated[Text, Field(max_length=2_000)] | int | float | bool | None


class CollectEvent(BaseModel):
    """One thing the visitor did, as the tracker reports it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    event_id: Annotated[Text, Field(min_length=1, max_length=100)] = Field(
        description="Made by the tracker; a resent event is a duplicate, not a second event",
        examples=["5f0c7a4e-3f86-4a52-9c43-0c2a5d1b9e11"],
    )
    type: Annotated[Text, Field(min_length=1, max_length=100)] = Field(examples=["page_view"])
    properties: dict[Annotated[Text, Field(max_length=100)], Value] = Field(
        default_factory=dict,
        max_length=100,
        examples=[{"url": "/pricing", "title": "Pricing", "utm_source": "newsletter"}],
    )


class CollectIdentify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[Text, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


class CollectIn(BaseModel):
    """A tracker request: one visitor's events and, after a form, who they are."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "key": "lsk_publishable-site-key",
                    "anonymous_id": "a7d1f0f2-8c1e-4cf5-9d0b-2b1f3f5e6a70",
                    "events": [
                        {
                            "event_id": "0b8f6e0c-6a55-4f5e-8b1c-8d0f7f8e2c11",
                            "type": "form_submit",
                            "properties": {"form": "demo", "url": "/demo"},
                        }
                    ],
                    "identify": {"email": "ada@example.com"},
                }
            ]
        },
    )

    key: Annotated[Text, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="The publishable site key (or ?key= / X-API-Key)"
    )
    anonymous_id: Annotated[Text, Field(min_length=8, max_length=100)] = Field(
        description="The tracker's first-party cookie id"
    )
    events: list[CollectEvent] = Field(default_factory=list, max_length=MAX_EVENTS)
    identify: CollectIdentify | None = None


class CollectOut(BaseModel):
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    filtered: Literal["bot", "do_not_track"] | None = Field(
        default=None, description="Why nothing was stored, when nothing was"
    )
    identified: bool | None = Field(
        default=None,
        description="Whether identify joined the visitor to a contact (absent: not asked)",
    )
    errors: list[dict[str, str]] = Field(default_factory=list)


# ------------------------------------------------------------------ limits --


class TokenBucket:
    """Per-key rate limit: ``rate`` events a second on average, bursts up to ``burst``.

    The clock is injectable (tests advance it by hand)."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[Any, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: Any, n: float = 1.0) -> float:
        """Take ``n`` tokens; 0.0 if allowed, else the seconds until they would be there."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= n:
                self._buckets[key] = (tokens - n, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (n - tokens) / self.rate if self.rate > 0 else float("inf")


@functools.lru_cache(maxsize=4096)
def is_bot(user_agent: str) -> bool:
    """Known crawlers, scrapers, headless browsers and HTTP libraries, by user agent
    (the patterns of the maintained CrawlerDetect project). No user agent: a bot."""
    if not user_agent.strip():
        return True
    return bool(_detector().isCrawler(user_agent))


@functools.cache
def _detector() -> Any:
    from crawlerdetect import CrawlerDetect

    return CrawlerDetect()


_BOT_LOCK = threading.Lock()


def bot(user_agent: str | None) -> bool:
    # CrawlerDetect keeps its last match on the instance: one caller at a time.
    with _BOT_LOCK:
        return is_bot(user_agent or "")


def origin_allowed(origin: str | None, allowed: tuple[str, ...], own: str) -> bool:
    """Browsers send ``Origin``; requests without one (servers, tools) are not a CORS
    matter. The service's own origin is always allowed."""
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    return "*" in allowed or origin == own.lower() or origin in allowed


def do_not_track(headers: Any) -> bool:
    return headers.get("dnt") == "1" or headers.get("sec-gpc") == "1"


# ---------------------------------------------------------------- the work --


def events_of(
    body: CollectIn, types: tuple[str, ...], now: datetime, ip: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The tracker's events as leadscore events (server time, namespaced ids), and the
    errors of those refused for their type."""
    stamp = now.astimezone(UTC).isoformat()
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for i, ev in enumerate(body.events):
        if ev.type not in types:
            errors.append(
                {
                    "field": f"events[{i}].type",
                    "message": f"'{ev.type}' is not collected from websites "
                    f"(allowed: {', '.join(types)})",
                }
            )
            continue
        row: dict[str, Any] = {
            "event_id": f"web:{ev.event_id}",
            "type": ev.type,
            "timestamp": stamp,
            "anonymous_id": body.anonymous_id,
            "properties": ev.properties,
        }
        if ip:
            row["ip"] = ip[:64]
        rows.append(row)
    return rows, errors
