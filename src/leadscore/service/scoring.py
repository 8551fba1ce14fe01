"""Rescoring contacts in the store with the active model.

Ingest commits events and bumps ``contacts.dirty`` in the same transaction; this
module turns dirty contacts into fresh scores: it loads each contact's profile
(account fields underneath its own) and full event history, runs the online
:class:`~leadscore.rules.Scorer` as of now, and in one write transaction stores
the current score, a snapshot, lifecycle transitions and webhook deliveries
(an outbox: a crash can never lose a webhook for a committed crossing).

A contact is rescored once per pass however many events it received, and the
dirty marker is cleared only if no event arrived meanwhile (compare-and-clear),
so a rescoring never hides a newer event. One rescoring runs at a time per
process (``lock``) so transitions are never detected twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update

from leadscore.crm.outbox import enqueue_crm_sync
from leadscore.rules import Contact, Event, LeadScore, Scorer
from leadscore.service import lifecycle
from leadscore.service.webhooks import enqueue_stage_change, enqueue_surging
from leadscore.spec import ScoringModel, parse_model
from leadscore.store import Store, now_us
from leadscore.store.tables import (
    accounts,
    contact_scores,
    contacts,
    events,
    models,
    score_snapshots,
    transitions,
)

CHUNK = 500
IN_LIMIT = 5_000  # bound parameter lists well below SQLite's 32,766 variables


def us_to_dt(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def dt_to_us(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def chunks(items: Sequence[Any], size: int = IN_LIMIT) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class ActiveModel:
    version: int
    model: ScoringModel
    scorer: Scorer


class ScoringEngine:
    """The active model, compiled once, and the rescoring of contacts."""

    def __init__(self, store: Store):
        self.store = store
        self.lock = threading.RLock()
        self._compiled: dict[int, ActiveModel] = {}
        self._active_version: int | None = None
        # CRM connectors to queue rescored contacts for (empty: no CRM sync configured).
        self.crm_connectors: tuple[str, ...] = ()

    # -- the active model ----------------------------------------------------
    def active(self, conn: Connection | None = None) -> ActiveModel | None:
        """The active model (re-read each call: activation may come from elsewhere)."""
        query = select(models.c.version, models.c.yaml).where(models.c.active.is_(True))
        if conn is None:
            with self.store.read() as c:
                row = c.execute(query).first()
        else:
            row = conn.execute(query).first()
        if row is None:
            return None
        compiled = self._compiled.get(row.version)
        if compiled is None:
            model = parse_model(row.yaml, source=f"model v{row.version}")
            compiled = ActiveModel(row.version, model, Scorer(model))
            self._compiled = {row.version: compiled}  # keep only the newest compiled
        return compiled

    # -- loading -------------------------------------------------------------
    def load(
        self, conn: Connection, contact_ids: Sequence[str]
    ) -> tuple[dict[str, Contact], dict[str, list[Event]]]:
        """Profiles (account fields under contact fields) and full histories."""
        people: dict[str, Contact] = {}
        history: dict[str, list[Event]] = {cid: [] for cid in contact_ids}
        for part in chunks(list(contact_ids)):
            rows = conn.execute(
                select(
                    contacts.c.contact_id,
                    contacts.c.email,
                    contacts.c.fields,
                    accounts.c.fields.label("account_fields"),
                )
                .select_from(contacts.outerjoin(accounts))
                .where(contacts.c.contact_id.in_(part))
            ).all()
            for row in rows:
                fields: dict[str, Any] = dict(row.account_fields or {})
                fields.update(row.fields or {})
                if row.email is not None:
                    fields.setdefault("email", row.email)
                people[row.contact_id] = Contact(row.contact_id, fields)
            for ev in conn.execute(
                select(
                    events.c.event_id,
                    events.c.contact_id,
                    events.c.type,
                    events.c.ts_us,
                    events.c.properties,
                ).where(events.c.contact_id.in_(part))
            ):
                history[ev.contact_id].append(
                    Event(ev.event_id, ev.contact_id, ev.type, us_to_dt(ev.ts_us), ev.properties)
                )
        return people, history

    # -- rescoring -----------------------------------------------------------
    def rescore_dirty(self, limit: int = CHUNK, contact_ids: Sequence[str] | None = None) -> int:
        """Rescore up to ``limit`` dirty contacts (or exactly ``contact_ids``); returns how many."""
        with self.lock:
            with self.store.read() as conn:
                active = self.active(conn)
                if active is None:
                    return 0
                query = select(contacts.c.contact_id, contacts.c.dirty)
                if contact_ids is None:
                    query = query.where(contacts.c.dirty > 0).limit(limit)
                    seen = {r.contact_id: r.dirty for r in conn.execute(query)}
                else:
                    seen = {}
                    for part in chunks(list(contact_ids)):
                        seen.update(
                            {
                                r.contact_id: r.dirty
                                for r in conn.execute(query.where(contacts.c.contact_id.in_(part)))
                            }
                        )
                if not seen:
                    return 0
                people, history = self.load(conn, list(seen))
            results = self._score(active, people, history)
            with self.store.write() as conn:
                self._save(conn, active, results, cause="events", seen=seen)
            return len(results)

    def rescore_all(self, contact_ids: Sequence[str], cause: str) -> int:
        """Rescore the given contacts unconditionally (model activation)."""
        with self.lock:
            with self.store.read() as conn:
                active = self.active(conn)
                if active is None:
                    return 0
                people, history = self.load(conn, contact_ids)
                seen = {
                    r.contact_id: r.dirty
                    for r in conn.execute(
                        select(contacts.c.contact_id, contacts.c.dirty).where(
                            contacts.c.contact_id.in_(list(people))
                        )
                    )
                }
            results = self._score(active, people, history)
            with self.store.write() as conn:
                self._save(conn, active, results, cause=cause, seen=seen)
            return len(results)

    def score_at(self, contact_id: str, as_of: datetime) -> LeadScore | None:
        """Score one contact at any moment without storing anything."""
        with self.store.read() as conn:
            active = self.active(conn)
            if active is None:
                return None
            people, history = self.load(conn, [contact_id])
        if contact_id not in people:
            return None
        return active.scorer.score(people[contact_id], history[contact_id], as_of)

    def _score(
        self, active: ActiveModel, people: dict[str, Contact], history: dict[str, list[Event]]
    ) -> list[LeadScore]:
        as_of = datetime.now(UTC)
        return [active.scorer.score(person, history[cid], as_of) for cid, person in people.items()]

    def _save(
        self,
        conn: Connection,
        active: ActiveModel,
        results: list[LeadScore],
        cause: str,
        seen: dict[str, int],
    ) -> None:
        if not results:
            return
        ids = [r.contact_id for r in results]
        # Re-read the lifecycle state inside the write transaction: a sales action
        # may have moved the lead since the events were read.
        state: dict[str, Any] = {}
        for part in chunks(sorted(ids)):  # one lock order for every writer (no deadlock)
            for row in conn.execute(
                select(
                    contacts.c.contact_id,
                    contacts.c.stage,
                    contacts.c.threshold_stage,
                    contacts.c.surging,
                    contacts.c.email,
                    contacts.c.owner,
                    contacts.c.account_id,
                )
                .where(contacts.c.contact_id.in_(part))
                .order_by(contacts.c.contact_id)
                # PostgreSQL: lock the rows so two rescorings of one contact (the
                # scorer process and a wait=true request) cannot both see the
                # old stage and record the same crossing twice. SQLite's
                # BEGIN IMMEDIATE already serialises writers.
                .with_for_update()
            ):
                state[row.contact_id] = row
        results = [r for r in results if r.contact_id in state]  # erased meanwhile
        ids = [r.contact_id for r in results]
        if not results:
            return
        stamp = now_us()
        model_stages = list(active.model.lifecycle)
        contact_rows: list[dict[str, Any]] = []
        score_rows: list[dict[str, Any]] = []
        snapshot_rows: list[dict[str, Any]] = []
        transition_rows: list[dict[str, Any]] = []
        for result in results:
            cid = result.contact_id
            old = state[cid]
            as_of_us = dt_to_us(result.as_of)
            scores = {n: {"value": s.value, "grade": s.grade} for n, s in result.scores.items()}
            new_stage = old.stage
            moves = lifecycle.threshold_moves(
                old.stage, old.threshold_stage, result.stage, model_stages
            )
            for move in moves:
                transition_rows.append(
                    {
                        "contact_id": cid,
                        "from_stage": new_stage,
                        "to_stage": move,
                        "at_us": stamp,
                        "cause": "threshold",
                        "reason": f"scores crossed the '{move}' threshold",
                        "actor": None,
                        "model_version": active.version,
                    }
                )
                enqueue_stage_change(
                    conn,
                    event_contact(old),
                    new_stage,
                    move,
                    "threshold",
                    None,
                    describe(result),
                    stamp,
                )
                new_stage = move
            if result.surging and not old.surging:
                enqueue_surging(conn, event_contact(old), describe(result), stamp)
            contact_rows.append(
                {
                    "cid": cid,
                    "stage": new_stage,
                    "stage_us_new": stamp if moves else None,
                    "threshold_stage": result.stage,
                    "grade": result.grade,
                    "surging": result.surging,
                    "scores": scores,
                    "explanation": explanation(result),
                    "model_version": active.version,
                    "scored_as_of_us": as_of_us,
                    "updated_us": stamp,
                }
            )
            score_rows.extend(
                {"contact_id": cid, "score": n, "value": s.value, "grade": s.grade}
                for n, s in result.scores.items()
            )
            snapshot_rows.append(
                {
                    "contact_id": cid,
                    "model_version": active.version,
                    "as_of_us": as_of_us,
                    "scores": scores,
                    "grade": result.grade,
                    "threshold_stage": result.stage,
                    "surging": result.surging,
                    "cause": cause,
                }
            )
        moved = [r for r in contact_rows if r["stage_us_new"] is not None]
        still = [r for r in contact_rows if r["stage_us_new"] is None]
        base = update(contacts).where(contacts.c.contact_id == bindparam("cid"))
        values = {
            "stage": bindparam("stage"),
            "threshold_stage": bindparam("threshold_stage"),
            "grade": bindparam("grade"),
            "surging": bindparam("surging"),
            "scores": bindparam("scores", type_=contacts.c.scores.type),
            "explanation": bindparam("explanation", type_=contacts.c.explanation.type),
            "model_version": bindparam("model_version"),
            "scored_as_of_us": bindparam("scored_as_of_us"),
            "updated_us": bindparam("updated_us"),
        }
        if still:
            conn.execute(base.values(**values), [_drop(r, "stage_us_new") for r in still])
        if moved:
            conn.execute(
                base.values(**values, stage_us=bindparam("stage_us_new")),
                moved,
            )
        for part in chunks(ids):
            conn.execute(delete(contact_scores).where(contact_scores.c.contact_id.in_(part)))
        if score_rows:
            conn.execute(insert(contact_scores), score_rows)
        conn.execute(insert(score_snapshots), snapshot_rows)
        if transition_rows:
            conn.execute(insert(transitions), transition_rows)
        if self.crm_connectors:  # CRM write-back outbox, committed with the scores
            enqueue_crm_sync(conn, ids, self.crm_connectors)
        # Compare-and-clear: events committed after we read keep the contact dirty.
        clear = [{"cid": cid, "d": seen[cid]} for cid in ids if seen.get(cid, 0) > 0]
        if clear:
            conn.execute(
                update(contacts)
                .where(
                    and_(
                        contacts.c.contact_id == bindparam("cid"),
                        contacts.c.dirty == bindparam("d"),
                    )
                )
                .values(dirty=0),
                clear,
            )

    def pending(self) -> int:
        """Contacts whose stored score does not yet reflect their latest events."""
        from sqlalchemy import func

        with self.store.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(contacts).where(contacts.c.dirty > 0)
                ).scalar_one()
            )


def _drop(row: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != key}


def event_contact(row: Any) -> dict[str, Any]:
    return {
        "contact_id": row.contact_id,
        "email": row.email,
        "owner": row.owner,
        "account_id": row.account_id,
    }


def describe(result: LeadScore) -> dict[str, Any]:
    """The score part of a webhook payload: values, grades, stage and top reasons."""
    return {
        "scores": {n: {"value": s.value, "grade": s.grade} for n, s in result.scores.items()},
        "grade": result.grade,
        "threshold_stage": result.stage,
        "surging": result.surging,
        "as_of": result.as_of.isoformat(),
        "top_reasons": [
            {"score": c.score, "rule_id": c.rule_id, "label": c.label, "points": c.points}
            for c in result.top_reasons()
        ],
    }


def _plain(value: Any) -> Any:
    """Evidence as JSON-ready data (tuples become lists) without a JSON round trip."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def explanation(result: LeadScore) -> dict[str, Any]:
    return {
        "surge_points": result.surge_points,
        "contributions": [
            {
                "score": c.score,
                "rule_id": c.rule_id,
                "description": c.description,
                "points": c.points,
                "evidence": _plain(c.evidence),
            }
            for c in result.contributions
        ],
        "top_reasons": [c.rule_id for c in result.top_reasons()],
    }
