"""Ingestion in its own process (what `leadscore serve` runs), and concurrent writers.

* The API process forwards raw bodies to the ingest child: answers, per-item
  results, duplicates and bad bodies are exactly those of in-process ingestion,
  nothing is lost under concurrent requests, a dead child fails only what it had
  not answered and is restarted, and the child dies with a SIGKILLed server.
* Several ingest transactions at once (two servers on one PostgreSQL store, or
  on one SQLite file) with overlapping event ids: every event is stored once and
  reported ``accepted`` by exactly one request.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from leadscore.service.contacts import upsert_contact
from leadscore.service.events import BodyInvalid, EventIn, ingest
from leadscore.service.ingest_process import IngestProcess
from leadscore.service.keys import create_key
from leadscore.store import Store
from leadscore.store.tables import contacts, events

from .conftest import Server

CONTACTS = [f"c{i}" for i in range(20)]


def _store(db_url: str) -> Store:
    store = Store(db_url)
    store.upgrade()
    for c in CONTACTS:
        upsert_contact(store, c, None, fields={})
    return store


def _batch(ids: list[str]) -> bytes:
    import json

    items = [
        {
            "event_id": e,
            "contact_id": CONTACTS[i % len(CONTACTS)],
            "type": "page_view",
            "timestamp": "2026-11-20T10:00:00Z",
            "properties": {"url": "/pricing", "note": "é"},
        }
        for i, e in enumerate(ids)
    ]
    return json.dumps({"events": items}).encode()


def _stored(store: Store) -> list[str]:
    with store.read() as conn:
        return list(conn.execute(select(events.c.event_id)).scalars())


def test_ingest_process_answers_like_in_process_ingestion(db_url: str) -> None:
    store = _store(db_url)
    remote = IngestProcess(store.url)
    try:
        body = _batch(["e1", "e2", "e1"])
        answer = remote.submit(body, "events")
        summary = answer.summary()
        assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (2, 1, 0)
        assert answer.contacts == ["c0", "c1"]
        again = remote.submit(body, "events").summary()
        assert (again["accepted"], again["duplicates"]) == (0, 3)
        # Per-item rejection crosses the pipe with its field.
        bad = remote.submit(b'{"events": [{"event_id": "x", "contact_id": "c1"}]}', "events")
        item = bad.items[0]
        assert item.status == "rejected"
        assert {e["field"] for e in item.errors} >= {"events[0].type", "events[0].timestamp"}
        # A body that is not a batch fails that request only, naming the field.
        with pytest.raises(BodyInvalid) as malformed:
            remote.submit(b'{"events": [', "events")
        assert malformed.value.errors[0]["type"] == "json_invalid"
        with pytest.raises(BodyInvalid) as empty:
            remote.submit(b'{"events": []}', "events")
        assert list(empty.value.errors[0]["loc"]) == ["events"]
        # One event from the single-event route.
        one = EventIn.model_validate(
            {"event_id": "s1", "contact_id": "c3", "type": "t", "timestamp": "2026-11-20T10:00Z"}
        )
        assert remote.submit([one], "event").items[0].status == "accepted"
        assert sorted(_stored(store)) == ["e1", "e2", "s1"]
        with store.read() as conn:
            props = conn.execute(
                select(events.c.properties).where(events.c.event_id == "e1")
            ).scalar_one()
        assert props == {"url": "/pricing", "note": "é"}
    finally:
        remote.close()
        store.dispose()


def test_concurrent_requests_through_the_ingest_process_lose_nothing(db_url: str) -> None:
    store = _store(db_url)
    remote = IngestProcess(store.url)
    accepted: Counter[str] = Counter()
    lock = threading.Lock()

    def client(k: int) -> None:
        for n in range(10):
            # Every id is sent by two clients: exactly one of them gets 'accepted'.
            ids = [f"id-{(k // 2)}-{n}-{i}" for i in range(50)]
            for item in remote.submit(_batch(ids), "events").items:
                if item.status == "accepted":
                    with lock:
                        accepted[item.event_id or ""] += 1

    try:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        stored = _stored(store)
        assert len(stored) == len(set(stored)) == 3 * 10 * 50
        assert set(accepted) == set(stored)
        assert set(accepted.values()) == {1}
    finally:
        remote.close()
        store.dispose()


def test_a_dead_ingest_child_fails_only_unanswered_requests_and_is_restarted(
    tmp_path: Path,
) -> None:
    store = _store(str(tmp_path / "s.db"))
    remote = IngestProcess(store.url)
    try:
        assert remote.submit(_batch(["a1"]), "events").summary()["accepted"] == 1
        first = remote._proc
        assert first is not None
        first.kill()
        first.wait(10)
        deadline = time.monotonic() + 20
        while remote._proc in (None, first) and time.monotonic() < deadline:
            time.sleep(0.02)  # the supervisor notices the exit and starts a new child
        assert remote._proc not in (None, first)
        assert remote.submit(_batch(["a2"]), "events").summary()["accepted"] == 1
        assert sorted(_stored(store)) == ["a1", "a2"]
    finally:
        remote.close()
        store.dispose()


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:  # the parent pid
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_serve_forwards_ingest_and_its_children_die_with_it(tmp_path: Path) -> None:
    db = str(tmp_path / "serve.db")
    store = _store(db)
    key = create_key(store, ["admin"], "t")["key"]
    store.dispose()
    server = Server(db).start()
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            r = client.post(
                "/v1/events/batch",
                content=_batch(["h1", "h2"]),
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code == 200 and r.json()["accepted"] == 2
            r = client.post(
                "/v1/events/batch",
                content=b'{"events": [',
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code == 422
            assert "malformed JSON" in r.json()["detail"][0]["message"]
            r = client.post("/v1/events/batch", json={"events": [{"event_id": "x"}] * 10_001})
            assert r.status_code == 422 and r.json()["detail"][0]["field"] == "events"
            r = client.post(
                "/v1/events",
                json={
                    "event_id": "h3",
                    "contact_id": "c1",
                    "type": "t",
                    "timestamp": "2026-11-20T10:00Z",
                },
            )
            assert r.status_code == 201 and r.json()["status"] == "accepted"
            r = client.post(
                "/v1/events",
                json={
                    "event_id": "h4",
                    "contact_id": "ghost",
                    "type": "t",
                    "timestamp": "2026-11-20T10:00Z",
                },
            )
            assert r.status_code == 422 and r.json()["detail"][0]["field"] == "contact_id"
            # wait=true: answered with the rescored contacts (the model of `serve --model`).
            r = client.post(
                "/v1/events/batch?wait=true",
                content=_batch(["h5"]),
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code == 200, r.text
            assert r.json()["scores"]["c0"]["pending_rescoring"] is False
            assert client.get("/v1/status").json()["events"] == 4
        assert server.proc is not None
        children = _children(server.proc.pid)
        assert len(children) == 2  # the scorer and the ingest process
        server.kill()
        deadline = time.monotonic() + 10
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(c) for c in children)
    finally:
        server.stop()


def test_concurrent_writers_on_one_store_store_each_event_once(db_url: str) -> None:
    """Two independent writers (as two servers would be) with overlapping ids."""
    stores = [_store(db_url)] + [Store(db_url) for _ in range(2)]
    accepted: Counter[str] = Counter()
    lock = threading.Lock()
    failures: list[BaseException] = []

    def writer(store: Store, k: int) -> None:
        try:
            for n in range(15):
                ids = [f"w-{n}-{i}" for i in range(60)]
                ids = ids[k * 20 :] + ids[: k * 20]  # the same ids, in another order
                for item in ingest(store, _batch(ids)).items:
                    if item.status == "accepted":
                        with lock:
                            accepted[item.event_id or ""] += 1
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    try:
        threads = [threading.Thread(target=writer, args=(s, k)) for k, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not failures, failures
        stored = _stored(stores[0])
        assert len(stored) == len(set(stored)) == 15 * 60
        assert set(accepted) == set(stored) and set(accepted.values()) == {1}
        with stores[0].read() as conn:
            dirty = conn.execute(select(func.sum(contacts.c.dirty))).scalar_one()
        assert dirty >= len(CONTACTS)  # every touched contact awaits rescoring
    finally:
        for s in stores:
            s.dispose()


def test_sigterm_lets_the_ingest_child_finish(tmp_path: Path) -> None:
    store = _store(str(tmp_path / "t.db"))
    remote = IngestProcess(store.url)
    try:
        assert remote.submit(_batch(["t1"]), "events").summary()["accepted"] == 1
        proc = remote._proc
        assert proc is not None
    finally:
        remote.close()
    assert proc.returncode == 0  # its input closed: it committed what it had and exited
    assert _stored(store) == ["t1"]
    store.dispose()
