"""``/v1/reports/...``: the funnel analytics of ``leadscore report`` over the store.

Thin routes: parse and check the query (a bad value is a 422 naming the
parameter), then call :mod:`leadscore.service.reports`. Query parameters mirror
the CLI options (``--period`` is ``period``, ``--within-days`` is ``within_days``;
lists are comma-separated or repeated). Every route needs the ``read`` scope.
``as_of`` is an ISO 8601 date or instant (naive = UTC, as on the command line);
it defaults to now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, Field

from leadscore.api.routes import ID, Strict, svc
from leadscore.api.schemas import (
    AbTestOut,
    AttributionOut,
    CpaOut,
    FreshNurturedOut,
    FunnelOut,
    GoalsOut,
    RfmOut,
    SampleSizeOut,
    VelocityOut,
)
from leadscore.api.security import require
from leadscore.service import clock
from leadscore.service import reports as R
from leadscore.service.keys import KeyInfo

router = APIRouter(prefix="/v1/reports", tags=["reports"])

AsOf = Annotated[
    str | None,
    Query(description="Report as of this date or instant (ISO 8601; naive = UTC). Default: now."),
]
Period = Annotated[
    str, Query(description="day, week (Monday start), month, quarter, year, or N days (14d)")
]
Start = Annotated[str | None, Query(description="First period (date); default: first data")]
End = Annotated[str | None, Query(description="Last period (date); default: last data")]
# Durations are bounded: a day count past pandas' Timedelta range (~292 years) was an
# OverflowError, a 500; a century is more than any report needs.
MAX_DAYS = 36_500
Days = Annotated[float | None, Query(gt=0, le=MAX_DAYS)]


def _now() -> datetime:
    # The surface asks the clock (as the CLI does); the analytics never do.
    return clock.now()


def _when(text: str | None, field: str) -> Any:
    return R.timestamp_param(text, field) if text is not None else None


@router.get(
    "/funnel",
    summary="Stage counts, stage-to-stage conversion and series by period",
    response_model=FunnelOut,
    response_model_exclude_unset=True,  # optional keys: absent, not null
)
def get_funnel(
    request: Request,
    as_of: AsOf = None,
    period: Period = "month",
    by: Annotated[
        list[str] | None,
        Query(description="Contact field(s) to break down by: source, campaign, grade, owner..."),
    ] = None,
    funnel: Annotated[
        str | None, Query(description="Stages to show, comma-separated, e.g. mql,customer")
    ] = None,
    within_days: Annotated[
        float | None, Query(gt=0, le=MAX_DAYS, description="Count conversions within N days")
    ] = None,
    start: Start = None,
    end: End = None,
    cohorts: Annotated[bool, Query(description="Add cohorts by creation period")] = False,
    fresh_days: Annotated[
        float, Query(gt=0, le=MAX_DAYS, description="Fresh = created < N days")
    ] = 30.0,
    _: KeyInfo = require("read"),
) -> dict[str, Any]:
    return R.funnel(
        svc(request).store,
        as_of=R.as_of_param(as_of, _now()),
        period=R.period_param(period),
        by=R.split_param(by),
        funnel_stages=R.split_param(funnel),
        within_days=within_days,
        start=_when(start, "start"),
        end=_when(end, "end"),
        cohorts=cohorts,
        fresh_days=fresh_days,
    )


@router.get(
    "/velocity",
    summary="Qualified leads per period and lead velocity rate",
    response_model=VelocityOut,
)
def get_velocity(
    request: Request,
    as_of: AsOf = None,
    period: Period = "month",
    stage: Annotated[str, Query(description="The qualified stage counted")] = "mql",
    start: Start = None,
    end: End = None,
    _: KeyInfo = require("read"),
) -> dict[str, Any]:
    return R.velocity(
        svc(request).store,
        as_of=R.as_of_param(as_of, _now()),
        period=R.period_param(period),
        stage=stage,
        start=_when(start, "start"),
        end=_when(end, "end"),
    )


@router.get(
    "/fresh-vs-nurtured",
    summary="Share of MQLs and conversions from fresh vs nurtured leads",
    response_model=FreshNurturedOut,
)
def get_fresh_vs_nurtured(
    request: Request,
    as_of: AsOf = None,
    fresh_days: Annotated[
        float, Query(gt=0, le=MAX_DAYS, description="Fresh = created < N days")
    ] = 30.0,
    qualified_stage: str = "mql",
    converted_stage: str = "customer",
    _: KeyInfo = require("read"),
) -> dict[str, Any]:
    return R.fresh_nurtured(
        svc(request).store,
        as_of=R.as_of_param(as_of, _now()),
        fresh_days=fresh_days,
        qualified_stage=qualified_stage,
        converted_stage=converted_stage,
    )


@router.get(
    "/rfm",
    summary="RFM scores and the eight segments",
    response_model=RfmOut,
    response_model_exclude_unset=True,
)
def get_rfm(
    request: Request,
    as_of: AsOf = None,
    quantiles: Annotated[int, Query(ge=2, le=10, description="Score levels (5 = quintiles)")] = 5,
    window_days: Days = None,
    won_stage: str = "customer",
    monetary_property: Annotated[
        str | None, Query(description="Event property with order amounts (else won deal values)")
    ] = None,
    include_contacts: Annotated[bool, Query(description="Also list every contact's RFM")] = False,
    _: KeyInfo = require("read"),
) -> dict[str, Any]:
    return R.rfm(
        svc(request).store,
        as_of=R.as_of_param(as_of, _now()),
        quantiles=quantiles,
        window_days=window_days,
        won_stage=won_stage,
        monetary_property=monetary_property,
        include_contacts=include_contacts,
    )


@router.get(
    "/attribution",
    summary="First-touch, last-touch and linear credit of conversions",
    response_model=AttributionOut,
)
def get_attribution(
    request: Request,
    as_of: AsOf = None,
    touch: Annotated[
        str, Query(min_length=1, description="Event property credited (campaign, url...) or type")
    ] = "campaign",
    stage: Annotated[str, Query(description="Conversion stage")] = "customer",
    event_types: Annotated[list[str] | None, Query(description="Only these event types")] = None,
    lookback_days: Days = None,
    _: KeyInfo = require("read"),
) -> dict[str, Any]:
    return R.attribution(
        svc(request).store,
        as_of=R.as_of_param(as_of, _now()),
        touch=touch,
        stage=stage,
        event_types=R.split_param(event_types),
        lookback_days=lookback_days,
    )


class AssignmentIn(Strict):
    contact_id: ID
    variant: Annotated[str, Field(min_length=1, max_length=200)]
    experiment: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    converted: bool | None = Field(
        None, description="Whether it converted; omit to read conversions from the store"
    )
    assigned_at: AwareDatetime | None = None


class AbTestIn(Strict):
    assignments: list[AssignmentIn] = Field(min_length=1, max_length=1_000_000)
    control: Annotated[str, Field(min_length=1, max_length=200)]
    experiment: str | None = None
    stage: str = Field("mql", description="Conversion stage when 'converted' is omitted")
    window_days: float | None = Field(None, gt=0, le=MAX_DAYS)
    as_of: str | None = None
    alpha: float = Field(0.05, gt=0, lt=1)
    power: float = Field(0.8, gt=0, lt=1)
    mde: float = Field(0.02, gt=0, description="Minimum detectable effect (absolute)")
    relative: bool = False


@router.post(
    "/abtest", summary="Two-proportion test of variants against a control", response_model=AbTestOut
)
def post_abtest(request: Request, body: AbTestIn, _: KeyInfo = require("read")) -> dict[str, Any]:
    return R.abtest(
        svc(request).store,
        [a.model_dump() for a in body.assignments],
        control=body.control,
        as_of=R.as_of_param(body.as_of, _now()),
        experiment=body.experiment,
        stage=body.stage,
        window_days=body.window_days,
        alpha=body.alpha,
        power=body.power,
        mde=body.mde,
        relative=body.relative,
    )


@router.get(
    "/sample-size", summary="Contacts needed per arm of an A/B test", response_model=SampleSizeOut
)
def get_sample_size(
    baseline: Annotated[float, Query(gt=0, lt=1, description="Control conversion rate")],
    mde: Annotated[float, Query(gt=0, description="Minimum detectable effect")] = 0.02,
    relative: bool = False,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    power: Annotated[float, Query(gt=0, lt=1)] = 0.8,
    _: KeyInfo = require("read"),
) -> dict[str, Any]:
    return R.sample_size(baseline, mde, relative=relative, alpha=alpha, power=power)


@router.get(
    "/goals",
    summary="Leads and MQLs needed for a revenue target; SLA and follow-up",
    response_model=GoalsOut,
    response_model_exclude_unset=True,  # optional keys: absent, not null
)
def get_goals(
    request: Request,
    as_of: AsOf = None,
    period: Period = "month",
    revenue: Annotated[float | None, Query(gt=0, description="Revenue target")] = None,
    deal_size: Annotated[
        float | None, Query(gt=0, description="Average deal (default: measured)")
    ] = None,
    months: Annotated[
        float, Query(gt=0, le=MAX_DAYS / 30, description="Horizon of the target")
    ] = 1.0,
    score: Annotated[str | None, Query(description="Score the capacity threshold is on")] = None,
    capacity: Annotated[
        int | None, Query(gt=0, description="MQLs sales agreed to follow up per period")
    ] = None,
    sla_hours: Annotated[float, Query(gt=0, le=MAX_DAYS * 24)] = 24.0,
    follow_up_types: Annotated[
        list[str] | None, Query(description="Event types that are a sales follow-up")
    ] = None,
    _: KeyInfo = require("read"),
) -> dict[str, Any]:
    types = R.split_param(follow_up_types) if follow_up_types is not None else None
    return R.goals(
        svc(request).store,
        as_of=R.as_of_param(as_of, _now()),
        period=R.period_param(period),
        revenue=revenue,
        deal_size=deal_size,
        months=months,
        score=score,
        capacity=capacity,
        sla_hours=sla_hours,
        follow_up_types=types if types is not None else ("call", "meeting", "sales_email"),
    )


class SpendIn(Strict):
    channel: Annotated[str, Field(min_length=1, max_length=200)]
    period: str = Field(description="Date the spend belongs to (ISO 8601), e.g. 2024-03-01")
    amount: float = Field(ge=0)


class CpaIn(Strict):
    spend: list[SpendIn] = Field(min_length=1, max_length=100_000)
    period: str = "month"
    stage: str = Field("customer", description="The acquisition stage")
    contact_key: str = Field("source", description="Contact field holding the channel")
    as_of: str | None = None


@router.post(
    "/cpa", summary="Cost per lead and per acquisition by channel and period", response_model=CpaOut
)
def post_cpa(request: Request, body: CpaIn, _: KeyInfo = require("read")) -> dict[str, Any]:
    return R.cpa(
        svc(request).store,
        [s.model_dump() for s in body.spend],
        as_of=R.as_of_param(body.as_of, _now()),
        period=R.period_param(body.period),
        stage=body.stage,
        contact_key=body.contact_key,
    )
