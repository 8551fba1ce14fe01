"""The dashboard's pages: server-rendered HTML over the service layer.

Routes stay thin: they read the request, call a service function (the service
layer's, or :mod:`leadscore.web.data` for dashboard-only reads), and render a
template. Every asset is served from the package (no CDN: the dashboard works
offline). Forms are plain URL-encoded POSTs parsed here, so the dashboard needs no
multipart parser, and every change answers with a redirect (POST/redirect/GET), so
a reload never repeats an action.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from leadscore.service import clock
from leadscore.spec import ModelError, ScoringModel, parse_model
from leadscore.web import auth, backend, charts
from leadscore.web import data as D
from leadscore.web.explain import evidence_text, score_curve, timeline
from leadscore.web.queueindex import QueueIndex
from leadscore.web.whatif import what_if

PREFIX = "/dashboard"
router = APIRouter(prefix=PREFIX, include_in_schema=False)

NAV = (
    ("queue", "Queue"),
    ("matrix", "Grade matrix"),
    ("model", "Model"),
    ("funnel", "Funnel"),
    ("performance", "Performance"),
    ("crm", "CRM sync"),  # leadscore.web.crm
)
PAGE_SIZE = 50
MAX_FORM_BYTES = 1_000_000  # a scoring model is a few kB; refuse anything absurd
TIMELINE_ROWS = 200  # newest events listed on the lead page; all of them still count
# Leads scored twice per what-if run (see data.history_for_whatif): about 10 s on
# the 2-core benchmark machine under load, an acceptable wait for an explicit check.
WHATIF_LIMIT = 10_000

DONE = {
    "accept": "Lead accepted: it is now a sales-qualified lead.",
    "reject": "Lead rejected and sent back to nurture.",
    "won": "Marked as won.",
    "lost": "Marked as lost.",
    "activated": "The edited model is now active; leads are being rescored with it.",
}


# ------------------------------------------------------------------ helpers --


def install(app: FastAPI) -> None:
    """Mount the dashboard on the service's app (the one line in ``create_app``)."""
    if not hasattr(app.state, "dashboard_secret"):
        # Sessions are signed with a per-process secret unless one is configured:
        # a restart then signs everyone out, which is the safe default.
        configured = backend.setting(app, "session_secret")
        app.state.dashboard_secret = (
            hashlib.sha256(configured.encode()).digest() if configured else auth.new_secret()
        )
    app.include_router(router)


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("leadscore.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        fmt_points=D.fmt_points,
        fmt_score=fmt_score,
        pct=pct,
        chance=chance,
        heat=heat,
        ago=ago,
    )
    return env


@lru_cache(maxsize=8)
def _asset_version(name: str) -> str:
    # Fingerprint in the URL so browsers cache assets hard yet see every change.
    body = resources.files("leadscore.web").joinpath("static", name).read_bytes()
    return hashlib.sha256(body).hexdigest()[:10]


