"""What happens when stored scores change: the one hook the save path calls.

:meth:`leadscore.service.scoring.ScoringEngine._save` calls
:func:`on_scores_saved` with every contact whose scores, grades, stage, surge or
probability changed, inside the transaction that stores them. Whatever leaves the
service because a score changed is written here as an outbox row in that same
transaction, so a committed change always gets its signals and a rolled-back one
never does.

Today: the ``lead.score_changed`` webhook. Throttled per contact and
subscription (at most one delivery per ``throttle_seconds``), coalesced to the
latest: while a contact's delivery waits for its turn, a newer change replaces
its payload instead of queueing another one. A partial unique index (one
not-yet-attempted ``lead.score_changed`` delivery per subscription and contact)
makes that hold with several servers writing at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from leadscore.store.tables import SCORE_CHANGED_PENDING, webhook_deliveries, webhooks

EVENT = "lead.score_changed"


@dataclass(frozen=True)
class ScoreChange:
    """One contact's new stored score, and what it replaced."""

    contact: dict[str, Any]  # contact_id, email, owner, account_id
    before: dict[str, Any]  # scores, grade, stage, surging, probability as stored before
    score: dict[str, Any]  # scores, grade, threshold stage, surging, as_of, top reasons
    stage: str  # the lifecycle stage after this save
    probability: dict[str, Any] | None  # value, model, positive/negative factors
    model_version: int
    cause: str  # events, clock, model_activated
    stamp: int  # when it was saved (us)

    def payload(self) -> dict[str, Any]:
        return {
            "contact": self.contact,
            "score": self.score,
            "stage": self.stage,
            "probability": self.probability,
            "model_version": self.model_version,
            "cause": self.cause,
            "previous": self.before,
        }


def on_scores_saved(
    conn: Connection, changes: Sequence[ScoreChange], *, throttle_seconds: float = 60.0
) -> None:
    """Called by the save path, in its transaction, with the contacts whose score changed."""
    if not changes:
        return
    enqueue_score_changed(conn, changes, throttle_seconds)


def enqueue_score_changed(
    conn: Connection, changes: Sequence[ScoreChange], throttle_seconds: float
) -> int:
    """One throttled, coalesced ``lead.score_changed`` delivery per subscription and contact."""
    hooks = [
        h.id
        for h in conn.execute(
            select(webhooks.c.id, webhooks.c.events).where(webhooks.c.active.is_(True))
        )
        if EVENT in h.events
    ]
    if not hooks:
        return 0
    latest = {c.contact["contact_id"]: c for c in changes}  # one contact saved twice: the last
    wd = webhook_deliveries
    last_turn: dict[tuple[int, str], int] = {}
    ids = sorted(latest)
    for start in range(0, len(ids), 5_000):
        part = ids[start : start + 5_000]
        for row in conn.execute(
            select(wd.c.webhook_id, wd.c.contact_id, func.max(wd.c.next_attempt_us))
            .where(wd.c.event == EVENT, wd.c.contact_id.in_(part), wd.c.webhook_id.in_(hooks))
            .group_by(wd.c.webhook_id, wd.c.contact_id)
        ):
            last_turn[(row[0], row[1])] = row[2]
    throttle = round(throttle_seconds * 1_000_000)
    rows = []
    for cid, change in latest.items():
        body = json.dumps(
            {"event": EVENT, "occurred_us": change.stamp, **change.payload()}, default=str
        )
        for hook in hooks:
            previous = last_turn.get((hook, cid))
            turn = change.stamp if previous is None else max(change.stamp, previous + throttle)
            rows.append(
                {
                    "webhook_id": hook,
                    "contact_id": cid,
                    "event": EVENT,
                    "payload": body,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_us": turn,
                    "created_us": change.stamp,
                }
            )
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(wd)
    # A delivery still waiting for its turn takes the newer payload and keeps its turn.
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=[wd.c.webhook_id, wd.c.contact_id],
            index_where=text(SCORE_CHANGED_PENDING),
            set_={"payload": insert.excluded.payload, "created_us": insert.excluded.created_us},
        ),
        rows,
    )
    return len(rows)
