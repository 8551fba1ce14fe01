"""Where the dashboard meets the running service.

``create_app`` keeps one :class:`~leadscore.service.runtime.Service` in
``app.state.service`` (store, scoring engine, key checker, rescorer, settings).
This module is the only place the dashboard reaches into it, and every write
goes through the service layer: sales actions through
:func:`leadscore.service.leads.stage_action`, model changes through
:mod:`leadscore.service.models`. The funnel and performance pages feed stored
history to :mod:`leadscore.analytics` and :mod:`leadscore.learn.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from markupsafe import Markup
from sqlalchemy import select

from leadscore.service import leads as lead_service
from leadscore.service import models as model_service
from leadscore.service.errors import ServiceError
from leadscore.service.runtime import Service
from leadscore.service.scoring import ActiveModel, ScoringEngine, us_to_dt
from leadscore.store import Store
from leadscore.store.tables import contacts
from leadscore.web import charts
from leadscore.web import data as D

# Accepting or closing a lead changes it for everyone: the same power the HTTP
# API asks for to record stage changes.
SALES_SCOPE = "ingest"


class ActionRefused(Exception):
    """The service said no (unknown lead, action not allowed in this stage...)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


def store(request: Request) -> Store:
    return service(request).store


def engine(request: Request) -> ScoringEngine:
    return service(request).engine


def setting(app: FastAPI, name: str) -> str | None:
    svc = getattr(app.state, "service", None)
    if svc is None:
        return None
    value = svc.settings.extra.get(name)
    return str(value) if value else None


def active_model(request: Request) -> ActiveModel | None:
    return engine(request).active()


# ---------------------------------------------------------------- the model --


@dataclass
class ModelRecord:
    version: int
    name: str | None
    yaml: str
    active: bool
    created_at: datetime
    activated_at: datetime | None


def _record(row: dict[str, Any]) -> ModelRecord:
    return ModelRecord(
        version=row["version"],
        name=row["name"],
        yaml=row.get("yaml", ""),
        active=bool(row["active"]),
        created_at=us_to_dt(row["created_us"]),
        activated_at=us_to_dt(row["activated_us"]) if row.get("activated_us") else None,
    )


def active_model_record(request: Request) -> ModelRecord | None:
    row = model_service.active_model(store(request))
    return _record(row) if row is not None else None


def model_versions(request: Request) -> list[ModelRecord]:
    return [_record(r) for r in reversed(model_service.list_models(store(request)))][:20]


def activate_model(request: Request, text: str, actor: str | None = None) -> int:
    """Store the edited text as a new version and make it active (rescoring follows)."""
    svc = service(request)
    try:
        uploaded = model_service.upload_model(svc.store, text)
        svc.rescorer.activate(uploaded["version"], background=svc.settings.run_workers)
    except ServiceError as exc:
        raise ActionRefused(exc.message, exc.status) from exc
    return int(uploaded["version"])


# -------------------------------------------------------------------- sales --


def sales_action(
    request: Request,
    contact_id: str,
    action: str,
    *,
    reason: str | None,
    value: float | None,
    actor: str | None,
) -> None:
    try:
        lead_service.stage_action(
            store(request), contact_id, action, reason=reason, value=value, actor=actor
        )
    except ServiceError as exc:
        raise ActionRefused(exc.message, exc.status) from exc


# --------------------------------------------------------------- predictive --


def predictive_for(request: Request, detail: D.LeadDetail) -> Any:
    """A predictive probability and factors for this lead, when a model is served.

    The service does not keep a trained predictive model yet (``leadscore.learn``
    trains one offline), so the lead page shows none rather than a made-up number.
    """
    return None


# ------------------------------------------------------- report sections --


@dataclass
class TableView:
    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass
class SectionView:
    key: str
    title: str
    intro: str
    charts: list[Markup] = field(default_factory=list)
    tables: list[TableView] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _from_analytics(section: Any) -> SectionView:
    from leadscore.analytics.render import formatted, headers

    return SectionView(
        key=section.key,
        title=section.title,
        intro=section.intro,
        # The analytics charts escape every label themselves (they are also used
        # in the offline HTML report), so they can be embedded as they are.
        charts=[Markup(c) for c in section.charts],
        tables=[
            TableView(t.caption, headers(t.shown), formatted(t.frame.head(200), t.shown))
            for t in section.tables
        ],
        notes=list(section.notes),
    )


