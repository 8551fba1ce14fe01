"""Scores follow the clock: due contacts are rescored by the scheduler, with no request.

Time is the service's injectable clock (a ManualClock moved by simulated days);
the scheduler itself runs on real time, so "within 60 s" is measured for real.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from leadscore.service import clock as service_clock
from leadscore.service.clock import ManualClock
from leadscore.service.contacts import upsert_contact
from leadscore.service.runtime import Service
from leadscore.service.settings import Settings
from leadscore.store.tables import contacts, score_snapshots

QUIET_MONTH = """
name: quiet-month
scores:
  engagement:
    rules:
      - {id: visit, on: page_view, points: 10}
      - {id: quiet-month, inactive_days: 30, points: -30}
"""

DECAY = """
name: decaying
scores:
  fit:
    grades: {A: 20, B: null}
    rules: [{id: vp, when: {field: title, equals: VP}, points: 25}]
  engagement:
    grades: {"4": 60, "3": 30, "2": 10, "1": null}
    rules:
      - {id: pricing, on: page_view, where: {url: /pricing}, points: 15, half_life_days: 6}
      - {id: docs, on: page_view, where: {url: /docs}, points: 8, decay_days: 9}
      - {id: demo, on: demo, points: 30, within_days: 5}
      - {id: quiet, inactive_days: 8, points: -10}
combined_grade: [fit, engagement]
lifecycle:
  mql: {fit_grade: [A], engagement: ">= 40"}
"""


def wait_for(test: Callable[[], bool], timeout: float = 60.0) -> float:
    """Seconds it took ``test`` to hold (fails after ``timeout``)."""
    start = time.monotonic()
    while not test():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    manual = ManualClock(datetime.now(UTC).replace(microsecond=0))
    with service_clock.installed(manual):
        yield manual


def serve(db_url: str, model: str, tmp_path: Path, **settings: Any) -> Service:
    path = tmp_path / "model.yaml"
    path.write_text(model, encoding="utf-8")
    service = Service(Settings(db_url=db_url, model_path=str(path), **settings))
    service.start()
    return service


def stored(service: Service, contact_id: str) -> dict[str, Any]:
    with service.store.read() as conn:
        row = conn.execute(select(contacts).where(contacts.c.contact_id == contact_id)).one()
    return dict(row._mapping)


def value(service: Service, contact_id: str, score: str = "engagement") -> float | None:
    scores = stored(service, contact_id)["scores"]
    return None if scores is None else scores[score]["value"]


def page_view(event_id: str, contact_id: str, at: datetime, **props: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "contact_id": contact_id,
        "type": props.pop("type", "page_view"),
        "timestamp": at.isoformat(),
        "properties": props,
    }


def test_a_lead_goes_quiet_while_the_server_runs(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    service = serve(db_url, QUIET_MONTH, tmp_path, clock_interval=0.2)
    try:
        upsert_contact(service.store, "c1")
        start = clock.now()
        service.ingest([page_view("e1", "c1", start)], "events")
        service.notify()
        wait_for(lambda: value(service, "c1") == 10, timeout=30)
        due = stored(service, "c1")["due_us"]
        assert due == pytest.approx((start + timedelta(days=30)).timestamp() * 1e6, abs=10_000)

        clock.advance(days=30, seconds=1)  # the only event is now 30 days old
        took = wait_for(lambda: value(service, "c1") == -20, timeout=60)
        assert took < 60
        row = stored(service, "c1")
        assert row["due_us"] is None  # nothing more changes without a new event
        assert row["scored_as_of_us"] == round(clock.now().timestamp() * 1e6)
        with service.store.read() as conn:
            causes = conn.execute(
                select(score_snapshots.c.cause).where(score_snapshots.c.contact_id == "c1")
            ).scalars()
            assert "clock" in list(causes)
    finally:
        service.stop()


def test_stored_scores_match_a_fresh_score_as_simulated_days_pass(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    """After each simulated day (scheduler driven by hand), every stored score equals the
    online evaluator's fresh score as of the same moment within the tolerance, with the
    same grades and stage."""
    tolerance = 0.5
    service = serve(
        db_url, DECAY, tmp_path, run_workers=False, decay_tolerance=tolerance, rescore_chunk=50
    )
    try:
        rng = random.Random(7)
        start = clock.now()
        batch = []
        for i in range(40):
            cid = f"c{i}"
            upsert_contact(service.store, cid, fields={"title": rng.choice(["VP", "intern"])})
            for j in range(rng.randint(0, 6)):
                at = start - timedelta(days=rng.uniform(0, 6))
                kind = rng.choice(["page_view", "page_view", "demo"])
                url = rng.choice(["/pricing", "/docs", "/blog"])
                batch.append(page_view(f"{cid}-{j}", cid, at, type=kind, url=url))
        service.ingest(batch, "events")
        service.drain()
        clocked = 0
        for _day in range(12):
            clock.advance(hours=rng.uniform(6, 30))
            clocked += service.rescore_due()
            now = clock.now()
            for i in range(40):
                cid = f"c{i}"
                fresh = service.engine.score_at(cid, now)
                assert fresh is not None
                row = stored(service, cid)
                assert row["grade"] == fresh.grade, (cid, now)
                assert row["threshold_stage"] == fresh.stage
                for name, s in fresh.scores.items():
                    assert abs(row["scores"][name]["value"] - s.value) <= tolerance, (cid, name)
        assert clocked > 40  # the clock, not events, kept them fresh
    finally:
        service.stop()


class Receiver:
    """A local HTTP receiver counting webhook posts by delivery id."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.deliveries: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries.append(self.headers["X-Leadscore-Delivery"])
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 64  # the senders post 8 at a time each

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def both(a: Service, b: Service, work: Callable[[Service], int]) -> int:
    """Run ``work`` on both servers at once; returns the total they report."""
    import threading

    done: dict[int, int] = {}

    def run(i: int, service: Service) -> None:
        done[i] = work(service)

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return sum(done.values())


