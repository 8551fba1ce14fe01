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

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from markupsafe import Markup
from sqlalchemy import select

from leadscore.service import clock
from leadscore.service import leads as lead_service
from leadscore.service import models as model_service
from leadscore.service.errors import ServiceError
from leadscore.service.runtime import Service
from leadscore.service.scoring import ActiveModel, ScoringEngine, us_to_dt
from leadscore.store import Store
from leadscore.store.tables import contacts
from leadscore.web import charts
from leadscore.web import data as D

log = logging.getLogger("leadscore.web")

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
            store(request),
            contact_id,
            action,
            reason=reason,
            value=value,
            actor=actor,
            crm_connectors=service(request).engine.crm_connectors,
        )
    except ServiceError as exc:
        raise ActionRefused(exc.message, exc.status) from exc


# --------------------------------------------------------------- predictive --

PREDICTIVE_FACTORS = 5  # strongest factors shown each way on the lead page
NOT_CONFIGURED = (
    "No predictive model is configured for this service. Train one with "
    "`leadscore train --method predictive -r models` and start the service with "
    "`leadscore serve --registry models`."
)


@dataclass
class FactorView:
    feature: str  # the training column
    label: str  # what it means, in the model language's words
    value: Any  # the lead's value, as the predictor saw it
    value_text: str
    contribution: float  # log-odds


@dataclass
class PredictiveView:
    """The lead page's predictive panel: a probability, or why there is none."""

    message: str | None = None
    probability: float | None = None
    version: str | None = None
    as_of: datetime | None = None
    trained_at: str | None = None
    holdout_auc: float | None = None
    positive: list[FactorView] = field(default_factory=list)
    negative: list[FactorView] = field(default_factory=list)


def champion(request: Request) -> tuple[Any, str | None]:
    """The served champion (or None) and, when there is none, why."""
    watcher = service(request).predictive
    if watcher is None:
        return None, NOT_CONFIGURED
    current = watcher.current()
    if current is None:
        return None, f"No predictive model to show: {watcher.problem}"
    return current, None


def _value_text(value: Any, feature: str) -> str:
    if value is None:
        return "missing"
    if isinstance(value, float):
        if np.isinf(value):
            return "never" if feature.endswith("_recency_days") else str(value)
        return f"{value:.0f}" if value == int(value) else f"{value:.2f}"
    return str(value)


def _factor_views(champ: Any, factors: list[dict[str, Any]]) -> list[FactorView]:
    infos = champ.predictor.bundle.infos
    out = []
    for f in factors:
        info = infos.get(f["feature"])
        out.append(
            FactorView(
                feature=f["feature"],
                # the model's own sentence for this lead's value, when it gives one
                label=f.get("sentence") or (info.describe() if info is not None else f["feature"]),
                value=f["value"],
                value_text=_value_text(f["value"], f["feature"]),
                contribution=float(f["contribution"]),
            )
        )
    return out


def predictive_for(request: Request, detail: D.LeadDetail) -> PredictiveView:
    """The champion's probability and strongest factors for this lead.

    The stored ones (kept with the rule scores, refreshed on events and on the
    clock) when they are current: computed by the champion's version and the lead
    has no unscored events. Otherwise computed now from the lead's stored profile
    and full event history, by the model's own feature code (the code that built
    its training set) with the snapshot at this moment.
    """
    champ, why = champion(request)
    if champ is None:
        return PredictiveView(message=why)
    stored = _stored_prediction(champ, detail.lead)
    return stored if stored is not None else _live_prediction(champ, detail)


def _stored_prediction(champ: Any, lead: D.LeadView) -> PredictiveView | None:
    if (
        lead.probability is None
        or lead.predictive_version != champ.version
        or lead.pending_rescoring
        or lead.scored_as_of is None
    ):
        return None
    factors = lead.probability_factors or {}
    metrics = champ.entry.get("metrics") or {}
    return PredictiveView(
        probability=lead.probability,
        version=champ.version,
        as_of=lead.scored_as_of,
        trained_at=champ.entry.get("created_at"),
        holdout_auc=metrics.get("roc_auc"),
        positive=_factor_views(champ, list(factors.get("positive") or [])),
        negative=_factor_views(champ, list(factors.get("negative") or [])),
    )


