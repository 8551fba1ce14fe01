"""Two `leadscore serve` processes on one PostgreSQL database, under concurrent ingest,
one SIGKILLed: every event scored, every due contact rescored once by the clock, every
score change's webhook delivered (at least once; only posts in flight at the kill may
repeat)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from leadscore.service.keys import create_key
from leadscore.store import Store
from leadscore.store.tables import contacts, events, score_snapshots, webhook_deliveries

from .conftest import Server

QUIET_MONTH = """
name: quiet-month
scores:
  engagement:
    rules:
      - {id: visit, on: page_view, points: 10}
      - {id: quiet-month, inactive_days: 30, points: -30}
"""


class Receiver:
    def __init__(self) -> None:
        self.posts: list[tuple[str, float, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append(
                    (self.headers["X-Leadscore-Delivery"], time.monotonic(), json.loads(body))
                )
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Quiet(ThreadingHTTPServer):
            request_queue_size = 64

        self.server = Quiet(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.postgres
def test_two_servers_one_killed_nothing_lost_nothing_twice(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:  # our scratch database only
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    monkeypatch.setenv("LEADSCORE_DUE_LEASE_SECONDS", "3")
    monkeypatch.setenv("LEADSCORE_CLOCK_INTERVAL", "0.2")
    monkeypatch.setenv("LEADSCORE_SCORE_CHANGED_THROTTLE", "0.5")
    # The receiver listens on 127.0.0.1, which outbound requests refuse unless allowed.
    monkeypatch.setenv("LEADSCORE_ALLOW_PRIVATE_NETWORKS", "127.0.0.0/8")
    model = tmp_path / "quiet.yaml"
    model.write_text(QUIET_MONTH, encoding="utf-8")
    store = Store(pg_database)
    store.upgrade()
    key = create_key(store, ["admin"], "test")["key"]
    headers = {"Authorization": f"Bearer {key}"}
    receiver = Receiver()
    a = Server(pg_database, model).start()
    b = Server(pg_database, model).start()
    try:
        r = httpx.post(
            f"{a.url}/v1/webhooks",
            json={"url": receiver.url, "events": ["lead.score_changed"]},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        n = 60
        for i in range(n):
            r = httpx.post(f"{a.url}/v1/contacts", json={"contact_id": f"c{i}"}, headers=headers)
            assert r.status_code in (200, 201), r.text
        # Each contact's only page view turns 30 days old 8-14 s from now.
        base = datetime.now(UTC) - timedelta(days=30) + timedelta(seconds=8)
        items = [
            {
                "event_id": f"e{i}",
                "contact_id": f"c{i}",
                "type": "page_view",
                "timestamp": (base + timedelta(seconds=i * 0.05)).isoformat(),
            }
            for i in range(n)
        ]
        killed_at = None
        for start in range(0, n, 10):
            target = (a, b)[(start // 10) % 2] if killed_at is None else a
            if start == 30:  # half-way through ingest: one server dies
                b.kill()
                killed_at = time.monotonic()
                target = a
            body = {"events": items[start : start + 10]}
            r = httpx.post(f"{target.url}/v1/events/batch", json=body, headers=headers, timeout=30)
            assert r.status_code == 200, r.text

        def settled() -> bool:
            with store.read() as conn:
                quiet = conn.execute(
                    select(func.count()).select_from(contacts).where(contacts.c.scores.is_not(None))
                ).scalar_one()
                rows = conn.execute(select(contacts.c.scores, contacts.c.dirty)).all()
                pending = conn.execute(
                    select(func.count())
                    .select_from(webhook_deliveries)
                    .where(webhook_deliveries.c.status == "pending")
                ).scalar_one()
            done = all(
                r.dirty == 0 and r.scores and r.scores["engagement"]["value"] == -20 for r in rows
            )
            return quiet == n and done and pending == 0

        deadline = time.monotonic() + 90
        while not settled():
            assert time.monotonic() < deadline, "not settled within 90 s"
            time.sleep(0.2)

        with store.read() as conn:
            assert conn.execute(select(func.count()).select_from(events)).scalar_one() == n
            clock_runs = conn.execute(
                select(score_snapshots.c.contact_id, func.count())
                .where(score_snapshots.c.cause == "clock")
                .group_by(score_snapshots.c.contact_id)
            ).all()
        assert len(clock_runs) == n and {c for _, c in clock_runs} == {1}  # once each

        # Every contact's latest change reached the receiver; a delivery posted twice
        # was in flight when the server died (at least once, same delivery id).
        latest = {}
        for _, _, payload in receiver.posts:
            latest[payload["contact"]["contact_id"]] = payload["score"]["scores"]["engagement"]
        assert len(latest) == n
        assert all(v["value"] == -20 for v in latest.values())
        first: dict[str, float] = {}
        for delivery, at, _ in receiver.posts:
            if delivery in first:
                assert killed_at is not None and first[delivery] <= killed_at + 1.0
            first.setdefault(delivery, at)
    finally:
        receiver.close()
        a.stop()
        b.stop()
        store.dispose()
