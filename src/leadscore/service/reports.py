"""Funnel analytics over the store: the figures of ``leadscore report``, from the service.

This module turns the store's tables into the frames :mod:`leadscore.analytics`
reads from files, and calls the same pure functions with the same defaults as
the command line, so a report through the API and the CLI on the same data
exported as files give the same numbers:

* **stages**: every lifecycle transition (``contact_id, stage, timestamp``); the
  ``customer`` rows carry the won deal ``value`` from ``outcomes``.
* **contacts**: ``contact_id, created_at`` plus the profile fields asked for.
  ``created_at`` is the CRM's own creation date when the profile has one (a
  ``created_at`` field), else when the contact reached this store; ``owner``,
  ``grade``, ``account_id`` and ``current_stage`` come from the contact row itself.
* **events**: ``event_id, contact_id, type, timestamp`` plus event properties as
  columns (``campaign``, ``url``...). Anonymous events (no contact yet) are left out.

Each function validates its parameters first and raises :class:`Invalid` naming
the parameter, so the API answers 422 with the query field to fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import Text, case, cast, func, select

from leadscore.service.errors import Invalid
from leadscore.store import Store
from leadscore.store.tables import contact_scores, contacts, events, outcomes, transitions

#: Contact-row columns a report can break down by, besides the profile fields
#: (``current_stage`` is the lifecycle stage now; ``stage`` names the funnel stage).
ROW_FIELDS = {
    "owner": "owner",
    "grade": "grade",
    "account_id": "account_id",
    "current_stage": "stage",
}
T = TypeVar("T")


# ------------------------------------------------------------- store -> frames --


def _us(values: Sequence[int]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(list(values), unit="us", utc=True))


def stage_frames(
    store: Store, fields: Sequence[str] = (), *, check_fields: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lifecycle history as the analytics read it: (stages, contacts).

    ``fields`` are added to the contacts frame (profile fields, or ``owner``,
    ``grade``, ``account_id``, ``current_stage`` from the contact row); a contact without
    one has None. With ``check_fields``, a field no contact has is an error
    (almost always a misspelt name), reported as the ``by`` parameter.
    """
    wanted = list(dict.fromkeys(fields))
    profile = [f for f in wanted if f not in ROW_FIELDS]
    c = contacts.c
    # Profile fields are pulled out by the database's JSON operators (as text, as a
    # CSV export holds them): decoding every profile in Python costs more than the
    # report itself on 100,000 contacts.
    picked = [
        _json_text(store, c.fields, "created_at"),
        *(_json_text(store, c.fields, f) for f in profile),
    ]
    with store.read() as conn:
        moves = conn.execute(
            select(transitions.c.contact_id, transitions.c.to_stage, transitions.c.at_us).order_by(
                transitions.c.id
            )
        ).all()
        won = conn.execute(
            select(outcomes.c.contact_id, outcomes.c.value)
            .where(outcomes.c.kind == "won")
            .order_by(outcomes.c.at_us, outcomes.c.id)
        ).all()
        people = conn.execute(
            select(
                c.contact_id,
                c.created_us,
                *(c[ROW_FIELDS[f]] for f in wanted if f in ROW_FIELDS),
                *picked,
            )
        ).all()
    stages = pd.DataFrame(
        {
            "contact_id": pd.Series([m[0] for m in moves], dtype=object),
            "stage": pd.Series([m[1] for m in moves], dtype=object),
            "timestamp": _us([m[2] for m in moves]),
        }
    )
    # The first won outcome's value is the deal value (as average_deal_size reads it).
    value: dict[str, float] = {}
    for cid, v in won:
        if v is not None and cid not in value:
            value[cid] = float(v)
    stages["value"] = [
        value.get(cid, np.nan) if st == "customer" else np.nan
        for cid, st in zip(stages["contact_id"], stages["stage"], strict=True)
    ]
    columns = list(zip(*people, strict=True)) if people else [()] * (2 + len(wanted) + 1)
    row_cols = [f for f in wanted if f in ROW_FIELDS]
    cells = dict(zip(["contact_id", "created_us", *row_cols], columns, strict=False))
    crm_text = columns[2 + len(row_cols)]
    cells |= dict(zip(profile, columns[3 + len(row_cols) :], strict=True))
    # ISO 8601 only, as for files; a date that is not falls back to the store's
    # creation time.
    crm = pd.to_datetime(
        pd.Series(list(crm_text), dtype=object).astype("string").str.strip(),
        utc=True,
        errors="coerce",
        format="ISO8601",
    )
    stored = pd.Series(_us(list(cells["created_us"])))
    frame = pd.DataFrame(
        {
            "contact_id": pd.Series(list(cells["contact_id"]), dtype=object),
            "created_at": crm.where(crm.notna(), stored),
        }
    )
    for f in wanted:
        values = [None if v is None else (v if f in ROW_FIELDS else str(v)) for v in cells[f]]
        if check_fields and people and all(v is None for v in values):
            raise Invalid(f"no contact has a field '{f}'", "by")
        frame[f] = pd.Series(values, dtype=object)
    return stages, frame