def _live_prediction(champ: Any, detail: D.LeadDetail) -> PredictiveView:
    from leadscore.service.predictive import predict

    now = clock.now()
    try:
        (pred,) = predict(champ, [(detail.contact, detail.events)], now, PREDICTIVE_FACTORS)
    except Exception as exc:  # a model that cannot score this lead must not take the page down
        log.exception(
            "predictive model %s failed on lead %s", champ.version, detail.lead.contact_id
        )
        return PredictiveView(
            message=f"The predictive model {champ.version} could not score this lead: {exc}"
        )
    metrics = champ.entry.get("metrics") or {}
    return PredictiveView(
        probability=pred.probability,
        version=champ.version,
        as_of=now,
        trained_at=champ.entry.get("created_at"),
        holdout_auc=metrics.get("roc_auc"),
        positive=_factor_views(champ, pred.positive),
        negative=_factor_views(champ, pred.negative),
    )


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
    now = pd.Timestamp(clock.now())
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
            lift_chart = _lift_chart(table, f"Lift by decile of the {name} score")
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
    sections.append(predictive_section(request))
    return sections


def _lift_chart(table: pd.DataFrame, title: str) -> Markup:
    return charts.bar_chart(
        [
            (f"decile {int(d)}", float(v))
            for d, v in zip(table["decile"], table["lift"], strict=True)
        ],
        title=title,
        value_format="{:.2f}x",
    )


# Leads scored by the predictive model for the performance page (the most recent
# outcomes first): features for 5,000 leads take a few seconds on 2 cores.
PERFORMANCE_SAMPLE = 5_000


def predictive_section(request: Request) -> SectionView:
    """Lift by decile and calibration of the served predictive model.

    Computed here, on the store's leads with an outcome (won = converted), each
    lead's features taken just before its outcome was recorded, so the sale
    itself does not inform the prediction. The registry's own figures (measured
    on the training run's holdout) are shown next to them, labelled as such.
    """

    champ, why = champion(request)
    if champ is None:
        return SectionView("predictive", "Predictive model", "", notes=[why or ""])
    st = store(request)
    with st.read() as conn:
        decided = D.outcome_by_contact(conn)
    # Scoring thousands of leads takes about a second: the section is kept until
    # the champion or the recorded outcomes change (a new outcome, or a changed
    # one, moves the count or the latest outcome time).
    key = (
        st.url,
        champ.version,
        id(champ.predictor),
        len(decided),
        max((at for _, at in decided.values()), default=None),
    )
    with _SECTION_LOCK:
        cached = _SECTION_CACHE.get(key)
    if cached is not None:
        return cached
    section, complete = _predictive_section(request, champ, decided)
    if complete:  # a failure is shown once, not remembered
        with _SECTION_LOCK:
            if len(_SECTION_CACHE) >= 8:
                _SECTION_CACHE.clear()
            _SECTION_CACHE[key] = section
    return section


_SECTION_CACHE: dict[tuple[Any, ...], SectionView] = {}
_SECTION_LOCK = threading.Lock()


