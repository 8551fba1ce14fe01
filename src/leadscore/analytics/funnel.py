"""The lead funnel: who reached which stage, how many converted, how fast.

Semantics (also in docs/analytics.md):

* A contact *reaches* a stage at its first transition into it at or before
  ``as_of``. The ``lead`` stage is also entered at the contact's ``created_at``.
* A contact that reached a later stage without a recorded earlier one (MQL straight
  to customer) counts as having passed the earlier stage, at the time of the later
  one: funnels only narrow, and CRMs often skip recording stages.
* Times between stages use recorded transitions only, never the implied ones, so a
  skipped stage does not pull the median towards zero.
* By-period tables put a contact in the period it entered the *from* stage (a
  cohort): "of the MQLs of March, how many became customers". Recent cohorts are
  still maturing; ``within_days`` caps the conversion window to make them comparable.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leadscore.analytics import periods as P
from leadscore.analytics.inputs import (
    CONTACTS,
    FUNNEL_STAGES,
    STAGES,
    AnalyticsInputError,
    Schema,
    naive_utc,
    validate,
)

UNKNOWN = "(unknown)"
_DAY = pd.Timedelta(days=1)


def ensure(
    frame: pd.DataFrame, schema: Schema, *, require: Sequence[str] = (), source: str | None = None
) -> pd.DataFrame:
    """Validate a frame unless it is already in normal form (cheap check first).

    Frames from :func:`leadscore.analytics.inputs.read_table` are already normal;
    re-validating 50 million events would only copy them again.
    """
    missing = [c for c in (*schema.required, *require) if c not in frame.columns]
    normal = not missing and all(
        isinstance(frame[c].dtype, pd.DatetimeTZDtype)
        for c in schema.timestamps + schema.optional_timestamps
        if c in frame.columns
    )
    if normal and "stage" in schema.required:
        normal = frame["stage"].dtype == object
    if normal:
        return frame
    return validate(frame, schema, source, require=require)


def _by_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


@dataclass(frozen=True)
class Reach:
    """One row per contact: when it reached each funnel stage (wide form)."""

    # Columns at_<stage> (recorded), t_<stage> (reached), lost_at, then the breakdown
    # fields. Times are naive datetime64[ns] in UTC: fast to compare and aggregate.
    table: pd.DataFrame
    stages: list[str]
    by: list[str]
    as_of: pd.Timestamp


def reach(
    stages: pd.DataFrame,
    contacts: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | str,
    funnel: Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
) -> Reach:
    """When each contact reached each stage, as known at ``as_of``."""
    as_of_ts = P.utc(as_of)
    by_cols = _by_list(by)
    stages = ensure(stages, STAGES)
    s = stages[stages["timestamp"] <= as_of_ts]
    # Work on plain datetime64[ns] arrays: pandas' row-wise min over tz-aware columns
    # goes through Python objects and takes seconds per million contacts.
    s_ts = naive_utc(s["timestamp"]).to_numpy(dtype="datetime64[ns]")
    stage_arr = s["stage"].to_numpy()
    id_arr = s["contact_id"].to_numpy()
    first: dict[str, pd.Series] = {}
    # Positional masks, not index labels: a concatenated frame may repeat its index.
    for st in pd.unique(stage_arr):
        mask = stage_arr == st
        first[str(st)] = pd.Series(s_ts[mask]).groupby(id_arr[mask]).min()
    created: pd.Series | None = None
    if contacts is not None:
        contacts = ensure(contacts, CONTACTS, require=by_cols, source="contacts")
        c = contacts[contacts["created_at"] <= as_of_ts]
        c_ts = naive_utc(c["created_at"]).to_numpy(dtype="datetime64[ns]")
        created = pd.Series(c_ts).groupby(c["contact_id"].to_numpy()).min()
    elif by_cols:
        raise AnalyticsInputError("contacts", f"a breakdown by {by_cols} needs the contacts table")
    ids = pd.Index(s["contact_id"].unique())
    if created is not None:
        ids = ids.union(created.index)

    def column(stage: str) -> np.ndarray:
        values = first.get(stage)
        arr = (
            values.reindex(ids).to_numpy(dtype="datetime64[ns]")
            if values is not None
            else np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[ns]")
        )
        if stage == "lead" and created is not None:
            arr = np.fmin(arr, created.reindex(ids).to_numpy(dtype="datetime64[ns]"))
        return arr

    if funnel is None:
        have = set(first) | ({"lead"} if created is not None and len(created) else set())
        funnel = [st for st in FUNNEL_STAGES if st in have]
    else:
        unknown = [st for st in funnel if st not in FUNNEL_STAGES]
        if unknown:
            raise ValueError(f"unknown funnel stage(s) {unknown}; use {list(FUNNEL_STAGES)}")
        order = {st: i for i, st in enumerate(FUNNEL_STAGES)}
        funnel = sorted(dict.fromkeys(funnel), key=order.__getitem__)
    cols: dict[str, np.ndarray] = {}
    later = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[ns]")
    # Walk backwards so each stage inherits the earliest time of any later stage.
    for st in reversed(list(funnel)):
        actual = column(st)
        cols[f"at_{st}"] = actual
        cols[f"t_{st}"] = np.where(np.isnat(actual), later, actual)
        later = np.fmin(later, actual)
    cols["lost_at"] = column("lost")
    out = pd.DataFrame(cols, index=ids)
    out = out[[f"{k}_{st}" for st in funnel for k in ("at", "t")] + ["lost_at"]]
    if by_cols:
        assert contacts is not None
        attrs = contacts.drop_duplicates("contact_id").set_index("contact_id")[by_cols]
        for col in by_cols:
            values = attrs[col].reindex(out.index)
            out[col] = values.astype(object).where(values.notna(), UNKNOWN).astype(str)
    # Contacts that reached no funnel stage (only "lost") carry no funnel information.
    reached_any = out[[f"t_{st}" for st in funnel]].notna().any(axis=1) if funnel else None
    if reached_any is not None:
        out = out[reached_any]
    out.index.name = "contact_id"
    return Reach(out, list(funnel), by_cols, as_of_ts)


def _pairs(stages: list[str], qualified: str = "mql") -> list[tuple[str, str]]:
    pairs = list(itertools.pairwise(stages))
    if qualified in stages:
        i = stages.index(qualified)
        pairs += [(qualified, st) for st in stages[i + 2 :]]
    return pairs


def _median_days(delta: pd.Series) -> float:
    d = delta.dropna()
    return float((d / _DAY).median()) if len(d) else float("nan")


def _rate(num: pd.Series | float, den: pd.Series | float) -> pd.Series | float:
    """num / den, NaN when den is 0: a rate over nobody is undefined, not 0 %."""
    if isinstance(den, pd.Series):
        return (num / den.where(den > 0)).astype(float)
    return float(num) / den if den else float("nan")


@dataclass(frozen=True)
class FunnelReport:
    """Funnel figures; every table has the breakdown columns first when ``by`` is set."""

    stages: pd.DataFrame
    conversions: pd.DataFrame
    by_period: pd.DataFrame
    entries: pd.DataFrame
    cohorts: pd.DataFrame
    funnel: list[str]
    by: list[str]
    period: str
    as_of: pd.Timestamp


def _groups(frame: pd.DataFrame, by: list[str]) -> list[tuple[tuple[object, ...], pd.DataFrame]]:
    if not by:
        return [((), frame)]
    return [((k if isinstance(k, tuple) else (k,)), g) for k, g in frame.groupby(by, sort=True)]


def _stage_table(r: Reach) -> pd.DataFrame:
    rows = []
    t = r.table
    cols = [*r.by, "stage", "reached", "rate_from_previous", "rate_from_first"]
    cols += ["median_days_from_previous", "lost_here"]
    if not r.stages:
        return pd.DataFrame(columns=cols)
    for key, g in _groups(t, r.by):
        hit = np.column_stack([g[f"t_{st}"].notna().to_numpy() for st in r.stages])
        reached = hit.sum(axis=0).astype(int).tolist()
        # Index of the furthest stage each contact reached (-1: none).
        last = hit.shape[1] - 1 - np.argmax(hit[:, ::-1], axis=1)
        furthest = np.where(hit.any(axis=1), last, -1)
        lost = g["lost_at"].notna().to_numpy() & (furthest >= 0)
        lost_here = np.bincount(furthest[lost], minlength=len(r.stages))
        for i, st in enumerate(r.stages):
            prev = r.stages[i - 1] if i else None
            rows.append(
                {
                    **dict(zip(r.by, key, strict=True)),
                    "stage": st,
                    "reached": reached[i],
                    "rate_from_previous": _rate(reached[i], reached[i - 1]) if i else 1.0,
                    "rate_from_first": _rate(reached[i], reached[0]),
                    "median_days_from_previous": (
                        _median_days(g[f"at_{st}"] - g[f"at_{prev}"]) if prev else float("nan")
                    ),
                    "lost_here": int(lost_here[i]),
                }
            )
    return pd.DataFrame(rows, columns=cols)


def _converted(g: pd.DataFrame, a: str, b: str, within_days: float | None) -> pd.Series:
    conv = g[f"t_{a}"].notna() & g[f"t_{b}"].notna()
    if within_days is not None:
        conv &= (g[f"t_{b}"] - g[f"t_{a}"]) <= pd.Timedelta(days=within_days)
    return conv


def _conversion_table(r: Reach, within_days: float | None, qualified: str) -> pd.DataFrame:
    rows = []
    for key, g in _groups(r.table, r.by):
        for a, b in _pairs(r.stages, qualified):
            entered = int(g[f"t_{a}"].notna().sum())
            conv = int(_converted(g, a, b, within_days).sum())
            rows.append(
                {
                    **dict(zip(r.by, key, strict=True)),
                    "from_stage": a,
                    "to_stage": b,
                    "entered": entered,
                    "converted": conv,
                    "rate": _rate(conv, entered),
                    "median_days": _median_days(g[f"at_{b}"] - g[f"at_{a}"]),
                }
            )
    cols = [*r.by, "from_stage", "to_stage", "entered", "converted", "rate", "median_days"]
    return pd.DataFrame(rows, columns=cols)


def _range(
    r: Reach, period: str, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> list[pd.Timestamp]:
    times = pd.concat([r.table[f"t_{st}"] for st in r.stages]) if r.stages else pd.Series([])
    times = times.dropna()
    lo = P.utc(start) if start is not None else (P.utc(times.min()) if len(times) else None)
    hi = P.utc(end) if end is not None else (P.utc(times.max()) if len(times) else None)
    if lo is None or hi is None:
        return []
    hi = min(hi, r.as_of)
    return P.period_range(lo, hi, period, origin=lo)


def _period_frame(
    r: Reach, periods: list[pd.Timestamp], period: str, origin: pd.Timestamp | None
) -> pd.DataFrame:
    """Cartesian product of breakdown groups and periods, so empty periods stay."""
    # Naive UTC like the reach table, so merges on period_start match.
    base = pd.DataFrame({"period_start": pd.DatetimeIndex(periods).tz_localize(None)})
    if r.by:
        groups = r.table[r.by].drop_duplicates().sort_values(r.by)
        base = groups.merge(base, how="cross")
    base["period"] = [P.label(p, period) for p in base["period_start"]]
    return base


def _by_period_table(
    r: Reach,
    periods: list[pd.Timestamp],
    period: str,
    within_days: float | None,
    qualified: str,
) -> pd.DataFrame:
    origin = periods[0] if periods else None
    frames = []
    keys = [*r.by, "period_start"]
    for a, b in _pairs(r.stages, qualified):
        g = r.table[r.table[f"t_{a}"].notna()].copy()
        base = _period_frame(r, periods, period, origin)
        if not periods:
            continue
        g["period_start"] = P.starts_array(g[f"t_{a}"].to_numpy(), period, origin)
        g["_conv"] = _converted(g, a, b, within_days)
        g["_days"] = (g[f"at_{b}"] - g[f"at_{a}"]) / _DAY
        agg = g.groupby(keys, observed=True).agg(
            entered=("_conv", "size"), converted=("_conv", "sum"), median_days=("_days", "median")
        )
        t = base.merge(agg.reset_index(), on=keys, how="left")
        t["entered"] = t["entered"].fillna(0).astype(int)
        t["converted"] = t["converted"].fillna(0).astype(int)
        t["rate"] = _rate(t["converted"], t["entered"])
        t.insert(len(r.by) + 2, "from_stage", a)
        t.insert(len(r.by) + 3, "to_stage", b)
        frames.append(t)
    cols = [*r.by, "period_start", "period", "from_stage", "to_stage", "entered", "converted"]
    cols += ["rate", "median_days"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def _entries_table(r: Reach, periods: list[pd.Timestamp], period: str) -> pd.DataFrame:
    origin = periods[0] if periods else None
    base = _period_frame(r, periods, period, origin)
    keys = [*r.by, "period_start"]
    for st in r.stages:
        g = r.table[r.table[f"t_{st}"].notna()]
        if not periods:
            base[st] = 0
            continue
        ps = P.starts_array(g[f"t_{st}"].to_numpy(), period, origin)
        counts = (
            pd.DataFrame({**{c: g[c].to_numpy() for c in r.by}, "period_start": ps})
            .groupby(keys, observed=True)
            .size()
            .rename(st)
        )
        base = base.merge(counts.reset_index(), on=keys, how="left")
        base[st] = base[st].fillna(0).astype(int)
    return base


def _cohort_table(r: Reach, periods: list[pd.Timestamp], period: str) -> pd.DataFrame:
    """Cohorts by creation period: leads, then count and rate for each later stage."""
    if "lead" not in r.stages or not periods:
        return pd.DataFrame()
    origin = periods[0]
    base = _period_frame(r, periods, period, origin)
    g = r.table[r.table["t_lead"].notna()].copy()
    g["period_start"] = P.starts_array(g["t_lead"].to_numpy(), period, origin)
    keys = [*r.by, "period_start"]
    leads = g.groupby(keys, observed=True).size().rename("leads")
    base = base.merge(leads.reset_index(), on=keys, how="left")
    base["leads"] = base["leads"].fillna(0).astype(int)
    for st in r.stages[1:]:
        counts = g[g[f"t_{st}"].notna()].groupby(keys, observed=True).size().rename(st)
        base = base.merge(counts.reset_index(), on=keys, how="left")
        base[st] = base[st].fillna(0).astype(int)
        base[f"{st}_rate"] = _rate(base[st], base["leads"])
    return base


def _aware(frame: pd.DataFrame) -> pd.DataFrame:
    if "period_start" in frame.columns and not isinstance(
        frame["period_start"].dtype, pd.DatetimeTZDtype
    ):
        frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.tz_localize("UTC")
    return frame


def funnel_report(
    stages: pd.DataFrame,
    contacts: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | str,
    period: str = "month",
    by: str | Sequence[str] | None = None,
    funnel: Sequence[str] | None = None,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    within_days: float | None = None,
    qualified_stage: str = "mql",
) -> FunnelReport:
    """Counts, stage-to-stage conversion, median days between stages, by period.

    Args:
        stages: transitions ``contact_id, stage, timestamp``.
        contacts: ``contact_id, created_at`` plus breakdown fields; gives the ``lead``
            stage and the fields for ``by``.
        as_of: only what was known at this instant counts.
        period: reporting period (``month``, ``quarter``, ``week``, ``year``, ``14d``).
        by: contact field(s) to break every table down by (source, campaign, grade...).
        funnel: stages to show, in funnel order; default: the stages present.
        start, end: period range; default: first to last transition (capped at as_of).
        within_days: count a conversion only when it happened this many days after
            entering the from stage (comparable cohorts).
        qualified_stage: the stage from which "MQL -> X" conversions are also given.
    """
    period = P.normalise_period(period)
    r = reach(stages, contacts, as_of=as_of, funnel=funnel, by=by)
    periods = _range(
        r,
        period,
        P.utc(start) if start is not None else None,
        P.utc(end) if end is not None else None,
    )
    by_period = _by_period_table(r, periods, period, within_days, qualified_stage)
    cohorts = _cohort_table(r, periods, period)
    return FunnelReport(
        stages=_stage_table(r),
        conversions=_conversion_table(r, within_days, qualified_stage),
        by_period=_aware(by_period),
        entries=_aware(_entries_table(r, periods, period)),
        cohorts=_aware(cohorts),
        funnel=r.stages,
        by=r.by,
        period=period,
        as_of=r.as_of,
    )


def fresh_vs_nurtured(
    stages: pd.DataFrame,
    contacts: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | str,
    fresh_days: float = 30,
    qualified_stage: str = "mql",
    converted_stage: str = "customer",
) -> pd.DataFrame:
    """Share of qualified leads and of conversions from fresh versus nurtured leads.

    A lead is *fresh* when it was created less than ``fresh_days`` before it reached
    ``qualified_stage`` and *nurtured* otherwise (SPEC M4). Contacts with no known
    creation time are counted as ``unknown`` rather than guessed.
    """
    r = reach(stages, contacts, as_of=as_of, funnel=["lead", qualified_stage, converted_stage])
    t = r.table
    q = t[t[f"t_{qualified_stage}"].notna()]
    age = (q[f"t_{qualified_stage}"] - q["at_lead"]) / _DAY
    cls = np.where(q["at_lead"].isna(), "unknown", np.where(age < fresh_days, "fresh", "nurtured"))
    conv = q[f"t_{converted_stage}"].notna().to_numpy()
    frame = pd.DataFrame({"segment": cls, "converted": conv})
    agg = frame.groupby("segment").agg(
        qualified=("converted", "size"), converted=("converted", "sum")
    )
    agg = agg.reindex(["fresh", "nurtured", "unknown"], fill_value=0)
    if agg.loc["unknown", "qualified"] == 0:
        agg = agg.drop(index="unknown")
    agg["share_of_qualified"] = _rate(
        agg["qualified"], pd.Series(agg["qualified"].sum(), agg.index)
    )
    agg["share_of_conversions"] = _rate(
        agg["converted"], pd.Series(agg["converted"].sum(), agg.index)
    )
    agg["conversion_rate"] = _rate(agg["converted"], agg["qualified"])
    agg["median_age_days"] = [
        float(age[cls == seg].median()) if (cls == seg).any() and seg != "unknown" else np.nan
        for seg in agg.index
    ]
    out = agg.reset_index().rename(columns={"index": "segment"})
    out["qualified"] = out["qualified"].astype(int)
    out["converted"] = out["converted"].astype(int)
    return out