def _json_text(store: Store, column: Any, key: str) -> Any:
    """One key of a JSON column as text, the same on both stores.

    PostgreSQL's ``->>`` gives ``true``/``false`` for booleans, SQLite's
    ``json_extract`` gives 1/0; SQLite is brought to PostgreSQL's spelling (and a
    CSV export's), so a breakdown by a yes/no field reads the same everywhere.
    """
    text = column[key].as_string()
    if store.dialect != "sqlite":
        # The json type keeps a "\u0000" escape (written before the API refused
        # NUL) and ->> then fails the whole query on any key: such a document
        # reads as missing (CASE tests first).
        return case((func.strpos(cast(column, Text), "\\u0000") > 0, None), else_=text)
    path = '$."' + key.replace('"', '""') + '"'
    kind = func.json_type(column, path)
    # SQLite keeps whatever text was written: one document that is not JSON (NaN
    # from an old client, a hand edit) would fail the whole query. It reads as
    # missing instead (CASE evaluates json_valid first).
    return case(
        (func.json_valid(column) == 0, None),
        (kind == "true", "true"),
        (kind == "false", "false"),
        else_=text,
    )


def event_frame(
    store: Store,
    properties: Sequence[str] = (),
    *,
    types: Sequence[str] | None = None,
    require: str | None = None,
    field: str = "touch",
) -> pd.DataFrame:
    """The contacts' events, with the named ``properties`` as columns.

    ``type`` is a column already; ``types`` keeps only those event types (filtered
    in the database). Properties are extracted by the database's JSON operators
    (``->>`` on PostgreSQL, ``json_extract`` on SQLite) and kept as text, as a CSV
    export holds them, so the whole property document never crosses into Python.
    With ``require``, a property no event carries is an error on parameter ``field``.
    """
    e = events.c
    wanted = [p for p in dict.fromkeys(properties) if p not in ("event_id", "contact_id", "type")]
    extracted = [_json_text(store, e.properties, p).label(f"p{i}") for i, p in enumerate(wanted)]
    query = select(e.event_id, e.contact_id, e.type, e.ts_us, *extracted).where(
        e.contact_id.is_not(None)
    )
    if types is not None:
        query = query.where(e.type.in_(list(types)))
    with store.read() as conn:
        rows = conn.execute(query.order_by(e.seq)).all()
    frame = pd.DataFrame(
        {
            "event_id": pd.Series([r[0] for r in rows], dtype=object),
            "contact_id": pd.Series([r[1] for r in rows], dtype=object),
            "type": pd.Series([r[2] for r in rows], dtype=object),
            "timestamp": _us([r[3] for r in rows]),
        }
    )
    for i, name in enumerate(wanted):
        values = [None if r[4 + i] is None else str(r[4 + i]) for r in rows]
        if name == require and rows and all(v is None for v in values):
            raise Invalid(f"no event has a property '{name}'", field)
        frame[name] = pd.Series(values, dtype=object)
    return frame


