"""Goals and sales capacity (SPEC M6, R12).

* :func:`goal_plan` works the funnel backwards: revenue target / deal size gives the
  customers needed, each measured stage rate divides back to opportunities, SQLs,
  MQLs and leads, per month.
* :func:`threshold_for_capacity` finds the score threshold that hands sales no more
  MQLs per period than they agreed to follow up (the SLA).
* :func:`sla_follow_up` checks how many MQLs sales actually followed up in time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from leadscore.analytics import periods as P
from leadscore.analytics._duck import connect, is_lazy, numeric_ids, register_events
from leadscore.analytics.funnel import FunnelReport, ensure
from leadscore.analytics.inputs import EVENTS, SCORES, STAGES, AnalyticsInputError


def measured_rates(report: FunnelReport) -> dict[tuple[str, str], float]:
    """Consecutive stage-to-stage rates of a funnel report without breakdown."""
    if report.by:
        raise ValueError("use a funnel report without breakdown to plan goals")
    t = report.conversions
    out = {}
    for a, b in zip(report.funnel, report.funnel[1:], strict=False):
        row = t[(t["from_stage"] == a) & (t["to_stage"] == b)]
        out[(a, b)] = float(row["rate"].iloc[0]) if len(row) else float("nan")
    return out


def average_deal_size(
    stages: pd.DataFrame, *, as_of: pd.Timestamp | str, stage: str = "customer"
) -> float:
    """Mean ``value`` of won deals (first ``stage`` transition per contact with a value)."""
    stages = ensure(stages, STAGES)
    if "value" not in stages.columns:
        raise AnalyticsInputError("stages", "no 'value' column: give the average deal size")
    s = stages[(stages["stage"] == stage) & (stages["timestamp"] <= P.utc(as_of))]
    s = s[s["value"].notna()].sort_values("timestamp").drop_duplicates("contact_id")
    if s.empty:
        raise AnalyticsInputError("stages", f"no '{stage}' row with a value before as_of")
    return float(s["value"].mean())


def goal_plan(
    revenue_target: float,
    *,
    avg_deal_size: float,
    rates: Mapping[tuple[str, str], float],
    months: float = 1.0,
    funnel: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Leads, MQLs... needed to reach ``revenue_target`` over ``months`` months.

    Args:
        revenue_target: revenue to win over the whole horizon.
        avg_deal_size: average value of a won deal.
        rates: stage-to-stage conversion rates for consecutive stages, e.g.
            ``{("lead", "mql"): 0.2, ("mql", "customer"): 0.1}``.
        months: horizon, to give monthly figures.
        funnel: stages in order; default: the chain given by ``rates``.

    Returns:
        ``stage, rate_to_next, needed, needed_per_month``; ``needed`` is rounded up
        (half a lead is a whole lead to find) and ``needed_exact`` keeps the raw value.
    """
    if revenue_target <= 0 or avg_deal_size <= 0 or months <= 0:
        raise ValueError("revenue target, deal size and months must be positive")
    chain = list(funnel) if funnel is not None else _chain(rates)
    if len(chain) < 1:
        raise ValueError("no stages to plan")
    exact = {chain[-1]: revenue_target / avg_deal_size}
    for a, b in reversed(list(itertools.pairwise(chain))):
        rate = rates.get((a, b), float("nan"))
        if not rate or not np.isfinite(rate) or rate <= 0:
            raise ValueError(f"cannot plan through {a} -> {b}: conversion rate is {rate}")
        exact[a] = exact[b] / rate
    rows = []
    for i, st in enumerate(chain):
        nxt = chain[i + 1] if i + 1 < len(chain) else None
        rows.append(
            {
                "stage": st,
                "rate_to_next": rates.get((st, nxt), float("nan")) if nxt else float("nan"),
                "needed_exact": exact[st],
                "needed": math.ceil(exact[st] - 1e-9),
                "needed_per_month": math.ceil(exact[st] / months - 1e-9),
            }
        )
    return pd.DataFrame(rows)


def _chain(rates: Mapping[tuple[str, str], float]) -> list[str]:
    nxt = dict(rates.keys())
    starts = set(nxt) - set(nxt.values())
    if len(starts) != 1:
        raise ValueError("rates must form one chain of stages, e.g. lead->mql->customer")
    chain = [starts.pop()]
    while chain[-1] in nxt:
        chain.append(nxt[chain[-1]])
    return chain