def fmt_score(value: float | None) -> str:
    if value is None:
        return "–"
    rounded = round(value, 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def pct(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.0f} %" if value * 100 >= 10 or value == 0 else f"{value * 100:.1f} %"


def chance(probability: float) -> str:
    """A probability as a percentage with one decimal; never "100.0 %" or "0.0 %",
    which a calibrated model does not mean."""
    if probability >= 0.9995:
        return "> 99.9 %"
    if probability < 0.0005:
        return "< 0.1 %"
    return f"{probability * 100:.1f} %"


def heat(count: int, top: int) -> str:
    """Cell background: more leads, deeper blue (kept light enough for dark text)."""
    if top <= 0 or count <= 0:
        return "#ffffff"
    share = count / top
    return f"rgba(31, 95, 191, {0.08 + 0.37 * share:.2f})"


def ago(moment: datetime) -> str:
    seconds = (clock.now() - moment).total_seconds()
    if seconds < 90:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return moment.strftime("%Y-%m-%d")


@dataclass
class Page:
    """Per-request rendering context shared by every template."""

    request: Request
    viewer: auth.Viewer | None
    secret: bytes

    def url(self, route: str, /, **params: Any) -> str:
        return str(self.request.app.url_path_for(route, **params))

    def static(self, file: str) -> str:
        return f"{self.url('asset', name=file)}?v={_asset_version(file)}"

    @property
    def csrf(self) -> str:
        if self.viewer is None or not self.viewer.via_cookie:
            return ""
        return auth.csrf_token(self.secret, self.viewer.digest)

    def render(self, template: str, section: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        base = {
            "url": self.url,
            "static": self.static,
            "signed_in": self.viewer is not None,
            "nav": NAV,
            "section": section,
            "csrf": self.csrf,
            "flash": DONE.get(self.request.query_params.get("done", "")),
            "title": dict(NAV).get(section, "leadscore"),
        }
        base.update(ctx)
        html = _env().get_template(template).render(**base)
        return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)


# The dashboard loads nothing from elsewhere; the policy makes the browser refuse
# to, should a template ever slip.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    pass


class MissingScope(Exception):
    def __init__(self, page: Page, scope: str):
        super().__init__(scope)
        self.page, self.scope = page, scope


def _page(request: Request, scope: str = "read") -> Page:
    secret: bytes = request.app.state.dashboard_secret
    who = auth.viewer(request, backend.store(request), secret)
    if who is None or not who.key.allows("read"):
        raise SignInRequired
    QueueIndex.for_store(backend.store(request)).warm()
    page = Page(request, who, secret)
    if not who.key.allows(scope):
        raise MissingScope(page, scope)
    return page


def _to_signin(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = request.app.url_path_for("signin")
    return RedirectResponse(f"{url}?{urlencode({'next': target})}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    """Parse a URL-encoded form body (the only kind the dashboard's forms send)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    # As for bytes that are not UTF-8: a NUL (%00), which no store can hold, is
    # replaced rather than failing the whole form.
    return {k.replace("\x00", "\ufffd"): v[-1].replace("\x00", "\ufffd") for k, v in parsed.items()}


def _check_csrf(page: Page, form: Mapping[str, str]) -> bool:
    if page.viewer is None or not page.viewer.via_cookie:
        return True  # header-authenticated: a browser never sends that on its own
    return secrets.compare_digest(form.get("csrf", ""), page.csrf)


def _forbidden(page: Page, message: str) -> HTMLResponse:
    return page.render("error.html", "", status=403, message=message)


# ------------------------------------------------------------------- assets --

_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@router.get("/static/{name}", name="asset")
def asset(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or name.startswith(".") or suffix not in _TYPES:
        return Response("not found", status_code=404)
    item = resources.files("leadscore.web").joinpath("static", name)
    if not item.is_file():
        return Response("not found", status_code=404)
    return Response(
        item.read_bytes(),
        media_type=_TYPES[suffix],
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


# ------------------------------------------------------------------ sign in --


@router.get("/signin", name="signin")
def signin_form(request: Request, next: str = "") -> Response:
    # Someone is about to use the queue: build its index while they type the key.
    QueueIndex.for_store(backend.store(request)).warm()
    page = Page(request, None, request.app.state.dashboard_secret)
    return page.render("signin.html", "", next_url=_safe_next(request, next), error=None)


@router.post("/signin")
async def signin(request: Request) -> Response:
    # Form parsing is async; the key lookup (and every handler's store and scoring
    # work below) runs in the thread pool so it never blocks the event loop.
    form = await _form(request)
    return await run_in_threadpool(_signin, request, form)


def _signin(request: Request, form: dict[str, str]) -> Response:
    store = backend.store(request)
    secret: bytes = request.app.state.dashboard_secret
    found = auth.key_by_token(store, form.get("api_key", "").strip())
    target = _safe_next(request, form.get("next", ""))
    if found is None or not found[0].allows("read"):
        page = Page(request, None, secret)
        return page.render(
            "signin.html",
            "",
            status=401,
            next_url=target,
            error="That key is not valid, revoked, or lacks the 'read' scope.",
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        auth.COOKIE,
        auth.session_cookie(secret, found[1]),
        max_age=auth.SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=PREFIX,
    )
    return response


@router.post("/signout", name="signout")
async def signout(request: Request) -> Response:
    response = RedirectResponse(request.app.url_path_for("signin"), status_code=303)
    response.delete_cookie(auth.COOKIE, path=PREFIX)
    return response


def _safe_next(request: Request, target: str) -> str:
    # Only paths inside the dashboard: an open redirect would let a link sign
    # someone in and then send them to another site.
    if target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return str(request.app.url_path_for("queue"))


# -------------------------------------------------------------------- queue --


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is None or math.isfinite(value) else None


def _chance(text: str | None) -> float | None:
    """A "chance at least" filter typed as a percentage, as a fraction."""
    value = _float(text)
    return None if value is None else min(max(value, 0.0), 100.0) / 100.0


@router.get("/", name="queue")
def queue_page(request: Request) -> Response:
    try:
        page = _page(request)
    except SignInRequired:
        return _to_signin(request)
    store, active = backend.store(request), backend.active_model(request)
    model = active.model if active else None
    q = request.query_params
    options = D.queue_options(store, model)
    score = q.get("score") or D.default_sort_score(model)
    filters = D.QueueFilters(
        grade=q.get("grade") or None,
        stage=q.get("stage") or None,
        owner=q.get("owner") or None,
        score=score if score in options.scores else None,
        min_score=_float(q.get("min_score")),
        surging=q.get("surging") in ("1", "on", "true"),
        # Only offered (and honoured) when some lead has a stored probability.
        by_probability=options.probability and q.get("sort") == "probability",
        min_probability=_chance(q.get("min_chance")) if options.probability else None,
    )
    try:
        offset = max(0, int(q.get("offset", "0")))
    except ValueError:
        offset = 0
    result = D.queue(store, model, filters, offset=offset, limit=PAGE_SIZE)

    def link(new_offset: int) -> str:
        params = {k: v for k, v in q.items() if k != "offset" and v}
        params["offset"] = str(new_offset)
        return f"{page.url('queue')}?{urlencode(params)}"

    view = {
        "rows": result.rows,
        "total": result.total,
        "first": offset + 1 if result.rows else 0,
        "last": offset + len(result.rows),
        "prev_url": link(max(0, offset - PAGE_SIZE)) if offset > 0 else None,
        "next_url": link(offset + PAGE_SIZE) if offset + PAGE_SIZE < result.total else None,
    }
    return page.render(
        "queue.html", "queue", page=view, f=filters, options=options, sort_score=filters.score
    )


# ------------------------------------------------------------------- matrix --


@router.get("/matrix", name="matrix")
def matrix_page(request: Request) -> Response:
    try:
        page = _page(request)
    except SignInRequired:
        return _to_signin(request)
    active = backend.active_model(request)
    grid = D.matrix(backend.store(request), active.model) if active else None
    return page.render("matrix.html", "matrix", matrix=grid)


# --------------------------------------------------------------------- lead --


@dataclass
class ScoreView:
    name: str
    value: float
    grade: str | None
    contributions: list[Any]


@dataclass
class ContributionView:
    rule_id: str
    label: str
    points: float
    evidence_text: str


@router.get("/leads/{contact_id}", name="lead")
def lead_page(request: Request, contact_id: str) -> Response:
    try:
        page = _page(request)
    except SignInRequired:
        return _to_signin(request)
    store, engine = backend.store(request), backend.engine(request)
    detail = D.lead_detail(store, engine, contact_id)
    if detail is None:
        return page.render("error.html", "queue", status=404, message=f"No lead '{contact_id}'.")
    active = backend.active_model(request)
    score = D.stored_score(detail, engine)
    breakdown: list[ScoreView] = []
    if score is not None:
        for name, result in score.scores.items():
            parts = [
                ContributionView(c.rule_id, c.label, c.points, evidence_text(c))
                for c in result.contributions
            ]
            breakdown.append(ScoreView(name, result.value, result.grade, parts))
    elif detail.lead.explanation is not None:
        # Scored by an older model version: show what was stored.
        stored = D.stored_contributions(detail)
        values = {}
        for snap in detail.history[-1:]:
            values = snap.scores
        for name in dict.fromkeys(c.score for c in stored) | dict.fromkeys(values):
            parts = [
                ContributionView(c.rule_id, c.label, c.points, evidence_text(c))
                for c in stored
                if c.score == name
            ]
            breakdown.append(
                ScoreView(name, values.get(name, sum(p.points for p in parts)), None, parts)
            )
    items, capped = timeline(active.model if active else None, score, detail.events)
    history_chart, legend, names = _history(detail, active)
    return page.render(
        "lead.html",
        "queue",
        title=detail.lead.name,
        lead=detail.lead,
        account=detail.account,
        breakdown=breakdown,
        score_as_of=detail.lead.scored_as_of,
        predictive=backend.predictive_for(request, detail),
        timeline=items[:TIMELINE_ROWS],
        older_events=max(0, len(items) - TIMELINE_ROWS),
        capped_rules=[(c.rule_id, c.earned, c.counted) for c in capped],
        history=detail.history,
        history_chart=history_chart,
        history_legend=legend,
        history_scores=names,
        transitions=detail.transitions,
        outcomes=detail.outcomes,
    )


def _history(detail: D.LeadDetail, active: Any) -> tuple[Markup, list[tuple[str, str]], list[str]]:
    """The score-over-time chart (re-derived with the active model) and the legend."""
    if active is None:
        return Markup(""), [], []
    until = detail.lead.scored_as_of or datetime.now(UTC)
    curve = score_curve(active.scorer, detail.contact, detail.events, until)
    names = list(curve)
    chart = charts.line_chart(curve, title=f"Scores of {detail.lead.name} over time (active model)")
    legend = [(n, charts.PALETTE[i % len(charts.PALETTE)]) for i, n in enumerate(names)]
    return chart, legend, list(dict.fromkeys(n for s in detail.history for n in s.scores))


@router.post("/leads/{contact_id}/action", name="lead_action")
async def lead_action(request: Request, contact_id: str) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_lead_action, request, contact_id, form)


def _lead_action(request: Request, contact_id: str, form: dict[str, str]) -> Response:
    try:
        page = _page(request, scope=backend.SALES_SCOPE)
    except SignInRequired:
        return _to_signin(request)
    except MissingScope as exc:
        return _forbidden(exc.page, f"Sales actions need a key with the '{exc.scope}' scope.")
    if not _check_csrf(page, form):
        return _forbidden(page, "The form expired; reload the page and try again.")
    action = form.get("action", "")
    try:
        backend.sales_action(
            request,
            contact_id,
            action,
            reason=form.get("reason", "").strip() or None,
            value=_float(form.get("value")),
            actor=page.viewer.name if page.viewer else None,
        )
    except backend.ActionRefused as exc:
        return page.render("error.html", "queue", status=exc.status, message=str(exc))
    target = page.url("lead", contact_id=contact_id)
    return RedirectResponse(f"{target}?{urlencode({'done': action})}", status_code=303)


# -------------------------------------------------------------------- model --


@dataclass
class ProblemView:
    where: str
    message: str
    line: int | None


def _model_page(
    page: Page,
    request: Request,
    *,
    edited: str | None = None,
    problems: list[ProblemView] | None = None,
    valid: dict[str, int] | None = None,
    report: Any = None,
    status: int = 200,
) -> HTMLResponse:
    active = backend.active_model_record(request)
    extra: dict[str, Any] = {"whatif_as_of": "", "whatif_sampled": False, "whatif_total": 0}
    if report is not None:
        report, extra = report
    return page.render(
        "model.html",
        "model",
        status=status,
        active=active,
        versions=backend.model_versions(request),
        edited_yaml=edited if edited is not None else (active.yaml if active else ""),
        problems=problems or [],
        valid=valid,
        report=report,
        **extra,
    )


@router.get("/model", name="model")
def model_page(request: Request) -> Response:
    try:
        page = _page(request)
    except SignInRequired:
        return _to_signin(request)
    return _model_page(page, request)


def _validate(text: str) -> tuple[ScoringModel | None, list[ProblemView]]:
    try:
        return parse_model(text, source="edited model"), []
    except ModelError as exc:
        return None, [ProblemView(p.where, p.message, p.line) for p in exc.problems]


@router.post("/model")
async def model_submit(request: Request) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_model_submit, request, form)


def _model_submit(request: Request, form: dict[str, str]) -> Response:
    try:
        page = _page(request)
    except SignInRequired:
        return _to_signin(request)
    if not _check_csrf(page, form):
        return _forbidden(page, "The form expired; reload the page and try again.")
    # Browsers submit a textarea with CRLF line ends (HTML spec); store the model
    # as the marketer's file would be, with plain newlines.
    text = form.get("yaml", "").replace("\r\n", "\n")
    model, problems = _validate(text)
    if model is None:
        return _model_page(page, request, edited=text, problems=problems, status=422)
    summary = {"scores": len(model.scores), "rules": len(model.rules())}
    action = form.get("do", "validate")
    if action == "whatif":
        active = backend.active_model(request)
        if active is None:
            return _model_page(page, request, edited=text, valid=summary)
        leads, outcomes, total = D.history_for_whatif(
            backend.store(request), backend.engine(request), WHATIF_LIMIT
        )
        now = clock.now()
        moments = {cid: at - timedelta(microseconds=1) for cid, (_, at) in outcomes.items()}
        report = what_if(
            active.model,
            model,
            leads,
            lambda cid: moments.get(cid, now),
            {cid: won for cid, (won, _) in outcomes.items()},
        )
        extra = {
            "whatif_as_of": f"{now:%Y-%m-%d %H:%M} UTC (leads with an outcome: just before it)",
            "whatif_sampled": report.leads < total,
            "whatif_total": total,
        }
        return _model_page(page, request, edited=text, valid=summary, report=(report, extra))
    if action == "activate":
        if not page.viewer or not page.viewer.key.allows("admin"):
            return _forbidden(page, "Activating a model needs a key with the 'admin' scope.")
        try:
            backend.activate_model(request, text, actor=page.viewer.name)
        except backend.ActionRefused as exc:
            return page.render("error.html", "model", status=exc.status, message=str(exc))
        return RedirectResponse(f"{page.url('model')}?done=activated", status_code=303)
    return _model_page(page, request, edited=text, valid=summary)


# ------------------------------------------------------- funnel, performance --


@router.get("/funnel", name="funnel")
def funnel_page(request: Request) -> Response:
    try:
        page = _page(request)
    except SignInRequired:
        return _to_signin(request)
    period = request.query_params.get("period", "month")
    if period not in ("week", "month", "quarter"):
        period = "month"
    sections = backend.funnel_sections(request, period)
    return page.render(
        "report.html",
        "funnel",
        title="Funnel and lead velocity",
        sections=sections,
        period=period,
        periods=True,
    )


@router.get("/performance", name="performance")
def performance_page(request: Request) -> Response:
    try:
        page = _page(request)
    except SignInRequired:
        return _to_signin(request)
    sections = backend.performance_sections(request)
    return page.render(
        "report.html",
        "performance",
        title="How well the scores predict",
        sections=sections,
        period="",
        periods=False,
    )
