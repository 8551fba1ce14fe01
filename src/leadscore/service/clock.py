"""The service's one clock: every "now" of the service comes from here.

Time-driven behaviour (scores that decay, windows that expire, leads recycled
after quiet months, throttled webhooks) is only testable if a test can move
time. Everything in :mod:`leadscore.service` asks this module for the time;
a test installs a :class:`ManualClock` and advances it by simulated days while
a real server runs::

    clock = ManualClock(datetime(2026, 11, 1, tzinfo=UTC))
    with installed(clock):
        ...
        clock.advance(days=30)

One process-wide clock (not one per :class:`~leadscore.service.runtime.Service`)
because the ingest and lifecycle functions are plain module functions called
from many places; threading a clock argument through all of them would be
noise. The pure cores (:mod:`leadscore.rules`) never read a clock: they take
``as_of``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (tests, simulations)."""

    def __init__(self, start: datetime | None = None):
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("a ManualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)`` (days=30, seconds=5...)."""
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)


_current: Clock = SystemClock()


def install(clock: Clock) -> Clock:
    """Make ``clock`` the service's clock; returns the one it replaces."""
    global _current
    previous, _current = _current, clock
    return previous


@contextmanager
def installed(clock: Clock) -> Iterator[Clock]:
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)


def current() -> Clock:
    return _current


def now() -> datetime:
    """The service's current moment (UTC)."""
    return _current.now()


def now_us() -> int:
    """The service's current moment in integer microseconds since the epoch."""
    if isinstance(_current, SystemClock):
        return time.time_ns() // 1_000  # exact, no float rounding
    return round(_current.now().timestamp() * 1_000_000)