def score_frame(store: Store, score: str) -> pd.DataFrame:
    """Current value of one score per contact, dated by when the contact was created.

    The capacity planner counts how many leads *arriving* per period would pass a
    threshold, so each lead is placed in the period it entered the funnel.
    """
    _, people = stage_frames(store)
    with store.read() as conn:
        rows = conn.execute(
            select(contact_scores.c.contact_id, contact_scores.c.value).where(
                contact_scores.c.score == score
            )
        ).all()
    if not rows:
        raise Invalid(f"no contact has a score '{score}'", "score")
    frame = pd.DataFrame(
        {
            "contact_id": pd.Series([r[0] for r in rows], dtype=object),
            "score": [float(r[1]) for r in rows],
        }
    )
    created = people.set_index("contact_id")["created_at"]
    frame["scored_at"] = frame["contact_id"].map(created)
    return frame


# --------------------------------------------------------------- parameters --


def as_of_param(text: str | None, now: datetime, field: str = "as_of") -> pd.Timestamp:
    """ISO 8601 date or instant (naive = UTC, as on the command line); default now."""
    if text is None:
        return pd.Timestamp(now).tz_convert("UTC")
    return timestamp_param(text, field)


def timestamp_param(text: str, field: str) -> pd.Timestamp:
    # ISO 8601 only, as for input files: "01/02/2024" would be a guess at the day.
    ts = pd.to_datetime(pd.Series([text.strip()]), errors="coerce", format="ISO8601").iloc[0]
    if pd.isna(ts):
        raise Invalid(
            f"cannot parse {text!r} as an ISO 8601 date or time (2024-03-01, 2024-03-01T10:00:00Z)",
            field,
        )
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def period_param(text: str, field: str = "period") -> str:
    from leadscore.analytics.periods import normalise_period

    try:
        return normalise_period(text)
    except ValueError as exc:
        raise Invalid(str(exc), field) from None


def split_param(values: str | Sequence[str] | None) -> list[str]:
    """``a,b`` or repeated ``?x=a&x=b`` (or both) as one list."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    return [p.strip() for item in items for p in item.split(",") if p.strip()]


def stage_param(text: str, field: str, allowed: Sequence[str] | None = None) -> str:
    from leadscore.analytics.inputs import FUNNEL_STAGES

    allowed = tuple(allowed or FUNNEL_STAGES)
    stage = text.strip().lower()
    if stage not in allowed:
        raise Invalid(f"unknown stage {text!r}; use one of {', '.join(allowed)}", field)
    return stage


def guarded(field: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an analytics function; a refusal becomes a 422 naming ``field``."""
    from leadscore.analytics.inputs import AnalyticsInputError

    try:
        return fn(*args, **kwargs)
    except AnalyticsInputError as exc:
        raise Invalid(exc.detail, field) from None
    except ValueError as exc:
        raise Invalid(str(exc), field) from None


# --------------------------------------------------------------------- JSON --


def _cell(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).tz_localize("UTC").isoformat()
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    return value


def records(frame: pd.DataFrame | None, columns: Iterable[str] | None = None) -> list[dict]:
    """A frame as JSON rows: NaN/NaT as null, times as ISO 8601 UTC."""
    if frame is None:
        return []
    cols = list(columns) if columns is not None else list(frame.columns)
    return [
        {c: _cell(v) for c, v in zip(cols, row, strict=True)}
        for row in frame[cols].itertuples(index=False, name=None)
    ]


def plain(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _cell(v) for k, v in mapping.items()}


# ------------------------------------------------------------------ reports --


