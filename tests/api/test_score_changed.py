"""lead.score_changed: sent when stored scores change (events or the clock), throttled per
contact and coalesced to the latest score."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from leadscore.service import clock as service_clock
from leadscore.service.clock import ManualClock
from leadscore.store.tables import webhook_deliveries

from .conftest import Api, event, make_api
from .test_webhooks import Receiver

QUIET_MONTH = """
name: quiet-month
scores:
  engagement:
    grades: {hot: 25, warm: 5, cold: null}
    rules:
      - {id: visit, on: page_view, points: 10}
      - {id: quiet-month, inactive_days: 30, points: -30}
"""


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    """The default app, allowed to post to the test's receiver on 127.0.0.1 (outbound
    requests to loopback are refused unless allowed, see service/outbound.py)."""
    yield from make_api(db_url, allow_private_networks=("127.0.0.0/8",))


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    manual = ManualClock(datetime.now(UTC).replace(microsecond=0))
    with service_clock.installed(manual):
        yield manual


def pending(api: Api) -> list[dict[str, object]]:
    with api.service.store.read() as conn:
        rows = conn.execute(
            select(webhook_deliveries).where(
                webhook_deliveries.c.event == "lead.score_changed",
                webhook_deliveries.c.status == "pending",
            )
        ).all()
    return [dict(r._mapping) for r in rows]


def test_score_changed_is_throttled_coalesced_and_follows_the_clock(
    api: Api, clock: ManualClock
) -> None:
    receiver = Receiver()
    try:
        version = api.activate(QUIET_MONTH)
        r = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["lead.score_changed"]})
        assert r.status_code == 201, r.text
        api.contact("c1")
        service = api.service

        def visit(event_id: str) -> None:
            body = event(event_id, timestamp=clock.now().isoformat())
            assert api.post("/v1/events", "ingest", json=body).status_code == 201
            service.drain()

        visit("e1")
        visit("e2")  # before the first was sent: the same delivery, newer payload
        (waiting,) = pending(api)
        assert json.loads(str(waiting["payload"]))["score"]["scores"]["engagement"]["value"] == 20
        assert service.sender.deliver_due() == 1
        headers, body, _ = receiver.received[0]
        assert headers["X-Leadscore-Event"] == "lead.score_changed"
        sent = json.loads(body)
        assert sent["contact"]["contact_id"] == "c1"
        assert sent["score"]["scores"]["engagement"] == {"value": 20, "grade": "warm"}
        assert sent["score"]["top_reasons"][0]["rule_id"] == "visit"
        assert sent["stage"] == "lead" and sent["model_version"] == version
        assert sent["cause"] == "events" and "probability" in sent
        assert sent["previous"]["scores"]["engagement"]["value"] == 10  # before the last change

        clock.advance(seconds=10)
        visit("e3")  # 10 s after the last delivery: waits for the 60 s throttle
        (waiting,) = pending(api)
        first_turn = json.loads(body)["occurred_us"]
        assert waiting["next_attempt_us"] >= first_turn + 60_000_000
        assert service.sender.deliver_due() == 0
        clock.advance(seconds=51)
        assert service.sender.deliver_due() == 1
        assert json.loads(receiver.received[1][1])["score"]["scores"]["engagement"]["value"] == 30

        # A month later, no request: the clock rescoring changes the score and says so.
        clock.advance(days=30, seconds=1)
        assert service.rescore_due() == 1
        assert service.sender.deliver_due() == 1
        quiet = json.loads(receiver.received[2][1])
        assert quiet["cause"] == "clock"
        assert quiet["score"]["scores"]["engagement"] == {"value": 0, "grade": "cold"}
        assert quiet["previous"]["grade"] is None and quiet["previous"]["stage"] == "lead"
        assert len(receiver.received) == 3
    finally:
        receiver.close()
