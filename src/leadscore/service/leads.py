"""Reading leads: filtered lists, one lead in full, the grade matrix, sales actions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, insert, select, update

from leadscore.crm.outbox import enqueue_crm_sync
from leadscore.service import lifecycle
from leadscore.service.clock import now_us
from leadscore.service.contacts import contact_row, find_contact
from leadscore.service.errors import Conflict, Invalid
from leadscore.service.webhooks import enqueue_stage_change
from leadscore.store import Store
from leadscore.store.tables import (
    anonymous_visitors,
    contact_scores,
    contacts,
    events,
    outcomes,
    score_snapshots,
    transitions,
)

SORT_COLUMNS = {
    "updated": contacts.c.updated_us,
    "created": contacts.c.created_us,
    "stage_changed": contacts.c.stage_us,
    "contact_id": contacts.c.contact_id,
    "grade": contacts.c.grade,
    "probability": contacts.c.probability,  # the champion predictive model's, stored
}


def list_leads(
    store: Store,
    *,
    grade: list[str] | None = None,
    stage: list[str] | None = None,
    score: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    surging: bool | None = None,
    owner: str | None = None,
    account_id: str | None = None,
    sort: str = "-updated",
    limit: int = 50,
    offset: int = 0,
    min_probability: float | None = None,
    max_probability: float | None = None,
) -> dict[str, Any]:
    """Leads matching every filter given, sorted and paginated.

    ``sort`` is a column (``updated``, ``created``, ``stage_changed``, ``grade``,
    ``contact_id``) or a score name, with ``-`` for descending. A score range needs
    ``score`` (the score it applies to). Contacts not yet scored sort last.
    """
    if (min_score is not None or max_score is not None) and score is None:
        raise Invalid("min_score/max_score need score=<name> to say which score", "score")
    descending = sort.startswith("-")
    key = sort.lstrip("-+")
    query = select(contacts)
    conds: list[Any] = []
    if grade:
        conds.append(contacts.c.grade.in_(grade))
    if stage:
        conds.append(contacts.c.stage.in_(stage))
    if surging is not None:
        conds.append(contacts.c.surging.is_(surging))
    if owner is not None:
        conds.append(contacts.c.owner == owner)
    if account_id is not None:
        conds.append(contacts.c.account_id == account_id)
    if min_probability is not None:
        conds.append(contacts.c.probability >= min_probability)
    if max_probability is not None:
        conds.append(contacts.c.probability <= max_probability)
    if score is not None:
        ranged = contact_scores.alias("ranged")
        query = query.join(
            ranged, and_(ranged.c.contact_id == contacts.c.contact_id, ranged.c.score == score)
        )
        if min_score is not None:
            conds.append(ranged.c.value >= min_score)
        if max_score is not None:
            conds.append(ranged.c.value <= max_score)
    if key in SORT_COLUMNS:
        column: Any = SORT_COLUMNS[key]
    else:
        by = contact_scores.alias("by")
        query = query.outerjoin(
            by, and_(by.c.contact_id == contacts.c.contact_id, by.c.score == key)
        )
        column = by.c.value
    query = query.where(*conds)
    order = column.desc() if descending else column.asc()
    query = query.order_by(order.nulls_last(), contacts.c.contact_id).limit(limit).offset(offset)
    count = select(func.count()).select_from(
        query.limit(None).offset(None).order_by(None).subquery()
    )
    with store.read() as conn:
        if key not in SORT_COLUMNS:
            known = conn.execute(
                select(contact_scores.c.score).where(contact_scores.c.score == key).limit(1)
            ).first()
            if known is None and conn.execute(select(contact_scores.c.score).limit(1)).first():
                raise Invalid(
                    f"cannot sort by '{key}': not a score of the active model nor one of "
                    f"{', '.join(SORT_COLUMNS)}",
                    "sort",
                )
        total = conn.execute(count).scalar_one()
        rows = conn.execute(query).all()
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [contact_row(r) for r in rows],
    }


def get_lead(store: Store, contact_id: str, events_limit: int = 100) -> dict[str, Any]:
    """One lead in full: profile, current scores with contributions, recent events,
    score history, lifecycle transitions and outcomes."""
    with store.read() as conn:
        row = find_contact(conn, contact_id)
        recent = conn.execute(
            select(events)
            .where(events.c.contact_id == contact_id)
            .order_by(events.c.ts_us.desc(), events.c.event_id.desc())
            .limit(events_limit)
        ).all()
        n_events = conn.execute(
            select(func.count()).select_from(events).where(events.c.contact_id == contact_id)
        ).scalar_one()
        history = conn.execute(
            select(score_snapshots)
            .where(score_snapshots.c.contact_id == contact_id)
            .order_by(score_snapshots.c.id)
        ).all()
        moves = conn.execute(
            select(transitions)
            .where(transitions.c.contact_id == contact_id)
            .order_by(transitions.c.id)
        ).all()
        deals = conn.execute(
            select(outcomes).where(outcomes.c.contact_id == contact_id).order_by(outcomes.c.id)
        ).all()
        anon = conn.execute(
            select(anonymous_visitors.c.anonymous_id).where(
                anonymous_visitors.c.contact_id == contact_id
            )
        ).scalars()
        return {
            **contact_row(row),
            "explanation": row.explanation,
            "probability_factors": row.probability_factors,
            "anonymous_ids": sorted(anon),
            "event_count": n_events,
            "events": [event_row(e) for e in recent],
            "history": [snapshot_row(s) for s in history],
            "transitions": [transition_row(t) for t in moves],
            "outcomes": [dict(d._mapping) for d in deals],
        }


def current_score(store: Store, contact_id: str) -> dict[str, Any]:
    """The stored current score of one lead with its explanation: one indexed row read
    (this is the hot read path of CRMs)."""
    with store.read() as conn:
        row = find_contact(conn, contact_id)
    return {
        **contact_row(row),
        "explanation": row.explanation,
        "probability_factors": row.probability_factors,
    }


def event_row(e: Any) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "type": e.type,
        "ts_us": e.ts_us,
        "anonymous_id": e.anonymous_id,
        "properties": e.properties,
    }


def snapshot_row(s: Any) -> dict[str, Any]:
    return {
        "model_version": s.model_version,
        "as_of_us": s.as_of_us,
        "scores": s.scores,
        "grade": s.grade,
        "threshold_stage": s.threshold_stage,
        "surging": s.surging,
        "cause": s.cause,
    }


def transition_row(t: Any) -> dict[str, Any]:
    return {
        "from_stage": t.from_stage,
        "to_stage": t.to_stage,
        "at_us": t.at_us,
        "cause": t.cause,
        "reason": t.reason,
        "actor": t.actor,
        "model_version": t.model_version,
    }


def score_history(store: Store, contact_id: str, limit: int = 500) -> list[dict[str, Any]]:
    with store.read() as conn:
        find_contact(conn, contact_id)
        rows = conn.execute(
            select(score_snapshots)
            .where(score_snapshots.c.contact_id == contact_id)
            .order_by(score_snapshots.c.id.desc())
            .limit(limit)
        ).all()
    return [snapshot_row(s) for s in reversed(rows)]


def grade_matrix(store: Store) -> dict[str, int]:
    """How many leads hold each combined grade (``None`` for not yet graded)."""
    with store.read() as conn:
        rows = conn.execute(select(contacts.c.grade, func.count()).group_by(contacts.c.grade)).all()
    return {(g if g is not None else "ungraded"): int(n) for g, n in rows}


def stage_action(
    store: Store,
    contact_id: str,
    action: str,
    reason: str | None = None,
    value: float | None = None,
    currency: str | None = None,
    actor: str | None = None,
    crm_connectors: Sequence[str] = (),
) -> dict[str, Any]:
    """A sales action on a lead (see :mod:`leadscore.service.lifecycle`).

    ``crm_connectors`` (``ScoringEngine.crm_connectors``): the CRMs the new stage is
    written back to; no rescoring follows a stage change, so it is queued here.
    """
    if action not in lifecycle.ACTIONS:
        raise Invalid(f"action must be one of {', '.join(lifecycle.ACTIONS)}", "action")
    if action in ("reject", "lost") and not reason:
        raise Invalid(f"a '{action}' needs a reason", "reason")
    if value is not None and value < 0:
        raise Invalid("a deal value cannot be negative", "value")
    target, forbidden = lifecycle.ACTIONS[action]
    stamp = now_us()
    with store.write() as conn:
        row = find_contact(conn, contact_id)
        if row.stage in forbidden:
            raise Conflict(f"cannot '{action}' a lead in stage '{row.stage}'", "action")
        conn.execute(
            update(contacts)
            .where(contacts.c.contact_id == contact_id)
            .values(stage=target, stage_us=stamp, updated_us=stamp)
        )
        conn.execute(
            insert(transitions).values(
                contact_id=contact_id,
                from_stage=row.stage,
                to_stage=target,
                at_us=stamp,
                cause=f"sales:{action}",
                reason=reason,
                actor=actor,
                model_version=row.model_version,
            )
        )
        if action in ("opportunity", "won", "lost"):
            conn.execute(
                insert(outcomes).values(
                    contact_id=contact_id,
                    kind=action,
                    value=value,
                    currency=currency.upper() if currency else None,
                    reason=reason,
                    at_us=stamp,
                )
            )
        enqueue_stage_change(
            conn,
            {
                "contact_id": contact_id,
                "email": row.email,
                "owner": row.owner,
                "account_id": row.account_id,
            },
            row.stage,
            target,
            f"sales:{action}",
            reason,
            {"scores": row.scores, "grade": row.grade, "surging": row.surging},
            stamp,
        )
        enqueue_crm_sync(conn, [contact_id], crm_connectors)  # same transaction as the stage
        return contact_row(find_contact(conn, contact_id))