def funnel(
    store: Store,
    *,
    as_of: pd.Timestamp,
    period: str = "month",
    by: Sequence[str] = (),
    funnel_stages: Sequence[str] = (),
    within_days: float | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    cohorts: bool = False,
    fresh_days: float = 30.0,
) -> dict[str, Any]:
    """``leadscore report funnel``: stage counts, conversions, series by period (M1, M4)."""
    from leadscore.analytics import fresh_vs_nurtured, funnel_report

    for st in funnel_stages:
        stage_param(st, "funnel")
    stages, people = stage_frames(store, by, check_fields=True)
    report = guarded(
        "funnel",
        funnel_report,
        stages,
        people,
        as_of=as_of,
        period=period,
        by=list(by) or None,
        funnel=[s.lower() for s in funnel_stages] or None,
        within_days=within_days,
        start=start,
        end=end,
    )
    fresh = None
    shown = report.funnel
    # As on the command line: only when the funnel runs from lead past MQL.
    if "lead" in shown and "mql" in shown and shown[-1] != "mql":
        fresh = fresh_vs_nurtured(
            stages, people, as_of=as_of, fresh_days=fresh_days, converted_stage=shown[-1]
        )
    out: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "period": report.period,
        "funnel": report.funnel,
        "by": report.by,
        "stages": records(report.stages),
        "conversions": records(report.conversions),
        "by_period": records(report.by_period),
        "entries": records(report.entries),
        "fresh_vs_nurtured": records(fresh) if fresh is not None else None,
    }
    if cohorts:
        out["cohorts"] = records(report.cohorts)
    return out


def velocity(
    store: Store,
    *,
    as_of: pd.Timestamp,
    period: str = "month",
    stage: str = "mql",
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """``leadscore report velocity``: qualified leads per period and LVR (M2)."""
    from leadscore.analytics import lead_velocity

    stage = stage_param(stage, "stage")
    stages, people = stage_frames(store)
    table = guarded(
        "period",
        lead_velocity,
        stages,
        people,
        as_of=as_of,
        stage=stage,
        period=period,
        start=start,
        end=end,
    )
    return {
        "as_of": as_of.isoformat(),
        "period": period,
        "stage": stage,
        "rows": records(table),
    }


def fresh_nurtured(
    store: Store,
    *,
    as_of: pd.Timestamp,
    fresh_days: float = 30.0,
    qualified_stage: str = "mql",
    converted_stage: str = "customer",
) -> dict[str, Any]:
    """Share of MQLs and of conversions from fresh versus nurtured leads (M4)."""
    from leadscore.analytics import fresh_vs_nurtured
    from leadscore.analytics.inputs import FUNNEL_STAGES

    qualified_stage = stage_param(qualified_stage, "qualified_stage", FUNNEL_STAGES[1:])
    converted_stage = stage_param(converted_stage, "converted_stage", FUNNEL_STAGES[1:])
    order = list(FUNNEL_STAGES)
    if order.index(converted_stage) <= order.index(qualified_stage):
        raise Invalid(
            f"'{converted_stage}' must come after '{qualified_stage}' in the funnel",
            "converted_stage",
        )
    stages, people = stage_frames(store)
    table = fresh_vs_nurtured(
        stages,
        people,
        as_of=as_of,
        fresh_days=fresh_days,
        qualified_stage=qualified_stage,
        converted_stage=converted_stage,
    )
    return {
        "as_of": as_of.isoformat(),
        "fresh_days": fresh_days,
        "qualified_stage": qualified_stage,
        "converted_stage": converted_stage,
        "rows": records(table),
    }


def rfm(
    store: Store,
    *,
    as_of: pd.Timestamp,
    quantiles: int = 5,
    window_days: float | None = None,
    won_stage: str = "customer",
    monetary_property: str | None = None,
    include_contacts: bool = False,
) -> dict[str, Any]:
    """``leadscore report rfm``: RFM scores and the 8 segments (T2).

    Monetary is the won deal value (outcomes) or, with ``monetary_property``, the
    sum of that event property (order amounts). Every contact in the store is
    scored, inactive ones too (the CLI with ``--contacts``).
    """
    from leadscore.analytics import rfm as rfm_table
    from leadscore.analytics import segment_summary

    won_stage = stage_param(won_stage, "won_stage")
    props = [monetary_property] if monetary_property else []
    ev = event_frame(store, props, require=monetary_property, field="monetary_property")
    stages, people = stage_frames(store)
    if monetary_property:
        amounts = pd.to_numeric(ev[monetary_property], errors="coerce")
        bad = ev[monetary_property].notna() & amounts.isna()
        if bad.any():
            first = ev.loc[bad.to_numpy(), "event_id"].iloc[0]
            raise Invalid(
                f"event '{first}' has a non-numeric '{monetary_property}'", "monetary_property"
            )
        keep = amounts.notna().to_numpy()
        monetary = pd.DataFrame(
            {
                "contact_id": ev["contact_id"][keep].to_numpy(),
                "value": amounts[keep].to_numpy(dtype=float),
                "timestamp": ev["timestamp"][keep].to_numpy(),
            }
        )
        monetary["timestamp"] = pd.to_datetime(monetary["timestamp"], utc=True)
    else:
        s = stages[(stages["stage"] == won_stage) & stages["value"].notna()]
        monetary = s[["contact_id", "value", "timestamp"]]
    table = guarded(
        "quantiles",
        rfm_table,
        ev,
        as_of=as_of,
        monetary=monetary,
        contacts=people,
        window_days=window_days,
        quantiles=quantiles,
    )
    out: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "quantiles": quantiles,
        "contacts": len(table),
        "segments": records(segment_summary(table)),
    }
    if include_contacts:
        out["rows"] = records(table.sort_values("contact_id"))
    return out


