"""HTTP to a CRM: bearer token, a client-side rate limiter, and retries.

A call is retried in place on what usually passes quickly: HTTP 429 (after the
server's ``Retry-After``, capped) and 5xx, timeouts and refused connections
(after ``retry_base x 2^n``). When the retries run out the caller gets a
:class:`Transient` error and the outbox retries the rows later with a longer
backoff; a 4xx other than 401/403/429 is returned to the connector, which knows
the vendor's error body.

Every request goes where :mod:`leadscore.service.outbound` lets it: the host is
resolved and checked on each call and the connection made to the checked address
(an address on loopback, the private network or the metadata service is refused
unless ``allow`` lists it), and a redirect is never followed: a 3xx is a
:class:`Permanent` error naming the configuration key.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from leadscore.crm.config import SyncSettings, check_crm_url
from leadscore.service.errors import Invalid
from leadscore.service.outbound import OutboundRefused, Unresolvable, pinned

Sleep = Callable[[float], None]


class Transient(Exception):
    """Worth retrying later: the CRM is down, busy, rate-limiting or refusing the token."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class Permanent(Exception):
    """Retrying the same request cannot help (bad configuration or request)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class RateLimiter:
    """At most ``limit`` requests in any ``window`` seconds (a sliding window).

    HubSpot counts requests per rolling 10 s; staying under its limit on our
    side avoids collecting 429s at all. The clock and sleep are injectable so
    tests check the schedule without waiting.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = time.sleep,
    ):
        self.limit, self.window = limit, window
        self.clock, self.sleep = clock, sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            while True:
                now = self.clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                # At least a millisecond: rounding must not leave us spinning on 1e-15.
                self.sleep(max(self._sent[0] + self.window - now, 0.001))


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class CrmHttp:
    def __init__(
        self,
        base_url: str,
        token: str,
        policy: SyncSettings,
        limiter: RateLimiter | None = None,
        sleep: Sleep = time.sleep,
        allow: Sequence[str] = (),
        field: str = "base_url",
    ):
        """``field`` names the configuration key of ``base_url`` in errors; ``allow``
        lists the private networks it may point into (``allow_private_networks``)."""
        self.policy = policy
        self.limiter = limiter
        self.sleep = sleep
        self.base_url = base_url.rstrip("/")
        self.allow = tuple(allow)
        self.field = field
        # Refused now (service start, `leadscore sync`), not at the first send.
        check_crm_url(self.base_url, self.allow, field)
        self.client = httpx.Client(
            follow_redirects=False,  # a redirect would lead to an unchecked place
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "leadscore-crm/1",
            },
            timeout=policy.timeout,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response of a 2xx or a plain 4xx; raises :class:`Transient` otherwise."""
        attempt = 0
        while True:
            if self.limiter is not None:
                self.limiter.acquire()
            try:
                # Resolved and checked on every call: DNS may have changed meanwhile.
                url, headers, extensions = pinned(self.base_url + path, self.allow, self.field)
                response = self.client.request(
                    method, url, headers=headers, extensions=extensions, **kwargs
                )
            except OutboundRefused as exc:
                raise Permanent(f"{method} {path}: {exc}") from None
            except Unresolvable as exc:  # DNS trouble passes: retried like a refused connection
                problem = Transient(f"{method} {path}: {exc}")
            except Invalid as exc:
                raise Permanent(f"{method} {path}: {exc}") from None
            except httpx.TransportError as exc:  # refused, reset, timed out...
                problem = Transient(f"{method} {path}: {type(exc).__name__}: {exc}")
            else:
                code = response.status_code
                if response.is_redirect:
                    raise Permanent(
                        f"{method} {path}: the CRM answered HTTP {code} redirecting to "
                        f"{response.headers.get('Location', '?')!r}; redirects are not "
                        f"followed (check {self.field})",
                        code,
                    )
                if code in (401, 403) and not _quota(response):
                    # A bad or expired token: waiting may help (the token is rotated),
                    # retrying at once does not.
                    raise Transient(f"{method} {path}: HTTP {code}: {response.text[:300]}", code)
                if code != 429 and code < 500 and not _quota(response):
                    return response
                problem = Transient(
                    f"{method} {path}: HTTP {code}: {response.text[:300]}",
                    code,
                    retry_after_seconds(response.headers.get("Retry-After")),
                )
            if attempt >= self.policy.request_retries:
                raise problem
            wait = problem.retry_after
            if wait is None:
                wait = self.policy.retry_base * 2**attempt
            self.sleep(min(wait, self.policy.retry_after_max))
            attempt += 1

    def close(self) -> None:
        self.client.close()


def _quota(response: httpx.Response) -> bool:
    """Salesforce answers an exhausted API allowance with 403 REQUEST_LIMIT_EXCEEDED."""
    return response.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in response.text
