"""Factual tags (SPEC T1) and RFM segments (SPEC T2).

Tags state facts about what a contact did, where, when and who they are:
``what:form_submit``, ``where:/pricing``, ``when:weekend``, ``who:title=CTO``. Each
event gives its tags the weight ``time decay x place weight x action weight``, with
the decay ``0.5 ** (age_days / half_life_days)``; a tag's weight is the sum over its
events. Place weights use the same glob patterns as the scoring model's ``places``
(first matching pattern wins).

RFM scores recency, frequency and monetary value from 1 to ``quantiles`` (5 by
default: quintiles). Equal values always get equal scores, so ties never split
arbitrarily: a score is 1 + the number of cut points the value is above (recency is
reversed: recent is good). The cut points are the quantiles of the contacts that
have a value, or explicit thresholds. A dimension is "high" when its score is at
least ``high_score``; high/low on R, F and M give the 8 classic segments.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np
import pandas as pd

from leadscore.analytics import periods as P
from leadscore.analytics._duck import connect, distinct_text, is_lazy, register_events
from leadscore.analytics.funnel import ensure
from leadscore.analytics.inputs import CONTACTS, EVENTS, AnalyticsInputError


@dataclass(frozen=True)
class Segment:
    name: str
    meaning: str
    action: str


#: (recency high, frequency high, monetary high) -> segment.
SEGMENTS: dict[tuple[bool, bool, bool], Segment] = {
    (True, True, True): Segment(
        "Champions", "recent, frequent and valuable", "reward them; ask for referrals"
    ),
    (True, True, False): Segment(
        "Loyal", "recent and frequent, low value so far", "upsell and cross-sell"
    ),
    (True, False, True): Segment(
        "Big spenders", "recent and valuable but infrequent", "deepen the relationship"
    ),
    (True, False, False): Segment(
        "Promising", "recent, infrequent, low value: new or warming up", "nurture them"
    ),
    (False, True, True): Segment(
        "At risk", "frequent and valuable but not seen lately", "win them back now"
    ),
    (False, True, False): Segment(
        "Need attention", "used to be active, low value, gone quiet", "re-engage with offers"
    ),
    (False, False, True): Segment(
        "Can't lose them", "valuable but rare and not recent", "personal outreach from sales"
    ),
    (False, False, False): Segment(
        "Hibernating", "old, rare and low value", "low-cost nurture or let go"
    ),
}
SEGMENT_ORDER: list[str] = [s.name for s in SEGMENTS.values()]


def _place_weight_map(values: Sequence[str], weights: Mapping[str, float], default: float) -> dict:
    out = {}
    for v in values:
        w = default
        for pattern, weight in weights.items():
            if fnmatchcase(v, pattern):
                w = float(weight)
                break
        out[v] = w
    return out


def factual_tags(
    events: pd.DataFrame,
    contacts: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | str,
    half_life_days: float = 30.0,
    action_weights: Mapping[str, float] | None = None,
    action_default: float = 1.0,
    place_field: str | None = "url",
    place_weights: Mapping[str, float] | None = None,
    place_default: float = 1.0,
    who_fields: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per (contact, tag): ``contact_id, dimension, tag, weight, events, last_seen``.

    ``when`` tags are ``weekend``, ``business_hours`` (Mon-Fri 09:00-17:59) or
    ``off_hours``, in UTC, because a contact's own time zone is rarely known.
    ``who`` tags come from the contact fields in ``who_fields`` and weigh 1: facts
    about a person do not decay.
    """
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    as_of_ts = P.utc(as_of)
    need = [place_field] if place_field else []
    if is_lazy(events):
        missing = [c for c in need if c not in events.schema.names]
        if missing:
            raise AnalyticsInputError("events", f"missing column(s) {missing} for tags")
    else:
        events = ensure(events, EVENTS, require=need, source="events")
    con = connect()
    try:
        register_events(con, events, ["contact_id", "type", "timestamp", *need])
        types = distinct_text(con, "ev", "type")
        aw = pd.DataFrame(
            {
                "type": types,
                "aw": [float((action_weights or {}).get(t, action_default)) for t in types],
            }
        )
        con.register("aw", aw)
        place_sql = "1.0"
        q = ""
        place_join = ""
        where_sql = ""
        if place_field:
            places = distinct_text(con, "ev", place_field)
            # Patterns are matched once per distinct place, not once per event.
            pm = _place_weight_map(places, place_weights or {}, place_default)
            con.register("pw", pd.DataFrame({"place": list(pm.keys()), "pw": list(pm.values())}))
            q = '"' + place_field.replace('"', '""') + '"'
            place_join = f"LEFT JOIN pw ON CAST(e.{q} AS VARCHAR) = pw.place"
            place_sql = f"coalesce(pw.pw, {float(place_default)!r})"
            where_sql = """
            UNION ALL
            SELECT contact_id, 'where' AS dimension, 'where:' || place AS tag, w, timestamp
            FROM w WHERE place IS NOT NULL"""
        as_of_naive = as_of_ts.tz_localize(None).to_pydatetime()
        sql = f"""
        WITH w AS (
            SELECT e.contact_id, CAST(e.type AS VARCHAR) AS type, e.timestamp,
                   {"CAST(e." + q + " AS VARCHAR)" if place_field else "NULL"} AS place,
                   pow(0.5, (epoch(CAST(? AS TIMESTAMP)) - epoch(e.timestamp))
                            / 86400.0 / ?) * aw.aw * {place_sql} AS w
            FROM ev e JOIN aw ON CAST(e.type AS VARCHAR) = aw.type {place_join}
            WHERE e.timestamp <= CAST(? AS TIMESTAMP)
        ), tagged AS (
            SELECT contact_id, 'what' AS dimension, 'what:' || type AS tag, w, timestamp FROM w
            {where_sql}
            UNION ALL
            SELECT contact_id, 'when' AS dimension,
                   'when:' || CASE WHEN isodow(timestamp) >= 6 THEN 'weekend'
                                   WHEN hour(timestamp) BETWEEN 9 AND 17 THEN 'business_hours'
                                   ELSE 'off_hours' END AS tag, w, timestamp
            FROM w
        )
        SELECT contact_id, dimension, tag, sum(w) AS weight, count(*) AS events,
               CAST(max(timestamp) AS TIMESTAMP) AS last_seen
        FROM tagged GROUP BY contact_id, dimension, tag
        ORDER BY contact_id, dimension, weight DESC, tag
        """
        out = con.execute(sql, [as_of_naive, float(half_life_days), as_of_naive]).df()
    finally:
        con.close()
    out["last_seen"] = pd.to_datetime(out["last_seen"]).dt.tz_localize("UTC")
    if who_fields and contacts is not None:
        contacts = ensure(contacts, CONTACTS, require=list(who_fields), source="contacts")
        who = []
        for f in who_fields:
            vals = contacts[["contact_id", f]].dropna()
            who.append(
                pd.DataFrame(
                    {
                        "contact_id": vals["contact_id"].to_numpy(),
                        "dimension": "who",
                        "tag": [f"who:{f}={v}" for v in vals[f]],
                        "weight": 1.0,
                        "events": 0,
                        "last_seen": pd.NaT,
                    }
                )
            )
        out = pd.concat([out, *who], ignore_index=True)
    out["events"] = out["events"].astype(int)
    return out.reset_index(drop=True)


