"""Webhooks: an MQL crossing reaches a real local receiver, signed; failures are retried."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from leadscore.service.webhooks import verify

from .conftest import GOOD_FIT, Api, event, make_api


class Receiver:
    """A tiny HTTP server on 127.0.0.1 that records requests and can fail the first N."""

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 503 if len(receiver.received) < receiver.fail_first else 204
                receiver.received.append((dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"received {len(self.received)} of {n} requests")
            time.sleep(0.02)


@pytest.fixture
def live(db_url: str) -> Iterator[Api]:
    """An app with its scoring and webhook workers running, and fast retries."""
    yield from make_api(
        db_url,
        run_workers=True,
        webhook_interval=0.02,
        webhook_backoff_base=0.1,
        webhook_max_attempts=3,
        # The receivers listen on 127.0.0.1, which outbound requests refuse by default.
        allow_private_networks=("127.0.0.0/8",),
    )


SECRET = "s3cret-for-the-tests-only"


def test_mql_crossing_delivers_a_signed_webhook(live: Api) -> None:
    receiver = Receiver()
    try:
        live.activate()
        r = live.post(
            "/v1/webhooks", json={"url": receiver.url, "events": ["lead.mql"], "secret": SECRET}
        )
        assert r.status_code == 201 and r.json()["secret"] == SECRET
        hook = r.json()["id"]
        live.contact("c1", **GOOD_FIT)
        started = time.monotonic()
        # No wait=true: the background scorer notices, crosses MQL, the sender posts.
        items = [event("e1", type="form_submit", form="demo"), event("e2", url="/pricing")]
        assert (
            live.post("/v1/events/batch", "ingest", json={"events": items}).json()["accepted"] == 2
        )
        receiver.wait_for(1)
        assert time.monotonic() - started < 5  # "within seconds"
        headers, body, _ = receiver.received[0]
        assert verify(SECRET, body, headers["X-Leadscore-Signature"])
        assert not verify("another-secret", body, headers["X-Leadscore-Signature"])
        payload = json.loads(body)
        assert payload["event"] == "lead.mql" == headers["X-Leadscore-Event"]
        assert payload["contact"]["contact_id"] == "c1"
        assert payload["transition"] == {
            "from": "lead",
            "to": "mql",
            "cause": "threshold",
            "reason": None,
        }
        assert payload["score"]["scores"]["fit"]["value"] >= 40
        assert payload["score"]["top_reasons"][0]["rule_id"] == "demo-request"
        deadline = time.monotonic() + 5
        while True:
            log = live.get(f"/v1/webhooks/{hook}/deliveries").json()
            if (log and log[0]["status"] == "delivered") or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert [(d["event"], d["status"], d["attempts"], d["last_status_code"]) for d in log] == [
            ("lead.mql", "delivered", 1, 204)
        ]
        # Only subscribed events are sent: the same lead crossing SQL sends nothing more.
        time.sleep(0.3)
        assert len(receiver.received) == 1
    finally:
        receiver.close()


def test_failing_receiver_is_retried_with_backoff_then_given_up(live: Api) -> None:
    flaky = Receiver(fail_first=2)
    dead = Receiver(fail_first=100)
    try:
        live.activate()
        ok = live.post(
            "/v1/webhooks", json={"url": flaky.url, "events": ["lead.stage_changed"]}
        ).json()
        bad = live.post(
            "/v1/webhooks", json={"url": dead.url, "events": ["lead.stage_changed"]}
        ).json()
        live.contact("c1", **GOOD_FIT)
        live.post("/v1/contacts/c1/stage", "ingest", json={"action": "lost", "reason": "ghosted"})
        flaky.wait_for(3)
        dead.wait_for(3)
        time.sleep(0.3)
        assert [s for _, _, s in flaky.received] == [503, 503, 204]
        assert len(dead.received) == 3  # max_attempts
        # The same delivery id each time, so receivers can de-duplicate.
        assert len({h["X-Leadscore-Delivery"] for h, _, _ in flaky.received}) == 1
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            a = live.get(f"/v1/webhooks/{ok['id']}/deliveries").json()
            b = live.get(f"/v1/webhooks/{bad['id']}/deliveries").json()
            if a[0]["status"] != "pending" and b[0]["status"] != "pending":
                break
            time.sleep(0.02)
        assert (a[0]["status"], a[0]["attempts"]) == ("delivered", 3)
        assert (b[0]["status"], b[0]["attempts"], b[0]["last_status_code"]) == ("failed", 3, 503)
        assert "HTTP 503" in b[0]["last_error"]
        failed = live.get(
            f"/v1/webhooks/{bad['id']}/deliveries", params={"status": "failed"}
        ).json()
        assert len(failed) == 1
        assert json.loads(flaky.received[-1][1])["transition"]["reason"] == "ghosted"
    finally:
        flaky.close()
        dead.close()


def test_unreachable_receiver_is_logged(live: Api) -> None:
    receiver = Receiver()
    url = receiver.url
    receiver.close()  # nothing listens there any more
    hook = live.post("/v1/webhooks", json={"url": url, "events": ["lead.lost"]}).json()
    live.contact("c1")
    live.post("/v1/contacts/c1/stage", "ingest", json={"action": "lost", "reason": "r"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log = live.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
        if log and log[0]["status"] == "failed":
            break
        time.sleep(0.05)
    assert log[0]["status"] == "failed" and log[0]["last_status_code"] is None
    assert "Connect" in log[0]["last_error"]


def test_webhook_crud_and_bad_input(api: Api) -> None:
    for body, field in [
        ({"url": "ftp://x.example/h", "events": ["lead.mql"]}, "url"),
        ({"url": "not a url at all", "events": ["lead.mql"]}, "url"),
        ({"url": "http://127.0.0.1:9/h", "events": ["lead.bought"]}, "events"),
        ({"url": "http://127.0.0.1:9/h", "events": []}, "events"),
        ({"url": "http://127.0.0.1:9/h"}, "events"),
        ({"url": "http://127.0.0.1:9/h", "events": ["lead.mql"], "secret": "short"}, "secret"),
    ]:
        r = api.post("/v1/webhooks", json=body)
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["field"] == field, body
    made = api.post(
        "/v1/webhooks", json={"url": "https://crm.example/h", "events": ["lead.surging"]}
    )
    hook = made.json()
    assert len(hook["secret"]) >= 32
    assert api.get(f"/v1/webhooks/{hook['id']}").json()["url"] == "https://crm.example/h"
    assert "secret" not in api.get("/v1/webhooks").json()[0]
    assert api.get(f"/v1/webhooks/{hook['id']}/deliveries").json() == []
    assert (
        api.get(f"/v1/webhooks/{hook['id']}/deliveries", params={"status": "odd"}).status_code
        == 422
    )
    assert api.delete(f"/v1/webhooks/{hook['id']}").status_code == 204
    assert api.get(f"/v1/webhooks/{hook['id']}").status_code == 404
    assert api.delete(f"/v1/webhooks/{hook['id']}").status_code == 404
    assert api.get(f"/v1/webhooks/{hook['id']}/deliveries").status_code == 404
