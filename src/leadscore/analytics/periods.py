"""Reporting periods: calendar weeks, months, quarters, years, or N-day windows.

All periods are in UTC. A period is identified by its start timestamp; labels are
for people ("2024-03", "2024-Q1"). Empty periods are kept in every series, because
a month with no MQLs is a fact to show, not a row to lose.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_CALENDAR = ("week", "month", "quarter", "year", "day")
_ALIASES = {"w": "week", "m": "month", "q": "quarter", "y": "year", "d": "day"}
_DAYS = re.compile(r"^(\d+)\s*d(ays?)?$")


def normalise_period(period: str) -> str:
    """Accept ``month``/``m``, ``quarter``/``q``, ``week``, ``year``, ``day`` or ``14d``."""
    p = period.strip().lower()
    p = _ALIASES.get(p, p)
    if p in _CALENDAR:
        return p
    m = _DAYS.match(p)
    if m and int(m.group(1)) > 0:
        return f"{int(m.group(1))}d"
    raise ValueError(
        f"unknown period {period!r}: use day, week, month, quarter, year or a length like 14d"
    )


def _days(period: str) -> int | None:
    m = _DAYS.match(period)
    return int(m.group(1)) if m else None


def utc(ts: pd.Timestamp | str) -> pd.Timestamp:
    """A timestamp in UTC; a naive one is taken to be UTC."""
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def starts_array(values: np.ndarray, period: str, origin: pd.Timestamp | None = None) -> np.ndarray:
    """Period starts for naive-UTC ``datetime64[ns]`` values, NaT kept.

    Pure NumPy calendar arithmetic: pandas' ``to_period`` costs seconds per million
    rows and every funnel table needs it several times.
    """
    period = normalise_period(period)
    v = np.asarray(values, dtype="datetime64[ns]")
    nat = np.isnat(v)
    n = _days(period)
    if period == "day":
        out = v.astype("datetime64[D]")
    elif period == "month":
        out = v.astype("datetime64[M]")
    elif period == "year":
        out = v.astype("datetime64[Y]")
    elif period == "quarter":
        m = v.astype("datetime64[M]").astype(np.int64)
        out = (m - m % 3).astype("datetime64[M]")
    elif period == "week":
        # 1970-01-01 was a Thursday: (days + 3) % 7 is the number of days since Monday.
        d = v.astype("datetime64[D]").astype(np.int64)
        out = (d - (d + 3) % 7).astype("datetime64[D]")
    else:
        assert n is not None
        if origin is None:
            raise ValueError("an N-day period needs an origin (the start of the first window)")
        o = np.datetime64(utc(origin).tz_localize(None).to_datetime64(), "ns").astype(np.int64)
        step = n * 86_400_000_000_000
        x = v.astype(np.int64)
        out = (o + ((x - o) // step) * step).astype("datetime64[ns]")
    out = out.astype("datetime64[ns]")
    out[nat] = np.datetime64("NaT")
    return out


def period_start(values: pd.Series, period: str, origin: pd.Timestamp | None = None) -> pd.Series:
    """Start (tz-aware UTC) of the period each timestamp falls in.

    ``origin`` anchors N-day windows; calendar periods ignore it. Weeks start on Monday.
    """
    naive = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    starts = starts_array(naive, period, origin)
    return pd.Series(starts, index=values.index).dt.tz_localize("UTC")


def period_of(ts: pd.Timestamp, period: str, origin: pd.Timestamp | None = None) -> pd.Timestamp:
    out = period_start(pd.Series([utc(ts)]), period, origin)
    return pd.Timestamp(out.iloc[0])


def next_start(start: pd.Timestamp, period: str) -> pd.Timestamp:
    """Start of the period after the one beginning at ``start``."""
    period = normalise_period(period)
    n = _days(period)
    if n is not None:
        return start + pd.Timedelta(days=n)
    offsets = {
        "day": pd.DateOffset(days=1),
        "week": pd.DateOffset(weeks=1),
        "month": pd.DateOffset(months=1),
        "quarter": pd.DateOffset(months=3),
        "year": pd.DateOffset(years=1),
    }
    return pd.Timestamp(start + offsets[period])


def period_range(
    start: pd.Timestamp, end: pd.Timestamp, period: str, origin: pd.Timestamp | None = None
) -> list[pd.Timestamp]:
    """Starts of every period from the one containing ``start`` to the one containing ``end``."""
    if end < start:
        return []
    first = period_of(start, period, origin)
    last = period_of(end, period, origin)
    out = [first]
    while out[-1] < last:
        out.append(next_start(out[-1], period))
    return out


def label(start: pd.Timestamp, period: str) -> str:
    """Human label: 2024-03, 2024-Q1, 2024, 2024-03-04 (weeks and N-day windows)."""
    period = normalise_period(period)
    if period == "month":
        return start.strftime("%Y-%m")
    if period == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if period == "year":
        return str(start.year)
    return start.strftime("%Y-%m-%d")
