"""Read-side service functions the dashboard needs and the service layer lacks.

They read through the store (``Store.read`` and the table definitions in
:mod:`leadscore.store.tables`) and the :class:`~leadscore.service.scoring.ScoringEngine`;
every write (sales actions, model activation) goes through the service layer.

The queue must answer in well under 300 ms with 100,000 leads, so it never sorts the
whole table: one grouped count per combined grade tells which grade buckets the
requested page falls into, and only those buckets are sorted by score (each bucket
is an index range on ``contacts.grade``). Wide columns (profile JSON, explanation)
are read for the page's rows only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from leadscore.rules import Contact, Event, LeadScore
from leadscore.service.contacts import get_account
from leadscore.service.errors import NotFound
from leadscore.service.leads import get_lead
from leadscore.service.scoring import ScoringEngine, chunks, us_to_dt
from leadscore.spec import ScoringModel
from leadscore.store import Store
from leadscore.store.tables import accounts, contacts, events, outcomes
from leadscore.web.explain import contributions_from_json
from leadscore.web.matrix import GradeMatrix, grade_matrix
from leadscore.web.queueindex import QueueIndex

UNASSIGNED = "(none)"
WON, LOST = "won", "lost"
# The queue is for leads sales can still work: by default it hides closed ones.
OPEN, ANY_STAGE = "", "all"
CLOSED_STAGES = ("customer", "lost")


# ------------------------------------------------------------------ ordering --


def grade_priority(model: ScoringModel | None) -> list[str]:
    """Every combined grade, best first: fit band first, then activity band (A4, A3, ... D1)."""
    if model is None or not model.combined_grade:
        return []
    labels = [""]
    for name in model.combined_grade:
        bands = list(model.scores[name].grades or {})
        labels = [prefix + band for prefix in labels for band in bands]
    return labels


def default_sort_score(model: ScoringModel | None) -> str | None:
    """Within a grade the queue sorts by the activity score (the grade's last part)."""
    if model is None:
        return None
    if model.combined_grade:
        return model.combined_grade[-1]
    return next(iter(model.scores))


# --------------------------------------------------------------------- queue --


@dataclass(frozen=True)
class QueueFilters:
    grade: str | None = None
    stage: str | None = None
    owner: str | None = None
    score: str | None = None
    min_score: float | None = None
    surging: bool = False
    # Order by the stored predictive probability instead of grade, then score.
    by_probability: bool = False
    min_probability: float | None = None  # a fraction, 0..1


@dataclass(frozen=True)
class QueueRow:
    contact_id: str
    name: str
    company: str | None
    grade: str | None
    scores: Mapping[str, float]
    stage: str
    owner: str | None
    surging: bool
    last_activity: datetime | None
    top_reason: str
    probability: float | None = None  # the champion predictive model's, stored


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    offset: int
    limit: int


def queue(
    store: Store,
    model: ScoringModel | None,
    filters: QueueFilters,
    *,
    offset: int = 0,
    limit: int = 50,
) -> QueuePage:
    """One page of leads in priority order: grade (best first), then score, then id.

    Matching and ordering run on the in-memory :class:`QueueIndex`; only the page's
    rows are read from the store.
    """
    stage = filters.stage
    match = QueueIndex.for_store(store).match(
        priority=grade_priority(model),
        sort_score=filters.score or default_sort_score(model),
        grade=filters.grade,
        stages=[stage] if stage not in (None, OPEN, ANY_STAGE) else None,
        exclude_stages=CLOSED_STAGES if stage in (None, OPEN) else (),
        owner=filters.owner if filters.owner != UNASSIGNED else None,
        unassigned=filters.owner == UNASSIGNED,
        surging=filters.surging,
        score=filters.score,
        min_score=filters.min_score,
        by_probability=filters.by_probability,
        min_probability=filters.min_probability,
        offset=offset,
        limit=limit,
    )
    with store.read() as conn:
        rows = _queue_rows(conn, match.ids)
    return QueuePage(rows, match.total, offset, limit)


def _queue_rows(conn: Any, ids: Sequence[str]) -> list[QueueRow]:
    if not ids:
        return []
    c = contacts.c
    last = (
        select(func.max(events.c.ts_us))
        .where(events.c.contact_id == c.contact_id)
        .scalar_subquery()
        .label("last_us")
    )
    found = {
        r.contact_id: r
        for r in conn.execute(
            select(
                c.contact_id,
                c.email,
                c.fields,
                c.grade,
                c.scores,
                c.stage,
                c.owner,
                c.surging,
                c.explanation,
                c.probability,
                accounts.c.name.label("account_name"),
                last,
            )
            .select_from(contacts.outerjoin(accounts))
            .where(c.contact_id.in_(list(ids)))
        )
    }
    out = []
    for cid in ids:
        r = found.get(cid)
        if r is None:
            continue
        fields = r.fields or {}
        out.append(
            QueueRow(
                contact_id=cid,
                name=display_name(cid, fields, r.email),
                company=fields.get("company") or r.account_name,
                grade=r.grade,
                scores={k: v["value"] for k, v in (r.scores or {}).items()},
                stage=r.stage,
                owner=r.owner,
                surging=bool(r.surging),
                last_activity=us_to_dt(r.last_us) if r.last_us is not None else None,
                top_reason=top_reason(r.explanation),
                probability=r.probability,
            )
        )
    return out


def display_name(contact_id: str, fields: Mapping[str, Any], email: str | None) -> str:
    name = " ".join(str(fields[k]) for k in ("first_name", "last_name") if fields.get(k))
    return name or fields.get("name") or email or contact_id


def top_reason(explanation: Mapping[str, Any] | None) -> str:
    """The largest contribution of a stored explanation, as "Viewed pricing +30"."""
    if not explanation:
        return ""
    parts = [
        c
        for c in explanation.get("contributions", [])
        if c.get("rule_id") not in ("floor", "ceiling")
    ]
    if not parts:
        return ""
    best = max(parts, key=lambda c: (abs(c["points"]), c["score"], c["rule_id"]))
    label = best.get("description") or best["rule_id"]
    return f"{label} {fmt_points(best['points'])}"


def fmt_points(points: float) -> str:
    """Signed points, one decimal; two for small non-zero values (a decayed +0.04 is not +0)."""
    if points != 0 and abs(points) < 0.005:
        return "+<0.01" if points > 0 else "-<0.01"
    if points != 0 and abs(points) < 0.95:
        return f"{points:+.2f}"
    text = f"{round(points, 1):+.1f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class QueueOptions:
    grades: list[str]
    stages: list[str]
    owners: list[str]
    scores: list[str]
    probability: bool = False  # some lead has a stored predictive probability


def queue_options(store: Store, model: ScoringModel | None) -> QueueOptions:
    """Values for the filter menus: the stages and owners present, the model's grades."""
    from leadscore.service.lifecycle import STAGES

    index = QueueIndex.for_store(store)
    stages, owners = index.present()
    order = {s: i for i, s in enumerate(STAGES)}
    return QueueOptions(
        grades=grade_priority(model),
        stages=sorted(set(stages) | {"lead", "mql", "sql"}, key=lambda s: (order.get(s, 99), s)),
        owners=sorted(owners),
        scores=list(model.scores) if model is not None else [],
        probability=index.any_probability(),
    )


# -------------------------------------------------------------------- matrix --


def outcome_by_contact(conn: Any) -> dict[str, tuple[bool, datetime]]:
    """Each contact's latest won/lost outcome: (True for won, when it was recorded)."""
    result: dict[str, tuple[bool, datetime]] = {}
    query = (
        select(outcomes.c.contact_id, outcomes.c.kind, outcomes.c.at_us)
        .where(outcomes.c.kind.in_([WON, LOST]))
        .order_by(outcomes.c.at_us, outcomes.c.id)
    )
    for cid, kind, at_us in conn.execute(query):
        result[cid] = (kind == WON, us_to_dt(at_us))
    return result


def matrix(store: Store, model: ScoringModel) -> GradeMatrix | None:
    """The grade matrix from the current grades (queue index) and recorded outcomes."""
    counts = QueueIndex.for_store(store).grade_counts()
    with store.read() as conn:
        latest = outcome_by_contact(conn)
        grades: dict[str, str | None] = {}
        for part in chunks(list(latest)):
            for cid, grade in conn.execute(
                select(contacts.c.contact_id, contacts.c.grade).where(
                    contacts.c.contact_id.in_(part)
                )
            ):
                grades[cid] = grade
    # An outcome of an erased contact has no grade to count.
    decided = [(grades[cid], won) for cid, (won, _) in latest.items() if cid in grades]
    return grade_matrix(model, counts, decided)


# ---------------------------------------------------------------------- lead --


@dataclass
class LeadView:
    contact_id: str
    name: str
    email: str | None
    title: str | None
    company: str | None
    owner: str | None
    stage: str
    grade: str | None
    surging: bool
    fields: list[tuple[str, Any]]
    account_id: str | None
    scored_as_of: datetime | None
    model_version: int | None
    explanation: Mapping[str, Any] | None
    # The champion predictive model's probability and factors stored at scored_as_of.
    probability: float | None = None
    probability_factors: Mapping[str, Any] | None = None
    predictive_version: str | None = None
    pending_rescoring: bool = False


@dataclass
class AccountView:
    account_id: str
    name: str | None
    domain: str | None
    fields: list[tuple[str, Any]]
    contacts: int


@dataclass
class Snapshot:
    at: datetime
    cause: str
    scores: dict[str, float]
    grade: str | None


@dataclass
class TransitionView:
    at: datetime
    from_stage: str | None
    to_stage: str
    cause: str
    reason: str | None
    actor: str | None


@dataclass
class OutcomeView:
    at: datetime
    kind: str
    value: float | None
    currency: str | None
    reason: str | None


@dataclass
class LeadDetail:
    lead: LeadView
    account: AccountView | None
    contact: Contact
    events: list[Event]
    history: list[Snapshot] = field(default_factory=list)
    transitions: list[TransitionView] = field(default_factory=list)
    outcomes: list[OutcomeView] = field(default_factory=list)


_HIDDEN_FIELDS = ("first_name", "last_name")


def lead_detail(store: Store, engine: ScoringEngine, contact_id: str) -> LeadDetail | None:
    """Everything the lead page shows: the service's view of the lead plus its history.

    ``get_lead`` gives the profile, stored score, snapshots, transitions and
    outcomes; the engine's loader gives the full event history as scorer inputs
    (the page re-derives each event's points from them).
    """
    try:
        row = get_lead(store, contact_id, events_limit=0)
    except NotFound:
        return None
    with store.read() as conn:
        people, history = engine.load(conn, [contact_id])
    if contact_id not in people:  # erased between the two reads
        return None
    account = None
    if row["account_id"] is not None:
        try:
            a = get_account(store, row["account_id"])
        except NotFound:
            a = None
        if a is not None:
            account = AccountView(
                a["account_id"],
                a["name"],
                a["domain"],
                sorted((a["fields"] or {}).items()),
                len(a["contacts"]),
            )
    snaps = [
        Snapshot(
            us_to_dt(s["as_of_us"]),
            s["cause"],
            {k: v["value"] for k, v in (s["scores"] or {}).items()},
            s["grade"],
        )
        for s in row["history"][-500:]
    ]
    moves = [
        TransitionView(
            us_to_dt(t["at_us"]),
            t["from_stage"],
            t["to_stage"],
            t["cause"],
            t["reason"],
            t["actor"],
        )
        for t in row["transitions"]
    ]
    results = [
        OutcomeView(us_to_dt(o["at_us"]), o["kind"], o["value"], o["currency"], o["reason"])
        for o in row["outcomes"]
    ]
    fields = row["fields"] or {}
    lead = LeadView(
        contact_id=contact_id,
        name=display_name(contact_id, fields, row["email"]),
        email=row["email"],
        title=fields.get("job_title") or fields.get("title"),
        company=fields.get("company") or (account.name if account else None),
        owner=row["owner"],
        stage=row["stage"],
        grade=row["grade"],
        surging=bool(row["surging"]),
        fields=[(k, v) for k, v in sorted(fields.items()) if k not in _HIDDEN_FIELDS],
        account_id=row["account_id"],
        scored_as_of=us_to_dt(row["scored_as_of_us"]) if row["scored_as_of_us"] else None,
        model_version=row["model_version"],
        explanation=row["explanation"],
        probability=row.get("probability"),
        probability_factors=row.get("probability_factors"),
        predictive_version=row.get("predictive_version"),
        pending_rescoring=bool(row.get("pending_rescoring")),
    )
    return LeadDetail(lead, account, people[contact_id], history[contact_id], snaps, moves, results)


def stored_score(detail: LeadDetail, engine: ScoringEngine) -> LeadScore | None:
    """The lead's current score, re-derived at the moment it was stored.

    Scoring again at ``scored_as_of`` with the same model gives the stored numbers
    exactly (the evaluator is pure) *and* the per-event terms the store does not
    keep. If the active model changed since, the stored explanation is used as is.
    """
    lead = detail.lead
    if lead.scored_as_of is None:
        return None
    active = engine.active()
    if active is not None and active.version == lead.model_version:
        return active.scorer.score(detail.contact, detail.events, lead.scored_as_of)
    return None


def stored_contributions(detail: LeadDetail) -> list[Any]:
    return contributions_from_json((detail.lead.explanation or {}).get("contributions", []))


# ------------------------------------------------------------------ what-if --


def history_for_whatif(
    store: Store, engine: ScoringEngine, limit: int | None
) -> tuple[list[tuple[Contact, list[Event]]], dict[str, tuple[bool, datetime]], int]:
    """Stored leads with their events and outcomes for a what-if run.

    With ``limit`` (and a larger store) the run takes up to half of it from the
    leads with the most recent outcomes, the only ones that say anything about
    conversion rates, and fills the rest with the most recently updated leads
    (those sales will see next). Returns the leads, the outcomes of the leads
    taken, and the number of leads in the store.
    """
    with store.read() as conn:
        total = int(conn.execute(select(func.count()).select_from(contacts)).scalar_one())
        known = outcome_by_contact(conn)
        if limit is None or total <= limit:
            ids = [r[0] for r in conn.execute(select(contacts.c.contact_id))]
        else:
            decided = sorted(known, key=lambda cid: known[cid][1], reverse=True)[: limit // 2]
            recent = [
                r[0]
                for r in conn.execute(
                    select(contacts.c.contact_id)
                    .order_by(contacts.c.updated_us.desc())
                    .limit(limit)
                )
            ]
            ids = list(dict.fromkeys([*decided, *recent]))[:limit]
        people, history = engine.load(conn, ids)
    taken = [(people[i], history[i]) for i in ids if i in people]
    return (
        taken,
        {c.contact_id: known[c.contact_id] for c, _ in taken if c.contact_id in known},
        total,
    )


def utc_now() -> datetime:
    from leadscore.service import clock

    return clock.now()


__all__ = [
    "UNASSIGNED",
    "LeadDetail",
    "QueueFilters",
    "QueuePage",
    "QueueRow",
    "grade_priority",
    "history_for_whatif",
    "lead_detail",
    "matrix",
    "queue",
    "queue_options",
]
