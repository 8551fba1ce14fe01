"""SIGKILL the server during a stream of batch ingests: nothing acknowledged is lost.

The server runs as a real subprocess (`leadscore serve`) on a loopback port. A
client streams batches and records every event the server acknowledged. The
server is killed with SIGKILL mid-stream (a request is usually in flight), then
restarted on the same store. Every acknowledged event must be there, and each
stored score must equal a fresh rescoring of the contact's events at the same
``as_of``.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadscore.rules import Contact, Event, Scorer
from leadscore.service.keys import create_key
from leadscore.spec import load_model
from leadscore.store import Store

from .conftest import MODEL, Server

CONTACTS = 40
TYPES = [
    ("page_view", {"url": "/pricing"}),
    ("page_view", {"url": "/blog/x"}),
    ("page_view", {"url": "/careers"}),
    ("email_click", {"email_id": "demo-1"}),
    ("form_submit", {"form": "demo"}),
    ("content_download", {}),
]


def _profile(i: int) -> dict[str, Any]:
    return {
        "job_title": random.choice(["VP Sales", "Analyst", "Head of IT", "Student"]),
        "industry": random.choice(["software", "retail", "saas"]),
        "employees": random.choice([10, 300, 9000]),
        "country": random.choice(["US", "FR", "GB"]),
    }


def _stream(
    url: str,
    headers: dict[str, str],
    acked: set[str],
    stop: threading.Event,
    errors: list[str],
    start: int,
) -> None:
    """Send batches until the connection breaks; record what the server acknowledged."""
    now = datetime.now(UTC)
    n = start
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        while not stop.is_set():
            batch = []
            for _ in range(200):
                kind, props = random.choice(TYPES)
                batch.append(
                    {
                        "event_id": f"ev-{n}",
                        "contact_id": f"c{random.randrange(CONTACTS):03d}",
                        "type": kind,
                        "timestamp": (
                            now - timedelta(hours=random.uniform(0, 24 * 40))
                        ).isoformat(),
                        "properties": props,
                    }
                )
                n += 1
            try:
                r = client.post("/v1/events/batch", json={"events": batch})
            except httpx.HTTPError:
                return  # the server died: this batch was never acknowledged
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:200]}")
                return
            for item in r.json()["results"]:
                if item["status"] in ("accepted", "duplicate"):
                    acked.add(item["event_id"])


def _wait_scored(client: httpx.Client, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get("/v1/status").json()
        jobs_running = any(j["status"] == "running" for j in status["jobs"])
        if status["pending_rescoring"] == 0 and not jobs_running:
            return
        time.sleep(0.1)
    raise AssertionError(f"still pending: {status}")


def test_sigkill_during_ingest_loses_no_acknowledged_event(db_url: str, tmp_path: Path) -> None:
    random.seed(7)
    store = Store(db_url)
    store.upgrade()
    key = create_key(store, ["admin"], "durability")["key"]
    store.dispose()
    headers = {"Authorization": f"Bearer {key}"}
    log = tmp_path / "server.log"
    server = Server(db_url, log=log).start()
    acked: set[str] = set()
    errors: list[str] = []
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            for i in range(CONTACTS):
                body = {"contact_id": f"c{i:03d}", "fields": _profile(i)}
                assert client.post("/v1/contacts", json=body).status_code == 201
        stop = threading.Event()
        streams = [
            threading.Thread(
                target=_stream, args=(server.url, headers, acked, stop, errors, k * 10_000_000)
            )
            for k in range(2)
        ]
        for t in streams:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < 3_000 and time.monotonic() < deadline and not errors:
            time.sleep(0.02)
        server.kill()  # mid-stream: both clients have requests in flight
        stop.set()
        for t in streams:
            t.join(30)
        assert not errors, errors
        assert len(acked) >= 3_000
    finally:
        server.stop()

    server = Server(db_url, log=log).start()  # same --model: not re-uploaded
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            _wait_scored(client)
            assert len(client.get("/v1/models").json()) == 1
            spec = load_model(MODEL)
            scorer = Scorer(spec)
            stored_ids: set[str] = set()
            for i in range(CONTACTS):
                cid = f"c{i:03d}"
                lead = client.get(f"/v1/contacts/{cid}", params={"events_limit": 1000}).json()
                assert lead["event_count"] == len(lead["events"])
                stored_ids.update(e["event_id"] for e in lead["events"])
                # The stored score equals a fresh rescoring of the stored events.
                events = [
                    Event(
                        e["event_id"],
                        cid,
                        e["type"],
                        datetime.fromtimestamp(e["ts_us"] / 1_000_000, UTC),
                        e["properties"],
                    )
                    for e in lead["events"]
                ]
                as_of = datetime.fromtimestamp(lead["scored_as_of_us"] / 1_000_000, UTC)
                fresh = scorer.score(Contact(cid, lead["fields"]), events, as_of)
                for name, result in fresh.scores.items():
                    assert lead["scores"][name]["value"] == pytest.approx(result.value, abs=1e-9)
                    assert lead["scores"][name]["grade"] == result.grade
                assert lead["grade"] == fresh.grade
                assert lead["surging"] == fresh.surging
            missing = acked - stored_ids
            assert not missing, (
                f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
            )
            # Retrying everything acknowledged adds nothing.
            total = client.get("/v1/status").json()["events"]
            assert total == len(stored_ids) >= len(acked)
    finally:
        server.stop()
