"""Helpers of the CRM contract tests: configs with fast retries, seeded contacts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fakecrm import FakeHubSpot, FakeSalesforce
from sqlalchemy import select, update

from leadscore.crm.config import CrmConfig, parse_config
from leadscore.crm.outbox import enqueue_crm_sync
from leadscore.store import Store, now_us
from leadscore.store.tables import contacts, crm_outbox

# The fake CRMs listen on loopback, which the connectors refuse unless told otherwise.
LOCAL = ("127.0.0.0/8",)

# Retries measured in milliseconds so outages and 429s take a fraction of a second.
FAST = {
    "backoff_base": 0.01,
    "backoff_max": 0.05,
    "request_retries": 1,
    "retry_base": 0.0,
    "max_attempts": 50,
    "timeout": 5.0,
    "interval": 0.05,
}
HUBSPOT_MAP = {
    "score.fit": "leadscore_fit",
    "score.engagement": "leadscore_engagement",
    "grade": "leadscore_grade",
    "stage": "leadscore_stage",
    "top_reasons": "leadscore_top_reasons",
}
LEAD_MAP = {
    "score.fit": "Lead_Score__c",
    "grade": "Lead_Grade__c",
    "top_reasons": "Lead_Reasons__c",
}
CONTACT_MAP = {"score.fit": "Contact_Score__c", "stage": "Contact_Stage__c"}


def hubspot_config(fake: FakeHubSpot, **overrides: Any) -> CrmConfig:
    section = {
        "base_url": fake.url,
        "token_env": "TEST_HUBSPOT_TOKEN",
        "properties": HUBSPOT_MAP,
        **overrides.pop("hubspot", {}),
    }
    return parse_config({"hubspot": section, "sync": {**FAST, **overrides}})


def salesforce_config(fake: FakeSalesforce, **overrides: Any) -> CrmConfig:
    section = {
        "instance_url": fake.url,
        "token_env": "TEST_SF_TOKEN",
        "objects": {"Lead": LEAD_MAP, "Contact": CONTACT_MAP},
        **overrides.pop("salesforce", {}),
    }
    return parse_config({"salesforce": section, "sync": {**FAST, **overrides}})


class Sleeps(list[float]):
    """An injectable sleep that records what was asked and waits at most 10 ms."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(min(seconds, 0.01))


def score_of(i: int, bump: float = 0.0) -> dict[str, Any]:
    fit = float(i % 90) + bump
    return {
        "scores": {
            "fit": {"value": fit, "grade": "A" if fit >= 60 else "B"},
            "engagement": {"value": 12.5 + bump, "grade": "2"},
        },
        "grade": ("A" if fit >= 60 else "B") + "2",
        "explanation": {
            "surge_points": 0,
            "contributions": [
                {"score": "fit", "rule_id": "vp", "description": "Senior title", "points": 15},
                {
                    "score": "engagement",
                    "rule_id": "pricing",
                    "description": "Viewed pricing",
                    "points": 10,
                },
            ],
            "top_reasons": ["vp", "pricing"],
        },
    }


def seed(
    store: Store,
    n: int,
    fields: Callable[[int], dict[str, Any]] = lambda i: {},
    connectors: tuple[str, ...] = (),
) -> list[str]:
    """``n`` scored contacts c00000.. with emails; queued for ``connectors``."""
    stamp = now_us()
    rows = []
    for i in range(n):
        rows.append(
            {
                "contact_id": f"c{i:05d}",
                "email": f"person{i}@example.com",
                "fields": fields(i),
                "stage": "lead",
                "stage_us": stamp,
                "threshold_stage": "lead",
                "surging": False,
                "dirty": 0,
                "model_version": 1,
                "scored_as_of_us": stamp,
                "created_us": stamp,
                "updated_us": stamp,
                **score_of(i),
            }
        )
    with store.write() as conn:
        conn.execute(contacts.insert(), rows)
        enqueue_crm_sync(conn, [r["contact_id"] for r in rows], connectors)
    return [r["contact_id"] for r in rows]


def rescore(store: Store, ids: list[str], bump: float, connectors: tuple[str, ...]) -> None:
    """What a rescoring does: new scores and the outbox entry in one transaction."""
    with store.write() as conn:
        for cid in ids:
            i = int(cid[1:])
            conn.execute(
                update(contacts).where(contacts.c.contact_id == cid).values(**score_of(i, bump))
            )
        enqueue_crm_sync(conn, ids, connectors)


def expected_fit(cid: str, bump: float = 0.0) -> float:
    return float(int(cid[1:]) % 90) + bump


def refused_once(store: Store) -> bool:
    """Some queued row has seen a failed attempt (the CRM is down)."""
    with store.read() as conn:
        return (
            conn.execute(
                select(crm_outbox.c.id).where(crm_outbox.c.last_error.is_not(None)).limit(1)
            ).first()
            is not None
        )


def stop_after_first_batch(
    fake: Any, store: Store, changed: list[str], connectors: Any
) -> threading.Event:
    """Take ``fake`` down right after it applied its first batch (rescoring ``changed``
    before the sender hears back, so no read of theirs is in flight); bring it back
    once the sender has met a refused connection."""
    back = threading.Event()

    def outage() -> None:
        deadline = time.monotonic() + 20
        while not refused_once(store) and time.monotonic() < deadline:
            time.sleep(0.01)
        fake.start()
        back.set()

    original = fake.handle
    state = {"down": False}

    def after_first_batch() -> None:
        fake.after_update = None
        state["down"] = True

    def handle(*args: Any) -> Any:
        answer = original(*args)
        if state["down"]:
            state["down"] = False
            rescore(store, changed, 7.0, connectors)  # scores keep changing meanwhile
            fake.stop()  # this answer still goes out; new connections are refused
            threading.Thread(target=outage, daemon=True).start()
        return answer

    fake.after_update = after_first_batch
    fake.handle = handle
    return back