def attribution(
    store: Store,
    *,
    as_of: pd.Timestamp,
    touch: str = "campaign",
    stage: str = "customer",
    event_types: Sequence[str] = (),
    lookback_days: float | None = None,
) -> dict[str, Any]:
    """``leadscore report attribution``: first, last and linear credit (M7)."""
    from leadscore.analytics import attribution as credit

    stage = stage_param(stage, "stage")
    ev = event_frame(store, [touch], require=touch, field="touch")
    stages, _ = stage_frames(store)
    table = guarded(
        "touch",
        credit,
        ev,
        stages,
        as_of=as_of,
        touch=touch,
        conversion_stage=stage,
        event_types=list(event_types) or None,
        lookback_days=lookback_days,
    )
    return {"as_of": as_of.isoformat(), "touch": touch, "stage": stage, "rows": records(table)}


def abtest(
    store: Store,
    assignments: list[dict[str, Any]],
    *,
    control: str,
    as_of: pd.Timestamp,
    experiment: str | None = None,
    stage: str = "mql",
    window_days: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    mde: float = 0.02,
    relative: bool = False,
) -> dict[str, Any]:
    """``leadscore report abtest`` on posted assignments (M5).

    Assignments come from the tool that split the audience (email or nurture
    platform), so they are posted rather than stored. Without ``converted``, a
    contact converted when the store shows it reaching ``stage`` after
    ``assigned_at`` (within ``window_days``), as the CLI reads a stages file.
    """
    from leadscore.analytics import ab_test, conversions_from_stages

    for key in ("converted", "assigned_at"):
        given = sum(a.get(key) is not None for a in assignments)
        if 0 < given < len(assignments):
            raise Invalid(f"give '{key}' for every assignment or for none", f"assignments.{key}")
    frame = pd.DataFrame(
        {
            "contact_id": [a["contact_id"] for a in assignments],
            "experiment": [a.get("experiment") or experiment or "experiment" for a in assignments],
            "variant": [a["variant"] for a in assignments],
        }
    )
    if assignments and assignments[0].get("assigned_at") is not None:
        frame["assigned_at"] = pd.DatetimeIndex(
            [pd.Timestamp(a["assigned_at"]) for a in assignments]
        ).tz_convert("UTC")
    if assignments and assignments[0].get("converted") is not None:
        frame["converted"] = [bool(a["converted"]) for a in assignments]
    else:
        stage = stage_param(stage, "stage")
        stages, _ = stage_frames(store)
        frame = guarded(
            "assignments",
            conversions_from_stages,
            frame,
            stages,
            stage=stage,
            as_of=as_of,
            window_days=window_days,
        )
    table = guarded(
        "assignments",
        ab_test,
        frame,
        control=control,
        experiment=experiment,
        alpha=alpha,
        mde=mde,
        relative=relative,
        power=power,
    )
    return {
        "as_of": as_of.isoformat(),
        "experiment": str(table["experiment"].iloc[0]),
        "control": control,
        "rows": records(table),
    }


