"""`leadscore serve --crm`: the scorer process queues, the server sends; a server
SIGKILLed while the CRM is down loses nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from crmkit import FAST, HUBSPOT_MAP, LOCAL
from fakecrm import FakeHubSpot

from leadscore.crm import outbox
from leadscore.service.keys import create_key
from leadscore.store import Store

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Serve:
    def __init__(self, db: str, crm: Path, tmp: Path):
        self.db, self.crm, self.port = db, crm, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "leadscore.cli.main", "serve", "--db", self.db]
        cmd += ["--port", str(self.port), "--log-level", "warning", "--crm", str(self.crm)]
        cmd += ["--model", str(REPO / "examples" / "model.yaml")]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=out,
                env={**os.environ, "LEADSCORE_ALLOW_PRIVATE_NETWORKS": ",".join(LOCAL)},
            )

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited: {self.log.read_text()[-2000:]}")
            try:
                return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, "the server to start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def serve_setup(tmp_path: Path, hubspot: FakeHubSpot) -> Iterator[tuple[Serve, str, Store]]:
    import yaml

    crm = tmp_path / "crm.yaml"
    sync = {**FAST, "lease_seconds": 2.0}
    section = {
        "base_url": hubspot.url,
        "token_env": "TEST_HUBSPOT_TOKEN",
        "properties": HUBSPOT_MAP,
    }
    crm.write_text(yaml.safe_dump({"hubspot": section, "sync": sync}), encoding="utf-8")
    db = str(tmp_path / "serve.db")
    store = Store(db)
    store.upgrade()
    key = create_key(store, ["admin"])["key"]
    server = Serve(db, crm, tmp_path)
    yield server, key, store
    server.stop()
    store.dispose()


def test_killed_while_the_crm_is_down_then_delivered_once(
    serve_setup: tuple[Serve, str, Store], hubspot: FakeHubSpot
) -> None:
    server, key, store = serve_setup
    hubspot.add_contact("vp@acme.com")
    hubspot.stop()  # the CRM is down from the start
    server.start()
    h = {"Authorization": f"Bearer {key}"}
    contact = {"contact_id": "c1", "email": "vp@acme.com", "fields": {"job_title": "VP Sales"}}
    assert httpx.post(f"{server.url}/v1/contacts", json=contact, headers=h).status_code in (
        200,
        201,
    )
    event = {
        "event_id": "e1",
        "contact_id": "c1",
        "type": "page_view",
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": {"url": "/pricing"},
    }
    assert httpx.post(f"{server.url}/v1/events", json=event, headers=h).status_code == 201

    def tried() -> bool:  # rescored by the scorer process, queued, and refused at least once
        with store.read() as conn:
            from sqlalchemy import select

            from leadscore.store.tables import crm_outbox

            row = conn.execute(select(crm_outbox.c.attempts)).first()
        return row is not None and row.attempts > 0

    wait_for(tried, "a refused attempt")
    server.kill()
    assert outbox.counts(store) == {"hubspot": {"pending": 1, "dead": 0}}
    hubspot.start()
    server.start()
    wait_for(lambda: bool(hubspot.updates), "the update to reach HubSpot")
    wait_for(lambda: outbox.counts(store) == {}, "the outbox to empty")
    [(email, values)] = hubspot.updates
    assert email == "vp@acme.com"
    score = httpx.get(f"{server.url}/v1/contacts/c1/score", headers=h).json()
    assert float(values["leadscore_fit"]) == pytest.approx(
        score["scores"]["fit"]["value"], abs=1e-3
    )
    assert float(values["leadscore_engagement"]) == pytest.approx(
        score["scores"]["engagement"]["value"], abs=1e-3
    )
