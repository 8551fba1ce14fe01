"""Funnel analytics, segments and planning (SPEC M1-M7, T1-T2).

Every function here is pure: it takes data frames and an explicit ``as_of`` instant
and returns data frames; reading files is :mod:`leadscore.analytics.inputs`' job and
printing is the CLI's. Heavy libraries (DuckDB, statsmodels) are imported inside the
functions that need them, so importing this package stays cheap.
"""

from __future__ import annotations

from leadscore.analytics.abtest import ab_test, conversions_from_stages, sample_size
from leadscore.analytics.attribution import attribution
from leadscore.analytics.funnel import FunnelReport, fresh_vs_nurtured, funnel_report, reach
from leadscore.analytics.goals import (
    average_deal_size,
    goal_plan,
    measured_rates,
    sla_follow_up,
    threshold_for_capacity,
)
from leadscore.analytics.inputs import AnalyticsInputError, read_table, stages_from_milestones
from leadscore.analytics.segments import SEGMENTS, factual_tags, rfm, segment_summary
from leadscore.analytics.velocity import cost_per_acquisition, cpa_summary, lead_velocity

__all__ = [
    "SEGMENTS",
    "AnalyticsInputError",
    "FunnelReport",
    "ab_test",
    "attribution",
    "average_deal_size",
    "conversions_from_stages",
    "cost_per_acquisition",
    "cpa_summary",
    "factual_tags",
    "fresh_vs_nurtured",
    "funnel_report",
    "goal_plan",
    "lead_velocity",
    "measured_rates",
    "reach",
    "read_table",
    "rfm",
    "sample_size",
    "segment_summary",
    "sla_follow_up",
    "stages_from_milestones",
    "threshold_for_capacity",
]