def _scores(values: pd.Series, edges: Sequence[float], higher_is_better: bool) -> pd.Series:
    """1 + number of edges strictly below the value (reversed when lower is better)."""
    arr = values.to_numpy(dtype=float)
    e = np.asarray(sorted(edges), dtype=float)
    above = (arr[:, None] > e[None, :]).sum(axis=1) if len(e) else np.zeros(len(arr), int)
    n = len(e) + 1
    score = 1 + above if higher_is_better else n - above
    score = np.where(np.isnan(arr), 1, score)
    return pd.Series(score.astype(int), index=values.index)


def _edges(values: pd.Series, quantiles: int) -> list[float]:
    v = values.dropna()
    if v.empty:
        return []
    qs = [i / quantiles for i in range(1, quantiles)]
    return [float(x) for x in v.quantile(qs, interpolation="linear")]


def rfm(
    events: pd.DataFrame,
    *,
    as_of: pd.Timestamp | str,
    monetary: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    window_days: float | None = None,
    quantiles: int = 5,
    recency_edges: Sequence[float] | None = None,
    frequency_edges: Sequence[float] | None = None,
    monetary_edges: Sequence[float] | None = None,
    high_score: int | None = None,
) -> pd.DataFrame:
    """RFM values, scores and segment per contact.

    Args:
        events: activity; recency is days since the last event, frequency the number
            of events in the window.
        as_of: the reference instant (events after it are ignored).
        monetary: ``contact_id, value`` (optionally ``timestamp``): won deal values
            or order amounts; summed per contact. Without it every M score is 1.
        contacts: when given, contacts with no activity are scored too (R = 1, F = 0).
        window_days: count frequency and monetary over this many days before as_of.
        quantiles: number of score levels when edges are not given (5 = quintiles).
        recency_edges, frequency_edges, monetary_edges: explicit cut points instead of
            quantiles, e.g. recency ``[7, 30, 90, 180]`` days.
        high_score: a score at least this is "high" for segments; default
            ``levels // 2 + 1`` (3 of 5).

    Returns:
        ``contact_id, recency_days, frequency, monetary, r, f, m, rfm, segment``.
    """
    if quantiles < 2:
        raise ValueError("quantiles must be at least 2")
    as_of_ts = P.utc(as_of)
    if not is_lazy(events):
        events = ensure(events, EVENTS, source="events")
    as_of_naive = as_of_ts.tz_localize(None).to_pydatetime()
    lo = (
        (as_of_ts - pd.Timedelta(days=window_days)).tz_localize(None).to_pydatetime()
        if window_days is not None
        else None
    )
    con = connect()
    try:
        register_events(con, events, ["contact_id", "timestamp"])
        window = "" if lo is None else "FILTER (WHERE timestamp >= CAST(? AS TIMESTAMP))"
        sql = f"""
            SELECT contact_id,
                   (epoch(CAST(? AS TIMESTAMP)) - epoch(max(timestamp))) / 86400.0 AS recency_days,
                   count(*) {window} AS frequency
            FROM ev WHERE timestamp <= CAST(? AS TIMESTAMP) GROUP BY contact_id
        """
        params = [as_of_naive, *([lo] if lo is not None else []), as_of_naive]
        act = con.execute(sql, params).df()
    finally:
        con.close()
    act = act.set_index("contact_id")
    if monetary is not None:
        if not {"contact_id", "value"} <= set(monetary.columns):
            raise ValueError("monetary needs columns contact_id and value")
        m = monetary
        if "timestamp" in m.columns:
            ts = ensure_ts(m["timestamp"])
            keep = ts <= as_of_ts
            if window_days is not None:
                keep &= ts >= as_of_ts - pd.Timedelta(days=window_days)
            m = m[keep]
        money = (
            pd.to_numeric(m["value"], errors="coerce").fillna(0.0).groupby(m["contact_id"]).sum()
        )
    else:
        money = pd.Series(dtype=float)
    ids = act.index.union(money.index)
    if contacts is not None:
        contacts = ensure(contacts, CONTACTS, source="contacts")
        ids = ids.union(pd.Index(contacts.loc[contacts["created_at"] <= as_of_ts, "contact_id"]))
    # A stable order whatever order DuckDB grouped in; mixed id kinds cannot be sorted.
    with contextlib.suppress(TypeError):
        ids = ids.sort_values()
    out = pd.DataFrame(index=ids)
    out.index.name = "contact_id"
    out["recency_days"] = act["recency_days"].reindex(ids).astype(float)
    out["frequency"] = act["frequency"].reindex(ids).fillna(0).astype(int)
    out["monetary"] = money.reindex(ids).fillna(0.0).astype(float)
    r_edges = (
        list(recency_edges) if recency_edges is not None else _edges(out["recency_days"], quantiles)
    )
    f_edges = (
        list(frequency_edges)
        if frequency_edges is not None
        else _edges(out["frequency"], quantiles)
    )
    m_edges = (
        list(monetary_edges) if monetary_edges is not None else _edges(out["monetary"], quantiles)
    )
    out["r"] = _scores(out["recency_days"], r_edges, higher_is_better=False)
    out["f"] = _scores(out["frequency"], f_edges, higher_is_better=True)
    out["m"] = _scores(out["monetary"], m_edges, higher_is_better=True)
    out["rfm"] = out["r"].astype(str) + out["f"].astype(str) + out["m"].astype(str)
    levels = {
        "r": len(r_edges) + 1,
        "f": len(f_edges) + 1,
        "m": len(m_edges) + 1,
    }
    high = {k: (high_score if high_score is not None else n // 2 + 1) for k, n in levels.items()}
    keys = zip(out["r"] >= high["r"], out["f"] >= high["f"], out["m"] >= high["m"], strict=True)
    out["segment"] = [SEGMENTS[(bool(a), bool(b), bool(c))].name for a, b, c in keys]
    return out.reset_index()


def ensure_ts(values: pd.Series) -> pd.Series:
    from leadscore.analytics.inputs import to_utc

    return to_utc(values)


def segment_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Contacts, share and mean R/F/M values per segment, in the canonical order."""
    n = len(table)
    g = table.groupby("segment").agg(
        contacts=("contact_id", "size"),
        mean_recency_days=("recency_days", "mean"),
        mean_frequency=("frequency", "mean"),
        total_monetary=("monetary", "sum"),
    )
    g = g.reindex(SEGMENT_ORDER)
    g["contacts"] = g["contacts"].fillna(0).astype(int)
    g["share"] = g["contacts"] / n if n else np.nan
    by_name = {s.name: s for s in SEGMENTS.values()}
    g["meaning"] = [by_name[s].meaning for s in g.index]
    g["action"] = [by_name[s].action for s in g.index]
    return g.reset_index().rename(columns={"index": "segment"})
