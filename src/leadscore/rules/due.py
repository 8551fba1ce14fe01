"""When a stored score stops being true: the next *due* moment of a contact.

A score computed as of ``as_of`` stays exact, without any new event, until one of
these happens:

* a ``within_days`` event rule loses its oldest counted event (it leaves the window);
* a volume rule's window loses enough events (or active days) to drop a tier;
* an inactivity rule's threshold is crossed (the last matching event turns N days old);
* an event leaves the surge window;
* a continuously decaying term (``half_life_days`` or ``decay_days``) moves a score
  by more than a tolerance, or carries it across a grade, lifecycle or surge boundary.

:func:`next_due` returns the earliest such moment. The first kinds are exact
moments read off the events. Continuous decay is found by evaluating the score at
later moments (the events are matched once, so each evaluation is only the
arithmetic): a galloping search on a grid of ``refresh_seconds`` steps, then
bisection down to ``resolution_seconds``. A boundary crossing is due at the moment
it happens; a drift beyond ``tolerance`` is due when it happens but never sooner
than ``refresh_seconds`` after ``as_of`` (that is what bounds the rescoring work).

Pure: no clock, no I/O; the service stores the answer and a scheduler rescoring
contacts whose moment has come (see :mod:`leadscore.service.scoring`).

Known limit: a continuous score that crosses a boundary and comes back within one
grid step (possible only with decaying terms of both signs) is not seen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadscore.rules.evaluate import (
    DAY,
    Contact,
    Event,
    LeadScore,
    Matched,
    Scorer,
    _Hit,
    _kept,
    _points,
)
from leadscore.spec.model import EventRule, InactivityRule, VolumeRule

# Terms are inclusive (``age <= within_days``): a term ends just after its moment.
_AFTER = 0.001  # seconds


@dataclass(frozen=True)
class Freshness:
    """How fresh stored scores are kept (the service's settings)."""

    refresh_seconds: float = 3600.0  # continuous decay: at most one refresh per this
    tolerance: float = 0.5  # ... and only when a score moved by more than this
    resolution_seconds: float = 10.0  # boundary crossings found to this precision
    horizon_days: float = 400.0  # look no further; recheck then


def next_due(
    scorer: Scorer,
    contact: Contact,
    events: Iterable[Event],
    as_of: datetime,
    freshness: Freshness = Freshness(),
) -> datetime | None:
    """The earliest moment after ``as_of`` when the score as of ``as_of`` is stale.

    ``None``: it never changes without a new event (no time-dependent terms).
    """
    matched = scorer.match(events, as_of)
    return due_from_matched(scorer, contact, matched, as_of, freshness)


def due_from_matched(
    scorer: Scorer,
    contact: Contact,
    matched: Matched,
    as_of: datetime,
    freshness: Freshness = Freshness(),
    result: LeadScore | None = None,
) -> datetime | None:
    """:func:`next_due` for events already matched (and the score at ``as_of`` if known)."""
    now = as_of.timestamp()
    breaks, rate = _breaks(scorer, matched, now)
    continuous = rate > 0
    horizon = now + freshness.horizon_days * DAY
    first_break = min((b for b in breaks if b > now), default=None)
    if not continuous:
        return _moment(first_break) if first_break is not None else None
    limit = min(first_break, horizon) if first_break is not None else horizon
    base = result or scorer.score_matched(contact, matched, as_of)
    search = _Search(scorer, contact, matched, base, freshness.tolerance)
    found = search.first_change(
        now, limit, freshness.refresh_seconds, freshness.resolution_seconds, rate
    )
    if found is None:
        return _moment(limit)
    if not search.crossed(found):  # only a drift: no sooner than one refresh interval
        earliest = now + freshness.refresh_seconds
        if found < earliest:
            found = earliest
            if earliest < limit and search.crossed(earliest):
                found = search.bisect(
                    lambda t: search.crossed(t),
                    now,
                    earliest,
                    freshness.resolution_seconds,
                )
        found = min(found, limit)
    return _moment(found)


def _moment(seconds: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


def _breaks(scorer: Scorer, matched: Matched, now: float) -> tuple[list[float], float]:
    """Exact moments when a term ends, and how fast the decaying terms fade now
    (points per second, summed: an upper bound of any score's drift rate later)."""
    model = scorer.model
    surge = model.surge
    breaks: list[float] = []
    rate = 0.0
    for plan in scorer._events:
        slot = matched[plan.slot]
        if not slot:
            continue
        rule = plan.rule
        hits = [_Hit(e, ts, (now - ts) / DAY, w) for e, ts, w in slot]
        if isinstance(rule, EventRule):
            kept = _kept(rule, hits)
            if not kept:
                continue
            if rule.within_days is not None:
                breaks.append(kept[0].ts + rule.within_days * DAY + _AFTER)
            if rule.half_life_days is not None:
                speed = math.log(2) / (rule.half_life_days * DAY)
                rate += sum(abs(_points(rule, h)) for h in kept) * speed
            elif rule.decay_days is not None:
                fading = [h for h in kept if h.age < rule.decay_days]
                rate += sum(abs(rule.points * h.weight) for h in fading) / (rule.decay_days * DAY)
            if surge is not None and plan.score == surge.score:
                recent = [h for h in kept if h.age <= surge.days]
                if recent:
                    breaks.append(recent[0].ts + surge.days * DAY + _AFTER)
        elif isinstance(rule, VolumeRule):
            moment = _tier_drop(rule, hits)
            if moment is not None:
                breaks.append(moment)
        elif isinstance(rule, InactivityRule):
            last = hits[-1]
            if last.age <= rule.inactive_days:
                breaks.append(last.ts + rule.inactive_days * DAY + _AFTER)
    return breaks, rate


def _tier_drop(rule: VolumeRule, hits: list[_Hit]) -> float | None:
    """When the window has lost enough events (or days) for the tier to change."""
    window = [h for h in hits if h.age <= rule.within_days]
    if not window:
        return None
    current = _tier(rule, window)
    for i, hit in enumerate(window):  # oldest first: they leave in this order
        if _tier(rule, window[i + 1 :]) != current:
            return hit.ts + rule.within_days * DAY + _AFTER
    return None


def _tier(rule: VolumeRule, window: list[_Hit]) -> int:
    count = len({int(h.ts // DAY) for h in window}) if rule.count == "days" else len(window)
    return sum(1 for tier in rule.tiers if count >= tier.at_least)


class _Search:
    """Evaluations of one contact's score at later moments, compared with ``base``."""

    def __init__(
        self, scorer: Scorer, contact: Contact, matched: Matched, base: LeadScore, tol: float
    ):
        self.scorer, self.contact, self.matched = scorer, contact, matched
        self.profile = scorer.profile_contributions(contact)
        self.base_state = _state(base)
        self.base_values = {n: s.value for n, s in base.scores.items()}
        self.tol = tol
        self._memo: dict[float, LeadScore] = {}

    def at(self, t: float) -> LeadScore:
        result = self._memo.get(t)
        if result is None:
            result = self.scorer.score_matched(self.contact, self.matched, _moment(t), self.profile)
            self._memo[t] = result
        return result

    def crossed(self, t: float) -> bool:
        """A grade, stage or surge boundary lies between ``as_of`` and ``t``."""
        return _state(self.at(t)) != self.base_state

    def changed(self, t: float) -> bool:
        result = self.at(t)
        if _state(result) != self.base_state:
            return True
        return any(abs(s.value - self.base_values[n]) > self.tol for n, s in result.scores.items())

    def first_change(
        self, now: float, limit: float, step: float, resolution: float, rate: float
    ) -> float | None:
        """The first moment the score changes (drift past the tolerance or a boundary).

        Decay only fades, so a score unchanged at ``limit`` is unchanged before it,
        and the drift cannot pass the tolerance sooner than ``tolerance / rate``:
        the search gallops (offsets doubling) from there, then bisects. Bisection
        stops at an eighth of the offset (at least 1/16 of ``step``) for a drift:
        rescoring a little early costs one refresh at most; it goes on to
        ``resolution`` for a boundary crossing."""
        if not self.changed(limit):
            return None
        lo = now
        t = now + max(step, self.tol / rate if rate > 0 else step)
        while True:
            t = min(t, limit)
            if self.changed(t):
                coarse = max(resolution, step / 16, (t - now) / 8)
                hi = self.bisect(self.changed, lo, t, coarse)
                if self.crossed(hi):
                    return self.bisect(self.crossed, max(lo, hi - coarse), hi, resolution)
                return max(now + resolution, hi - coarse)  # before the drift passes tol
            if t >= limit:
                return None
            lo, t = t, now + 2 * (t - now)

    @staticmethod
    def bisect(test: object, lo: float, hi: float, resolution: float) -> float:
        """The first moment in (lo, hi] where ``test`` holds, to ``resolution`` (hi holds)."""
        assert callable(test)
        while hi - lo > resolution:
            mid = (lo + hi) / 2
            if test(mid):
                hi = mid
            else:
                lo = mid
        return hi


def _state(result: LeadScore) -> tuple[object, ...]:
    return (
        tuple(s.grade for s in result.scores.values()),
        result.grade,
        result.stage,
        result.surging,
    )