def _predictive_section(
    request: Request, champ: Any, decided: dict[str, tuple[bool, datetime]]
) -> tuple[SectionView, bool]:
    from leadscore.learn.metrics import brier, calibration, deciles, roc_pr
    from leadscore.service.predictive import predict

    ids = sorted(decided, key=lambda cid: decided[cid][1], reverse=True)
    with store(request).read() as conn:
        people, history = engine(request).load(conn, ids[:PERFORMANCE_SAMPLE])
    taken = [cid for cid in ids[:PERFORMANCE_SAMPLE] if cid in people]
    section = SectionView(
        "predictive",
        f"Predictive model {champ.version}: lift and calibration",
        f"Model {champ.version} from {champ.registry}, trained "
        f"{str(champ.entry.get('created_at', ''))[:10]}.",
        tables=[_registry_table(champ)],
    )
    if len(ids) > len(taken):
        section.notes.append(
            f"Scored on the {len(taken):,} most recent outcomes of {len(ids):,} "
            "(the page would be slow otherwise)."
        )
    y = np.array([int(decided[cid][0]) for cid in taken], dtype=int)
    if len(taken) < 10 or y.min() == y.max():
        section.notes.append(
            "Lift and calibration on this store need at least 10 leads with an outcome, some "
            "won and some lost; until then only the registry's holdout figures are shown."
        )
        return section, True
    moments = [decided[cid][1] - timedelta(microseconds=1) for cid in taken]
    try:
        preds = predict(champ, [(people[cid], history[cid]) for cid in taken], moments)
    except Exception as exc:
        log.exception("predictive model %s failed on the performance page", champ.version)
        section.notes.append(f"The predictive model could not score these leads: {exc}")
        return section, False
    proba = np.array([p.probability for p in preds], dtype=float)
    auc, pr = roc_pr(y, proba)
    table = deciles(y, proba, groups=min(10, len(taken) // 2))
    cal = calibration(y, proba, bins=min(10, len(taken) // 5))
    section.intro += (
        f" On the {len(taken):,} leads of this store with an outcome ({int(y.sum()):,} won), "
        f"each scored just before its outcome was recorded: ROC AUC {auc:.2f}, PR AUC {pr:.2f}, "
        f"Brier score {brier(y, proba):.3f}."
    )
    seen = _maybe_in_training(champ, [people[cid] for cid in taken])
    if seen:
        section.notes.append(
            f"{seen:,} of these leads reached the model's snapshot before the end of its "
            "training window, so they may be among the leads it learned from; figures on them "
            "flatter the model."
        )
    section.charts = [
        _lift_chart(table, f"Lift by decile of the predictive model {champ.version}"),
        charts.xy_chart(
            {
                "calibration": list(
                    zip(cal["predicted"].astype(float), cal["observed"].astype(float), strict=True)
                )
            },
            title=f"Calibration of the predictive model {champ.version}",
            x_label="predicted chance to convert",
            y_label="share won",
            diagonal=True,
        ),
    ]
    section.tables = [
        _table("Predictive model by decile (1 = highest probabilities)", table),
        _table("Calibration: mean predicted chance and share won per bin", cal),
        *section.tables,
    ]
    return section, True


def _registry_table(champ: Any) -> TableView:
    m = champ.entry.get("metrics") or {}
    hold = champ.entry.get("holdout") or {}
    window = champ.entry.get("training_window") or {}

    def num(key: str) -> str:
        value = m.get(key)
        return f"{value:.3f}" if isinstance(value, (int, float)) else "–"

    ci = m.get("roc_auc_ci") or []
    rows = [
        [
            "training window",
            f"{window.get('first_snapshot', '?')[:10]} to "
            f"{window.get('last_snapshot', '?')[:10]} ({window.get('leads', '?')} leads)",
        ],
        [
            "holdout leads",
            f"{m.get('leads', hold.get('leads', '?'))} ({m.get('conversions', '?')} converted)",
        ],
        [
            "ROC AUC",
            num("roc_auc") + (f" (95 % CI {ci[0]:.3f}-{ci[1]:.3f})" if len(ci) == 2 else ""),
        ],
        ["PR AUC", num("pr_auc")],
        ["top-decile lift", num("top_decile_lift")],
    ]
    return TableView(
        "From the registry: the training run's own holdout figures", ["figure", "value"], rows
    )


def _maybe_in_training(champ: Any, people: list[Any]) -> int:
    """How many leads had their snapshot (by the model's rule) inside its training window."""
    from leadscore.learn.features import TrainingSetError, snapshot_times

    settings = champ.predictor.bundle.settings or {}
    last = (champ.entry.get("training_window") or {}).get("last_snapshot")
    if not settings.get("snapshot") or not last:
        return 0
    frame = pd.DataFrame([dict(p.fields) for p in people])
    try:
        snaps = snapshot_times(
            frame, str(settings["snapshot"]), str(settings.get("created_column", "created_at"))
        )
    except (TrainingSetError, ValueError, KeyError):
        return 0
    return int((snaps.dropna() <= pd.Timestamp(last)).sum())


def _table(caption: str, frame: pd.DataFrame) -> TableView:
    from leadscore.analytics.render import formatted, headers

    cols = list(frame.columns)
    return TableView(caption, headers(cols), formatted(frame, cols))