def deliver_all(service: Service) -> int:
    total = 0
    while n := service.sender.deliver_due():
        total += n
    return total


@pytest.mark.postgres
def test_two_servers_share_rescoring_and_webhooks_without_double_work(
    pg_database: str, tmp_path: Path, clock: ManualClock
) -> None:
    """Two services on one PostgreSQL database rescore dirty and due contacts and send
    webhooks concurrently: each contact is rescored once per cause, each delivery is
    posted once, none is left behind."""
    import psycopg

    from leadscore.service.webhooks import create_webhook

    with psycopg.connect(pg_database, autocommit=True) as conn:  # our scratch database only
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    # The receiver listens on 127.0.0.1, which outbound requests refuse unless allowed.
    local = ("127.0.0.0/8",)
    a = serve(
        pg_database,
        QUIET_MONTH,
        tmp_path,
        run_workers=False,
        rescore_chunk=20,
        allow_private_networks=local,
    )
    b = Service(
        Settings(
            db_url=pg_database, run_workers=False, rescore_chunk=20, allow_private_networks=local
        )
    )
    b.start()
    receiver = Receiver()
    try:
        create_webhook(a.store, receiver.url, ["lead.score_changed"], allow_networks=local)
        start = clock.now()
        n = 300
        for i in range(n):
            upsert_contact(a.store, f"c{i}")
        a.ingest([page_view(f"e{i}", f"c{i}", start) for i in range(n)], "events")
        assert both(a, b, Service.drain) == n  # dirty contacts: leased, never shared
        assert both(a, b, deliver_all) == n
        assert sorted(receiver.deliveries) == sorted(set(receiver.deliveries))

        clock.advance(days=31)
        assert both(a, b, Service.rescore_due) == n  # due contacts: leased too
        assert both(a, b, deliver_all) == n
        assert len(receiver.deliveries) == len(set(receiver.deliveries)) == 2 * n
        with a.store.read() as conn:
            per_contact = conn.execute(
                select(score_snapshots.c.cause, func.count()).group_by(
                    score_snapshots.c.cause, score_snapshots.c.contact_id
                )
            ).all()
        assert len(per_contact) == 2 * n and {c for _, c in per_contact} == {1}
        assert all(value(a, f"c{i}") == -20 for i in range(0, n, 37))
    finally:
        receiver.close()
        a.stop()
        b.stop()


def test_a_claim_of_a_dead_server_is_taken_over_after_the_lease(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    service = serve(db_url, QUIET_MONTH, tmp_path, run_workers=False, due_lease_seconds=120)
    try:
        upsert_contact(service.store, "c1")
        service.ingest([page_view("e1", "c1", clock.now())], "events")
        service.drain()
        clock.advance(days=31)
        # A server claims the due contact, then dies before saving its score.
        from sqlalchemy import and_

        now = round(clock.now().timestamp() * 1e6)
        claimed = service.engine._claim(and_(contacts.c.due_us <= now), now, 10)
        assert list(claimed) == ["c1"]
        assert service.rescore_due() == 0  # leased: nobody else takes it meanwhile
        assert value(service, "c1") == 10
        clock.advance(seconds=121)
        assert service.rescore_due() == 1
        assert value(service, "c1") == -20
    finally:
        service.stop()


RECYCLE = """
name: recycling
scores:
  engagement:
    rules:
      - {id: visit, on: page_view, points: 10, half_life_days: 5}
lifecycle:
  mql: {engagement: ">= 8"}
recycle: {after_days: 20, from: [mql]}
"""


def test_a_quiet_mql_is_recycled_to_nurture_by_the_clock(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    from leadscore.service.leads import get_lead
    from leadscore.service.webhooks import create_webhook, list_deliveries

    service = serve(db_url, RECYCLE, tmp_path, run_workers=False)
    try:
        # 127.0.0.1 is refused by outbound requests unless allowed (nothing is sent here).
        hook = create_webhook(
            service.store,
            "http://127.0.0.1:9/hook",
            ["lead.stage_changed"],
            allow_networks=("127.0.0.0/8",),
        )
        upsert_contact(service.store, "c1")
        service.ingest([page_view("e1", "c1", clock.now())], "events")
        service.drain()
        assert stored(service, "c1")["stage"] == "mql"
        for _ in range(10):  # ten simulated days: decayed below the MQL threshold
            clock.advance(days=1)
            service.rescore_due()
        row = stored(service, "c1")
        assert row["stage"] == "mql" and row["threshold_stage"] == "lead"  # never demoted
        mql_at = row["stage_us"]
        assert row["due_us"] <= mql_at + 20 * 86_400_000_000  # at the latest, recycling
        clock.advance(days=10, seconds=1)
        assert service.rescore_due() == 1
        row = stored(service, "c1")
        assert row["stage"] == "lead"
        assert row["stage_us"] == round(clock.now().timestamp() * 1e6)
        last = get_lead(service.store, "c1")["transitions"][-1]
        assert (last["from_stage"], last["to_stage"], last["cause"]) == ("mql", "lead", "recycle")
        assert last["reason"] == "no activity for 20 days"
        (sent, *_) = list_deliveries(service.store, hook["id"])
        assert sent["payload"]["transition"] == {
            "from": "mql",
            "to": "lead",
            "cause": "recycle",
            "reason": "no activity for 20 days",
        }
        # Active again: a new crossing promotes it again.
        service.ingest([page_view("e2", "c1", clock.now())], "events")
        service.drain()
        assert stored(service, "c1")["stage"] == "mql"
    finally:
        service.stop()
