"""Lead velocity rate (SPEC M2) and cost per acquisition (SPEC M3)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from leadscore.analytics import periods as P
from leadscore.analytics.funnel import UNKNOWN, ensure, reach
from leadscore.analytics.inputs import CONTACTS, SPEND, AnalyticsInputError


def lead_velocity(
    stages: pd.DataFrame,
    contacts: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | str,
    stage: str = "mql",
    period: str = "month",
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Qualified leads per period and LVR = (this - previous) / previous x 100.

    A lead counts in the period it first reached ``stage`` (or a later stage, see
    :mod:`leadscore.analytics.funnel`). LVR is NaN when the previous period had no
    qualified leads: growth from zero is not a percentage. ``complete`` is False for a
    period that ends after ``as_of``, whose count is still growing.

    Returns columns ``period_start, period, period_end, complete, qualified,
    previous, change, lvr_pct``.
    """
    period = P.normalise_period(period)
    r = reach(stages, contacts, as_of=as_of, funnel=None)
    if stage not in r.stages:
        # A stage nobody reached yet still gives a (zero) series over the range asked.
        r = reach(stages, contacts, as_of=as_of, funnel=[*r.stages, stage])
    times = r.table[f"t_{stage}"].dropna().dt.tz_localize("UTC")
    lo = P.utc(start) if start is not None else (times.min() if len(times) else None)
    hi = P.utc(end) if end is not None else (times.max() if len(times) else None)
    cols = ["period_start", "period", "period_end", "complete", "qualified", "previous"]
    cols += ["change", "lvr_pct"]
    if lo is None or hi is None:
        return pd.DataFrame(columns=cols)
    hi = min(hi, r.as_of)
    starts = P.period_range(lo, hi, period, origin=lo)
    if not starts:
        return pd.DataFrame(columns=cols)
    counts = P.period_start(times, period, origin=starts[0]).value_counts()
    idx = pd.DatetimeIndex(starts, tz="UTC")
    qualified = counts.reindex(idx, fill_value=0).astype(int).to_numpy()
    # The period before the first shown one is counted too, so the first LVR is real.
    before = P.period_start(
        pd.Series([starts[0] - pd.Timedelta(microseconds=1)]), period, origin=starts[0]
    ).iloc[0]
    prev0 = int(((times >= before) & (times < starts[0])).sum())
    previous = np.concatenate([[prev0], qualified[:-1]])
    change = qualified - previous
    with np.errstate(divide="ignore", invalid="ignore"):
        lvr = np.where(previous > 0, change / np.where(previous > 0, previous, 1) * 100.0, np.nan)
    ends = [P.next_start(s, period) for s in starts]
    return pd.DataFrame(
        {
            "period_start": idx,
            "period": [P.label(s, period) for s in starts],
            "period_end": pd.DatetimeIndex(ends, tz="UTC"),
            "complete": [e <= r.as_of for e in ends],
            "qualified": qualified,
            "previous": previous.astype(int),
            "change": change.astype(int),
            "lvr_pct": lvr.astype(float),
        }
    )[cols]