def stage_frames(st: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lifecycle history as the analytics package reads it: stages and contacts.

    The same frames the ``/v1/reports`` API reads (:mod:`leadscore.service.reports`),
    so the dashboard and the API show the same figures.
    """
    from leadscore.service.reports import stage_frames as frames

    return frames(st)


def funnel_sections(request: Request, period: str) -> list[SectionView]:
    from leadscore.analytics.funnel import fresh_vs_nurtured, funnel_report
    from leadscore.analytics.inputs import FUNNEL_STAGES
    from leadscore.analytics.render import funnel_section, velocity_section
    from leadscore.analytics.velocity import lead_velocity

    stages, people = stage_frames(store(request))
    now = pd.Timestamp(datetime.now(UTC))
    if people.empty:
        return [SectionView("funnel", "Funnel", "", notes=["No leads in the store yet."])]
    report = funnel_report(stages, people, as_of=now, period=period, funnel=list(FUNNEL_STAGES))
    fresh = fresh_vs_nurtured(stages, people, as_of=now)
    out = [_from_analytics(funnel_section(report, fresh))]
    velocity = lead_velocity(stages, people, as_of=now, stage="mql", period=period)
    out.append(_from_analytics(velocity_section(velocity, "mql", period)))
    return out


def performance_sections(request: Request) -> list[SectionView]:
    """How well the active rule scores rank the leads whose outcome is known."""
    try:
        from leadscore.learn.metrics import by_band, deciles, roc_pr
    except ImportError:  # an install without the learning extras
        return [
            SectionView(
                "rules",
                "Rule scores against outcomes",
                "",
                notes=["The evaluation functions (leadscore.learn.metrics) are not installed."],
            )
        ]

    st = store(request)
    active = active_model(request)
    with st.read() as conn:
        decided = D.outcome_by_contact(conn)
        rows = (
            conn.execute(
                select(contacts.c.contact_id, contacts.c.grade, contacts.c.scores).where(
                    contacts.c.contact_id.in_(list(decided))
                )
            ).all()
            if decided
            else []
        )
    sections: list[SectionView] = []
    y = np.array([decided[r.contact_id][0] for r in rows], dtype=int)
    won = int(y.sum())
    intro = (
        f"{len(rows)} leads have an outcome ({won} won, {len(rows) - won} lost). Each score is "
        "judged by how well its current value ranks won above lost leads."
    )
    if len(rows) < 10 or won == 0 or won == len(rows):
        sections.append(
            SectionView(
                "rules",
                "Rule scores against outcomes",
                intro,
                notes=[
                    "Lift and ROC AUC need at least 10 leads with an outcome, some won and "
                    "some lost. Mark leads won or lost on their page as deals close."
                ],
            )
        )
    else:
        names = list(active.model.scores) if active else []
        for name in names:
            values = np.array(
                [((r.scores or {}).get(name) or {}).get("value", np.nan) for r in rows],
                dtype=float,
            )
            keep = ~np.isnan(values)
            if keep.sum() < 10 or y[keep].min() == y[keep].max():
                continue
            auc, pr = roc_pr(y[keep], values[keep])
            table = deciles(y[keep], values[keep], groups=min(10, int(keep.sum()) // 2))
            gains = [
                (0.0, 0.0),
                *zip(table["cumulative_leads_share"], table["cumulative_gain"], strict=True),
            ]
            chart = charts.xy_chart(
                {name: gains},
                title=f"Cumulative gains of the {name} score",
                x_label="share of leads, best scores first",
                y_label="share of wins",
                diagonal=True,
            )
            lift_chart = charts.bar_chart(
                [
                    (f"decile {int(d)}", float(v))
                    for d, v in zip(table["decile"], table["lift"], strict=True)
                ],
                title=f"Lift by decile of the {name} score",
                value_format="{:.2f}x",
            )
            sections.append(
                SectionView(
                    f"score-{name}",
                    f"{name}: lift and gains",
                    f"ROC AUC {auc:.2f} (0.5 = no better than chance), PR AUC {pr:.2f}, "
                    f"over {int(keep.sum())} leads with an outcome.",
                    charts=[lift_chart, chart],
                    tables=[_table(f"{name} by decile (1 = highest scores)", table)],
                )
            )
        grades = by_band(y, [r.grade for r in rows])
        rank = {g: i for i, g in enumerate(D.grade_priority(active.model if active else None))}
        grades = grades.sort_values("band", key=lambda b: b.map(lambda g: rank.get(g, len(rank))))
        sections.append(
            SectionView(
                "grades",
                "Conversion by grade",
                intro,
                tables=[_table("Won share of decided leads per combined grade", grades)],
            )
        )
    sections.append(
        SectionView(
            "predictive",
            "Predictive model",
            "",
            notes=[
                "No predictive model is served by this instance: the lift chart and "
                "calibration of a predictive model appear here once the service keeps one "
                "(leadscore.learn trains and evaluates it offline)."
            ],
        )
    )
    return sections


def _table(caption: str, frame: pd.DataFrame) -> TableView:
    from leadscore.analytics.render import formatted, headers

    cols = list(frame.columns)
    return TableView(caption, headers(cols), formatted(frame, cols))
