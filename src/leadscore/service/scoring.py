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

Scores follow the clock: each rescoring also stores the contact's next *due*
moment (:func:`leadscore.rules.due.next_due`: a window ends, an inactivity
threshold is crossed, decay moves the score past the tolerance or across a grade
or stage boundary), and :meth:`ScoringEngine.rescore_due` rescores the contacts
whose moment has passed, as of the service clock's now. Claims are leases written
in ``due_us`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several servers on
one database share the due contacts without rescoring one twice, and a server
that dies mid-way only delays its claimed contacts by the lease.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update

from leadscore.crm.outbox import enqueue_crm_sync
from leadscore.rules import Contact, Event, LeadScore, Scorer
from leadscore.rules.due import Freshness, due_from_matched
from leadscore.service import clock, lifecycle
from leadscore.service.clock import now_us
from leadscore.service.score_changes import ScoreChange, on_scores_saved
from leadscore.service.webhooks import enqueue_stage_change, enqueue_surging
from leadscore.spec import ScoringModel, parse_model
from leadscore.store import Store
from leadscore.store.tables import (
    accounts,
    contact_scores,
    contacts,
    events,
    models,
    score_snapshots,
    transitions,
)

if TYPE_CHECKING:
    from leadscore.service.predictive import ChampionWatcher, Prediction

log = logging.getLogger("leadscore.service")

CHUNK = 500
IN_LIMIT = 5_000  # bound parameter lists well below SQLite's 32,766 variables


PREDICTIVE_FACTORS = 3  # strongest factors each way stored with the probability


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


@dataclass(frozen=True)
class Scored:
    """One rescoring's outcome: the score, when it is next due, the prediction."""

    result: LeadScore
    due: datetime | None
    prediction: Prediction | None = None
    last_event_us: int | None = None  # the latest event seen (recycling quiet leads)


@dataclass(frozen=True)
class EngineOptions:
    """How the engine keeps scores fresh (from the service settings)."""

    freshness: Freshness = field(default_factory=Freshness)
    lease_seconds: float = 120.0  # a claimed due contact is retried after this
    score_changed_throttle: float = 60.0  # lead.score_changed: one per contact per this
    probability_refresh: float = 86_400.0  # recompute a stored probability at least this often


class ScoringEngine:
    """The active model, compiled once, and the rescoring of contacts."""

    def __init__(
        self,
        store: Store,
        options: EngineOptions | None = None,
        predictive: ChampionWatcher | None = None,
    ):
        self.store = store
        self.options = options or EngineOptions()
        self.predictive = predictive
        self.lock = threading.RLock()
        self._compiled: dict[int, ActiveModel] = {}
        self._active_version: int | None = None
        # Seconds between each clock-rescored contact's due moment and its save
        # (the scheduler's lateness; read by the benchmark and /v1/status).
        self.lateness: deque[float] = deque(maxlen=100_000)
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
            as_of = clock.now()  # before reading: a later event is not in this score
            with self.store.read() as conn:
                active = self.active(conn)
                if active is None:
                    return 0
                query = select(contacts.c.contact_id, contacts.c.dirty)
                if contact_ids is None and self.store.dialect == "postgresql":
                    seen = self._claim_dirty(limit)  # several servers may share the store
                elif contact_ids is None:
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
            results = self._score(active, people, history, as_of)
            with self.store.write() as conn:
                self._save(conn, active, results, cause="events", seen=seen)
            return len(results)

    def rescore_due(self, limit: int = CHUNK) -> int:
        """Rescore up to ``limit`` contacts whose due moment has passed; returns how many.

        As of the service clock's now, without any new event: windows that ended,
        inactivity thresholds crossed, decay refreshed. Dirty contacts are left to
        :meth:`rescore_dirty` (which computes their due moment anyway).
        """
        with self.lock:
            as_of = clock.now()
            now = dt_to_us(as_of)
            # ``dirty + 0``: an expression, so the planner walks the due_us index
            # instead of the dirty index (nearly every contact has dirty = 0): the
            # once-a-second poll stays an index probe at a million contacts.
            due = and_(contacts.c.due_us <= now, (contacts.c.dirty + 0) == 0)
            with self.store.read() as conn:  # the common case: nothing due, no write
                if conn.execute(select(contacts.c.contact_id).where(due).limit(1)).first() is None:
                    return 0
            claimed = self._claim(due, now, limit)
            if not claimed:
                return 0
            with self.store.read() as conn:
                active = self.active(conn)
                if active is None:
                    return 0
                people, history = self.load(conn, list(claimed))
            results = self._score(active, people, history, as_of)
            with self.store.write() as conn:
                self._save(conn, active, results, cause="clock", seen={})
            done = clock.now_us()
            self.lateness.extend((done - claimed[r.result.contact_id]) / 1e6 for r in results)
            return len(results)

    def _claim_dirty(self, limit: int) -> dict[str, int]:
        """PostgreSQL: lease dirty contacts to this server (``claimed_until_us``), skipping
        those another server holds; the lease ends when their score is saved."""
        now = clock.now_us()
        query = (
            select(contacts.c.contact_id, contacts.c.dirty)
            .where(
                contacts.c.dirty > 0,
                or_(contacts.c.claimed_until_us.is_(None), contacts.c.claimed_until_us < now),
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        lease_end = now + round(self.options.lease_seconds * 1_000_000)
        with self.store.write() as conn:
            seen = {r.contact_id: r.dirty for r in conn.execute(query)}
            for part in chunks(sorted(seen)):
                conn.execute(
                    update(contacts)
                    .where(contacts.c.contact_id.in_(part))
                    .values(claimed_until_us=lease_end)
                )
        return seen

    def _claim(self, due: Any, now: int, limit: int) -> dict[str, int]:
        """Lease due contacts to this server: their ``due_us`` moves to the lease's end,
        so no other server takes them meanwhile (and they come back if this one dies)."""
        lease_end = now + round(self.options.lease_seconds * 1_000_000)
        query = (
            select(contacts.c.contact_id, contacts.c.due_us)
            .where(due)
            .order_by(contacts.c.due_us)
            .limit(limit)
        )
        if self.store.dialect == "postgresql":
            # Rows another server is claiming right now are skipped, not waited for.
            query = query.with_for_update(skip_locked=True)
        with self.store.write() as conn:
            claimed = {r.contact_id: r.due_us for r in conn.execute(query)}
            for part in chunks(sorted(claimed)):
                conn.execute(
                    update(contacts).where(contacts.c.contact_id.in_(part)).values(due_us=lease_end)
                )
        return claimed

    def rescore_all(self, contact_ids: Sequence[str], cause: str) -> int:
        """Rescore the given contacts unconditionally (model activation)."""
        with self.lock:
            with self.store.read() as conn:
                active = self.active(conn)
                if active is None:
                    return 0
                as_of = clock.now()
                people, history = self.load(conn, contact_ids)
                seen = {
                    r.contact_id: r.dirty
                    for r in conn.execute(
                        select(contacts.c.contact_id, contacts.c.dirty).where(
                            contacts.c.contact_id.in_(list(people))
                        )
                    )
                }
            results = self._score(active, people, history, as_of)
            with self.store.write() as conn:
                self._save(conn, active, results, cause=cause, seen=seen)
            return len(results)

    def load_one(self, contact_id: str) -> tuple[Contact, list[Event]]:
        """One contact's profile and history, as the scorer sees them."""
        with self.store.read() as conn:
            people, history = self.load(conn, [contact_id])
        return people[contact_id], history[contact_id]

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
        self,
        active: ActiveModel,
        people: dict[str, Contact],
        history: dict[str, list[Event]],
        as_of: datetime,
    ) -> list[Scored]:
        scorer, freshness = active.scorer, self.options.freshness
        predictions = self._predict(people, history, as_of)
        out = []
        for cid, person in people.items():
            matched = scorer.match(history[cid], as_of)
            result = scorer.score_matched(person, matched, as_of)
            due = due_from_matched(scorer, person, matched, as_of, freshness, result)
            prediction = predictions.get(cid)
            if prediction is not None:  # probabilities drift with recency features too
                refresh = as_of + timedelta(seconds=self.options.probability_refresh)
                due = refresh if due is None else min(due, refresh)
            moments = [e.timestamp for e in history[cid] if e.timestamp <= as_of]
            last = dt_to_us(max(moments)) if moments else None
            out.append(Scored(result, due, prediction, last))
        return out

    def _predict(
        self, people: dict[str, Contact], history: dict[str, list[Event]], as_of: datetime
    ) -> dict[str, Prediction]:
        """The champion predictive model's probability and top factors, if one is served."""
        champion = self.predictive.current() if self.predictive is not None else None
        if champion is None or not people:
            return {}
        from leadscore.service.predictive import predict

        try:
            leads = [(person, history[cid]) for cid, person in people.items()]
            return {p.contact_id: p for p in predict(champion, leads, as_of, PREDICTIVE_FACTORS)}
        except Exception:  # a model that cannot score these leads must not stop rule scoring
            log.exception(
                "predictive model %s failed; probabilities not refreshed", champion.version
            )
            return {}

    def _save(
        self,
        conn: Connection,
        active: ActiveModel,
        scored: list[Scored],
        cause: str,
        seen: dict[str, int],
    ) -> None:
        if not scored:
            return
        ids = [s.result.contact_id for s in scored]
        # Re-read the lifecycle state inside the write transaction: a sales action
        # may have moved the lead since the events were read.
        state: dict[str, Any] = {}
        for part in chunks(sorted(ids)):  # one lock order for every writer (no deadlock)
            for row in conn.execute(
                select(
                    contacts.c.contact_id,
                    contacts.c.stage,
                    contacts.c.stage_us,
                    contacts.c.threshold_stage,
                    contacts.c.surging,
                    contacts.c.email,
                    contacts.c.owner,
                    contacts.c.account_id,
                    contacts.c.scores,
                    contacts.c.grade,
                    contacts.c.scored_as_of_us,
                    contacts.c.probability,
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
        scored = [s for s in scored if s.result.contact_id in state]  # erased meanwhile
        if cause == "clock":
            # Another rescoring (new events, another server) stored a later score
            # meanwhile: ours, from an older read, must not overwrite it.
            scored = [
                s
                for s in scored
                if (state[s.result.contact_id].scored_as_of_us or 0) <= dt_to_us(s.result.as_of)
            ]
        ids = [s.result.contact_id for s in scored]
        if not scored:
            return
        stamp = now_us()
        model_stages = list(active.model.lifecycle)
        contact_rows: list[dict[str, Any]] = []
        score_rows: list[dict[str, Any]] = []
        snapshot_rows: list[dict[str, Any]] = []
        transition_rows: list[dict[str, Any]] = []
        changes: list[ScoreChange] = []
        for item in scored:
            result = item.result
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
            due_us = dt_to_us(item.due) if item.due is not None else None
            recycle = lifecycle.recycle_at(
                active.model.recycle,
                new_stage,
                stamp if moves else old.stage_us,
                item.last_event_us,
                model_stages,
            )
            if recycle is not None and recycle <= as_of_us:  # quiet long enough: nurture
                assert active.model.recycle is not None
                reason = f"no activity for {active.model.recycle.after_days:g} days"
                transition_rows.append(
                    {
                        "contact_id": cid,
                        "from_stage": new_stage,
                        "to_stage": "lead",
                        "at_us": stamp,
                        "cause": "recycle",
                        "reason": reason,
                        "actor": None,
                        "model_version": active.version,
                    }
                )
                enqueue_stage_change(
                    conn,
                    event_contact(old),
                    new_stage,
                    "lead",
                    "recycle",
                    reason,
                    describe(result),
                    stamp,
                )
                new_stage = "lead"
                moves = [*moves, "lead"]
            elif recycle is not None:
                due_us = recycle if due_us is None else min(due_us, recycle)
            if result.surging and not old.surging:
                enqueue_surging(conn, event_contact(old), describe(result), stamp)
            prediction = item.prediction
            changed = (
                old.scores != scores
                or old.grade != result.grade
                or bool(old.surging) != result.surging
                or bool(moves)
                or (prediction is not None and old.probability != prediction.probability)
            )
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
                    "due_us": due_us,
                    **_prediction_columns(prediction),
                }
            )
            score_rows.extend(
                {"contact_id": cid, "score": n, "value": s.value, "grade": s.grade}
                for n, s in result.scores.items()
            )
            if cause != "clock" or changed:  # an hourly refresh that moved nothing: no row
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
            if changed:
                changes.append(
                    ScoreChange(
                        contact=event_contact(old),
                        before={
                            "scores": old.scores,
                            "grade": old.grade,
                            "stage": old.stage,
                            "surging": bool(old.surging),
                            "probability": old.probability,
                        },
                        score=describe(result),
                        stage=new_stage,
                        probability=_prediction_view(prediction),
                        model_version=active.version,
                        cause=cause,
                        stamp=stamp,
                    )
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
            "due_us": bindparam("due_us"),
            "claimed_until_us": None,
            "probability": bindparam("probability"),
            "probability_factors": bindparam(
                "probability_factors", type_=contacts.c.probability_factors.type
            ),
            "predictive_version": bindparam("predictive_version"),
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
        if snapshot_rows:
            conn.execute(insert(score_snapshots), snapshot_rows)
        if transition_rows:
            conn.execute(insert(transitions), transition_rows)
        # Outbound signals of the new scores, in this same transaction (outboxes).
        on_scores_saved(conn, changes, throttle_seconds=self.options.score_changed_throttle)
        if self.crm_connectors and changes:  # CRM write-back outbox, committed with the scores
            enqueue_crm_sync(conn, [c.contact["contact_id"] for c in changes], self.crm_connectors)
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


def _prediction_columns(prediction: Prediction | None) -> dict[str, Any]:
    """The stored probability: the new one, or none when no champion is served."""
    if prediction is None:
        return {"probability": None, "probability_factors": None, "predictive_version": None}
    return {
        "probability": prediction.probability,
        "probability_factors": _plain(
            {"positive": prediction.positive, "negative": prediction.negative}
        ),
        "predictive_version": prediction.version,
    }


def _prediction_view(prediction: Prediction | None) -> dict[str, Any] | None:
    if prediction is None:
        return None
    return {
        "value": prediction.probability,
        "model": prediction.version,
        "positive": _plain(prediction.positive),
        "negative": _plain(prediction.negative),
    }


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