def cost_per_acquisition(
    spend: pd.DataFrame,
    stages: pd.DataFrame,
    contacts: pd.DataFrame,
    *,
    as_of: pd.Timestamp | str,
    stage: str = "customer",
    period: str = "month",
    spend_key: str = "channel",
    contact_key: str = "source",
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Spend, new leads, acquisitions and their costs per channel and period.

    Spend rows are summed into the report period their ``period`` date falls in, so
    spend should be recorded at the report's grain or finer. Acquisitions are contacts
    that reached ``stage`` in the period, credited to the channel in the contact's
    ``contact_key`` field. CPA is NaN when a channel had spend but no acquisition
    (the cost of nothing is not a number to average), and 0 for free channels.
    A ``(total)`` row per period sums every channel.
    """
    period = P.normalise_period(period)
    spend = ensure(spend, SPEND, require=[spend_key], source="spend")
    contacts = ensure(contacts, CONTACTS, require=[contact_key], source="contacts")
    r = reach(stages, contacts, as_of=as_of, funnel=None, by=contact_key)
    if stage not in r.stages:
        r = reach(stages, contacts, as_of=as_of, funnel=[*r.stages, stage], by=contact_key)
    t = r.table
    as_of_ts = r.as_of
    sp = spend[spend["period"] <= as_of_ts]
    acq_times = t[f"t_{stage}"].dropna().dt.tz_localize("UTC")
    lead_times = (
        t["t_lead"].dropna().dt.tz_localize("UTC")
        if "t_lead" in t.columns
        else pd.Series([], dtype=object)
    )
    candidates = [x for x in (sp["period"], acq_times, lead_times) if len(x)]
    if not candidates:
        raise AnalyticsInputError("spend", "no spend, leads or acquisitions before as_of")
    lo = P.utc(start) if start is not None else min(x.min() for x in candidates)
    hi = P.utc(end) if end is not None else max(x.max() for x in candidates)
    starts = P.period_range(lo, min(hi, as_of_ts), period, origin=lo)
    origin = starts[0]

    def per_period(times: pd.Series, keys: pd.Series, name: str) -> pd.Series:
        frame = pd.DataFrame(
            {
                "channel": keys.loc[times.index].astype(str),
                "period_start": P.period_start(times, period, origin),
            }
        )
        return frame.groupby(["channel", "period_start"]).size().rename(name)

    acq = per_period(acq_times, t[contact_key], "acquisitions")
    leads = per_period(lead_times, t[contact_key], "leads") if len(lead_times) else None
    spend_by = (
        pd.DataFrame(
            {
                "channel": sp[spend_key]
                .astype(object)
                .where(sp[spend_key].notna(), UNKNOWN)
                .astype(str),
                "period_start": P.period_start(sp["period"], period, origin),
                "amount": sp["amount"],
            }
        )
        .groupby(["channel", "period_start"])["amount"]
        .sum()
        .rename("spend")
    )
    channels = sorted(
        set(spend_by.index.get_level_values(0))
        | set(acq.index.get_level_values(0))
        | (set(leads.index.get_level_values(0)) if leads is not None else set())
    )
    idx = pd.MultiIndex.from_product(
        [channels, pd.DatetimeIndex(starts, tz="UTC")], names=["channel", "period_start"]
    )
    out = pd.DataFrame(index=idx)
    out["spend"] = spend_by.reindex(idx, fill_value=0.0).astype(float)
    out["leads"] = leads.reindex(idx, fill_value=0) if leads is not None else 0
    out["acquisitions"] = acq.reindex(idx, fill_value=0)
    out = out.reset_index()
    total = out.groupby("period_start", as_index=False)[["spend", "leads", "acquisitions"]].sum()
    total["channel"] = "(total)"
    out = pd.concat([out, total], ignore_index=True)
    out["leads"] = out["leads"].astype(int)
    out["acquisitions"] = out["acquisitions"].astype(int)
    out["cost_per_lead"] = out["spend"] / out["leads"].where(out["leads"] > 0)
    out["cpa"] = out["spend"] / out["acquisitions"].where(out["acquisitions"] > 0)
    out.loc[(out["spend"] == 0) & (out["acquisitions"] > 0), "cpa"] = 0.0
    out.loc[(out["spend"] == 0) & (out["leads"] > 0), "cost_per_lead"] = 0.0
    out["period"] = [P.label(s, period) for s in out["period_start"]]
    out = out.sort_values(["period_start", "channel"], key=_total_last).reset_index(drop=True)
    cols = ["period_start", "period", "channel", "spend", "leads", "acquisitions"]
    return out[[*cols, "cost_per_lead", "cpa"]]


def _total_last(col: pd.Series) -> pd.Series:
    if col.name == "channel":
        return col.map(lambda c: (c == "(total)", c))
    return col


def cpa_summary(table: pd.DataFrame, by: Sequence[str] = ("channel",)) -> pd.DataFrame:
    """Whole-range totals of a :func:`cost_per_acquisition` table per channel."""
    g = table.groupby(list(by), sort=False)[["spend", "leads", "acquisitions"]].sum().reset_index()
    g["cost_per_lead"] = g["spend"] / g["leads"].where(g["leads"] > 0)
    g["cpa"] = g["spend"] / g["acquisitions"].where(g["acquisitions"] > 0)
    g.loc[(g["spend"] == 0) & (g["acquisitions"] > 0), "cpa"] = 0.0
    return g