def threshold_for_capacity(
    scores: pd.DataFrame,
    *,
    capacity_per_period: int,
    period: str = "month",
    n_periods: int | None = None,
) -> dict[str, object]:
    """The lowest score threshold that sends sales at most their agreed capacity.

    Over the history in ``scores`` (``contact_id, score``, optionally ``scored_at``),
    sales can take ``capacity_per_period x n_periods`` leads. Ties are never split:
    every lead at the threshold passes, so the threshold is the lowest score whose
    count of leads at or above stays within capacity. ``n_periods`` defaults to the
    number of periods spanned by ``scored_at`` (1 without it).
    """
    if capacity_per_period <= 0:
        raise ValueError("capacity must be positive")
    scores = ensure(scores, SCORES, source="scores")
    s = scores.sort_values("score", ascending=False)
    if n_periods is None:
        if "scored_at" in s.columns and s["scored_at"].notna().any():
            ts = s["scored_at"].dropna()
            n_periods = len(P.period_range(ts.min(), ts.max(), period, origin=ts.min()))
        else:
            n_periods = 1
    budget = capacity_per_period * n_periods
    values = s["score"].to_numpy(dtype=float)
    distinct = np.unique(values)[::-1]  # high to low
    # Number of leads scoring at least v, for each distinct v (high to low).
    at_or_above = len(values) - np.searchsorted(np.sort(values), distinct, side="left")
    ok = at_or_above <= budget
    if not ok.any():
        threshold = float(np.nextafter(distinct[0], np.inf)) if len(distinct) else float("nan")
        passed = 0
    else:
        last = int(np.flatnonzero(ok)[-1])
        threshold = float(distinct[last])
        passed = int(at_or_above[last])
    return {
        "threshold": threshold,
        "leads_passing": passed,
        "periods": n_periods,
        "per_period": passed / n_periods,
        "capacity_per_period": capacity_per_period,
        "leads_scored": len(values),
    }


def sla_follow_up(
    stages: pd.DataFrame,
    *,
    as_of: pd.Timestamp | str,
    sla_hours: float = 24.0,
    events: pd.DataFrame | None = None,
    follow_up_types: Sequence[str] = ("call", "meeting", "sales_email"),
    qualified_stage: str = "mql",
    period: str = "month",
) -> pd.DataFrame:
    """How many MQLs sales followed up within ``sla_hours``, per period of the MQL.

    A follow-up is the first later stage transition (sql, opportunity, customer or
    lost) or, when ``events`` are given, the first event of a ``follow_up_types``
    type, at or after the MQL time. Each MQL is ``in_time``, ``late``, ``missed``
    (deadline passed, no follow-up) or ``pending`` (deadline after ``as_of``);
    ``in_time_rate`` is in_time / (mqls - pending).
    """
    as_of_ts = P.utc(as_of)
    stages = ensure(stages, STAGES)
    s = stages[stages["timestamp"] <= as_of_ts]
    mql = s[s["stage"] == qualified_stage].groupby("contact_id")["timestamp"].min().rename("mql_at")
    cols = ["period_start", "period", "mqls", "in_time", "late", "missed", "pending"]
    if mql.empty:
        return pd.DataFrame(columns=[*cols, "in_time_rate"])
    later = s[s["stage"].isin(["sql", "opportunity", "customer", "lost"])]
    cand = later[["contact_id", "timestamp"]]
    if events is not None and follow_up_types:
        if not is_lazy(events):
            events = ensure(events, EVENTS, source="events")
        con = connect()
        try:
            # Only the few sales-touch events leave DuckDB, not the whole event table.
            register_events(con, events, ["contact_id", "type", "timestamp"])
            e = con.execute(
                "SELECT contact_id, CAST(timestamp AS TIMESTAMP) AS timestamp FROM ev "
                "WHERE CAST(type AS VARCHAR) IN "
                "(SELECT unnest(?)) AND timestamp <= CAST(? AS TIMESTAMP)",
                [list(follow_up_types), as_of_ts.tz_localize(None).to_pydatetime()],
            ).df()
        finally:
            con.close()
        e["timestamp"] = pd.to_datetime(e["timestamp"]).dt.tz_localize("UTC")
        if len(e) and numeric_ids(e) != numeric_ids(s):
            # Ids as text in one file and numbers in the other: meet on the stages' kind.
            e["contact_id"] = (
                pd.to_numeric(e["contact_id"], errors="coerce")
                if numeric_ids(s)
                else e["contact_id"].astype(str)
            )
        cand = pd.concat([cand, e], ignore_index=True)
    m = cand.merge(mql.reset_index(), on="contact_id")
    m = m[m["timestamp"] >= m["mql_at"]]
    fu = m.groupby("contact_id")["timestamp"].min().rename("follow_up_at")
    t = mql.to_frame().join(fu)
    deadline = t["mql_at"] + pd.Timedelta(hours=sla_hours)
    status = np.select(
        [
            t["follow_up_at"].notna() & (t["follow_up_at"] <= deadline),
            t["follow_up_at"].notna(),
            deadline > as_of_ts,
        ],
        ["in_time", "late", "pending"],
        default="missed",
    )
    t["status"] = status
    origin = t["mql_at"].min()
    t["period_start"] = P.period_start(t["mql_at"], period, origin)
    starts = P.period_range(origin, t["mql_at"].max(), period, origin=origin)
    counts = pd.crosstab(t["period_start"], t["status"]).reindex(
        pd.DatetimeIndex(starts, tz="UTC"), fill_value=0
    )
    for c in ("in_time", "late", "missed", "pending"):
        if c not in counts.columns:
            counts[c] = 0
    out = counts[["in_time", "late", "missed", "pending"]].astype(int)
    out.columns.name = None
    out.insert(0, "mqls", out.sum(axis=1))
    out.index.name = "period_start"
    out = out.reset_index()
    out.insert(1, "period", [P.label(p, period) for p in out["period_start"]])
    decided = out["mqls"] - out["pending"]
    out["in_time_rate"] = out["in_time"] / decided.where(decided > 0)
    return out