def sample_size(
    baseline: float,
    mde: float,
    *,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
) -> dict[str, Any]:
    """``leadscore report abtest --baseline``: contacts needed per arm."""
    from leadscore.analytics import sample_size as size

    result = guarded("mde", size, baseline, mde, relative=relative, alpha=alpha, power=power)
    return plain(result.__dict__)


def goals(
    store: Store,
    *,
    as_of: pd.Timestamp,
    period: str = "month",
    revenue: float | None = None,
    deal_size: float | None = None,
    months: float = 1.0,
    score: str | None = None,
    capacity: int | None = None,
    sla_hours: float = 24.0,
    follow_up_types: Sequence[str] = ("call", "meeting", "sales_email"),
) -> dict[str, Any]:
    """``leadscore report goals``: leads and MQLs needed, SLA threshold, follow-up (M6)."""
    from leadscore.analytics import (
        average_deal_size,
        funnel_report,
        goal_plan,
        measured_rates,
        sla_follow_up,
        threshold_for_capacity,
    )

    if capacity is not None and not score:
        raise Invalid("a capacity needs the score the threshold applies to", "score")
    stages, people = stage_frames(store)
    out: dict[str, Any] = {"as_of": as_of.isoformat(), "period": period}
    if revenue is not None:
        report = funnel_report(stages, people, as_of=as_of, period=period)
        rates = measured_rates(report)
        measured = deal_size is None
        if deal_size is None:
            deal_size = guarded("deal_size", average_deal_size, stages, as_of=as_of)
        plan = guarded(
            "revenue",
            goal_plan,
            revenue,
            avg_deal_size=deal_size,
            rates=rates,
            months=months,
            funnel=report.funnel,
        )
        out["plan"] = {
            "revenue": revenue,
            "months": months,
            "deal_size": deal_size,
            "deal_size_measured": measured,
            "stages": records(plan),
        }
    if capacity is not None:
        assert score is not None
        scores = score_frame(store, score)
        out["capacity"] = {
            "score": score,
            **plain(
                guarded(
                    "capacity",
                    threshold_for_capacity,
                    scores,
                    capacity_per_period=capacity,
                    period=period,
                )
            ),
        }
    types = list(follow_up_types)
    ev = event_frame(store, types=types) if types else None
    sla = sla_follow_up(
        stages,
        as_of=as_of,
        sla_hours=sla_hours,
        events=ev,
        follow_up_types=types,
        period=period,
    )
    out["sla"] = {"hours": sla_hours, "follow_up_types": types, "rows": records(sla)}
    return out


def cpa(
    store: Store,
    spend: list[dict[str, Any]],
    *,
    as_of: pd.Timestamp,
    period: str = "month",
    stage: str = "customer",
    contact_key: str = "source",
) -> dict[str, Any]:
    """``leadscore report cpa`` on posted spend rows (M3).

    Spend lives in the ad platforms, not in the store, so it is posted
    (``channel, period, amount``); leads and acquisitions come from the store,
    credited to the channel in the contact's ``contact_key`` field.
    """
    from leadscore.analytics import cost_per_acquisition, cpa_summary

    stage = stage_param(stage, "stage")
    stages, people = stage_frames(store, [contact_key])
    if len(people) and people[contact_key].isna().all():
        raise Invalid(f"no contact has a field '{contact_key}'", "contact_key")
    frame = pd.DataFrame(
        {
            "channel": [s["channel"] for s in spend],
            "period": pd.DatetimeIndex(
                [timestamp_param(s["period"], f"spend.{i}.period") for i, s in enumerate(spend)]
            ),
            "amount": [float(s["amount"]) for s in spend],
        }
    )
    table = guarded(
        "spend",
        cost_per_acquisition,
        frame,
        stages,
        people,
        as_of=as_of,
        stage=stage,
        period=period,
        spend_key="channel",
        contact_key=contact_key,
    )
    return {
        "as_of": as_of.isoformat(),
        "period": period,
        "stage": stage,
        "summary": records(cpa_summary(table)),
        "rows": records(table),
    }
