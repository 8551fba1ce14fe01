"""HubSpot connector against a local HubSpot (tests/crm/fakecrm.py)."""

from __future__ import annotations

import logging
import threading

import httpx
import pytest
from crmkit import (
    LOCAL,
    Sleeps,
    expected_fit,
    hubspot_config,
    rescore,
    seed,
    stop_after_first_batch,
)
from fakecrm import Canned, FakeHubSpot

from leadscore.crm import outbox
from leadscore.crm.config import CrmConfigError, parse_config
from leadscore.crm.http import RateLimiter
from leadscore.crm.sync import CrmSync
from leadscore.store import Store

HS = ("hubspot",)
BATCH = FakeHubSpot.BATCH


def with_hubspot_records(fake: FakeHubSpot, n: int) -> None:
    for i in range(n):
        fake.add_contact(f"person{i}@example.com")


def assert_each_once(
    fake: FakeHubSpot, ids: list[str], bump: dict[str, float] | None = None
) -> None:
    """Every contact arrived exactly once, with its latest values."""
    bump = bump or {}
    for cid in ids:
        applied = fake.applied(f"person{int(cid[1:])}@example.com")
        assert len(applied) == 1, (cid, applied)
        assert float(applied[0]["leadscore_fit"]) == expected_fit(cid, bump.get(cid, 0.0))


def test_backfill_creates_properties_and_sends_batches_of_100(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps
) -> None:
    with_hubspot_records(hubspot, 250)
    ids = seed(store, 250, connectors=HS)
    sync = CrmSync(store, hubspot_config(hubspot), "hubspot", sleeps, allow=LOCAL)
    done = sync.drain()
    assert (done.sent, done.dead, done.retrying) == (250, 0, 0)
    assert hubspot.calls(BATCH) == 3  # 100 + 100 + 50
    assert "leadscore" in hubspot.groups
    for name, kind in [("leadscore_fit", "number"), ("leadscore_grade", "string")]:
        assert hubspot.properties[name]["type"] == kind
        assert hubspot.properties[name]["groupName"] == "leadscore"
    assert_each_once(hubspot, ids)
    record = hubspot.by_email("person61@example.com")
    assert record is not None
    assert record["properties"] == {
        "leadscore_fit": "61",
        "leadscore_engagement": "12.5",
        "leadscore_grade": "A2",
        "leadscore_stage": "lead",
        "leadscore_top_reasons": "Senior title (+15); Viewed pricing (+10)",
    }
    assert outbox.counts(store) == {}
    # Properties exist now: a second sync does not try to create them again.
    posts = hubspot.calls("/crm/v3/properties/contacts")
    rescore(store, ids[:3], 1.0, HS)
    CrmSync(store, hubspot_config(hubspot), "hubspot", sleeps, allow=LOCAL).drain()
    assert hubspot.calls("/crm/v3/properties/contacts") == posts + 1  # the GET only


def test_a_contact_changed_five_times_is_sent_once_with_its_latest_values(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps
) -> None:
    with_hubspot_records(hubspot, 3)
    ids = seed(store, 3, connectors=HS)
    for bump in (1.0, 2.0, 3.0, 4.0, 5.0):
        rescore(store, ids[:1], bump, HS)
    CrmSync(store, hubspot_config(hubspot), "hubspot", sleeps, allow=LOCAL).drain()
    assert_each_once(hubspot, ids, {ids[0]: 5.0})


def test_429_waits_for_retry_after_and_nothing_is_sent_twice(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps
) -> None:
    with_hubspot_records(hubspot, 150)
    ids = seed(store, 150, connectors=HS)
    too_many = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING",
    }
    hubspot.canned += [Canned(BATCH, 429, too_many, {"Retry-After": "3"})] * 2
    done = CrmSync(
        store, hubspot_config(hubspot, request_retries=3), "hubspot", sleeps, allow=LOCAL
    ).drain()
    assert done.sent == 150 and done.retrying == 0
    assert sleeps.count(3.0) == 2  # the server's Retry-After, not our own backoff
    assert hubspot.calls(BATCH) == 2 + 2
    assert_each_once(hubspot, ids)


def test_429_beyond_the_retries_goes_back_to_the_outbox_for_later(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps
) -> None:
    with_hubspot_records(hubspot, 5)
    ids = seed(store, 5, connectors=HS)
    hubspot.canned += [Canned(BATCH, 429, {"status": "error"}, {"Retry-After": "0.2"})] * 2
    sync = CrmSync(
        store, hubspot_config(hubspot, request_retries=1), "hubspot", sleeps, allow=LOCAL
    )
    first = sync.step()
    assert first is not None and first.retrying == 5
    assert outbox.counts(store) == {"hubspot": {"pending": 5, "dead": 0}}
    assert sync.step() is None  # not due before the Retry-After has passed
    sync.drain()
    assert_each_once(hubspot, ids)


def test_server_errors_are_retried(store: Store, hubspot: FakeHubSpot, sleeps: Sleeps) -> None:
    with_hubspot_records(hubspot, 10)
    ids = seed(store, 10, connectors=HS)
    hubspot.canned += [
        Canned(BATCH, 500, {"status": "error", "message": "internal error"}),
        Canned(BATCH, 503, {"status": "error", "message": "unavailable"}),
        Canned(BATCH, 502, None),
    ]
    done = CrmSync(store, hubspot_config(hubspot), "hubspot", sleeps, allow=LOCAL).drain()
    assert done.sent == 10
    assert_each_once(hubspot, ids)


def test_outage_in_the_middle_of_a_sync_loses_nothing_and_repeats_nothing(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    with_hubspot_records(hubspot, 250)
    ids = seed(store, 250, connectors=HS)
    changed = ids[-5:]  # not acknowledged yet when the CRM goes down
    back = stop_after_first_batch(hubspot, store, changed, HS)
    with caplog.at_level(logging.WARNING, logger="leadscore.crm"):
        done = CrmSync(store, hubspot_config(hubspot), "hubspot", sleeps, allow=LOCAL).drain()
    assert back.is_set()
    messages = [r.getMessage() for r in caplog.records]
    assert any("ConnectError" in m for m in messages), messages
    assert done.sent == 250 and done.dead == 0 and done.retrying > 0
    assert_each_once(hubspot, ids, dict.fromkeys(changed, 7.0))
    assert outbox.counts(store) == {}


def test_unknown_contact_is_a_dead_letter_and_can_be_retried(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps
) -> None:
    with_hubspot_records(hubspot, 4)  # person4 is not in HubSpot
    ids = seed(store, 5, connectors=HS)
    config = hubspot_config(hubspot)
    done = CrmSync(store, config, "hubspot", sleeps, allow=LOCAL).drain()
    assert (done.sent, done.dead) == (4, 1)
    assert hubspot.calls(BATCH) == 1  # a 207: the others went through in the same call
    [letter] = outbox.dead_letters(store)
    assert letter["contact_id"] == ids[4]
    assert letter["last_status"] == 207
    assert "OBJECT_NOT_FOUND" in letter["last_error"]
    assert letter["payload"]["id"] == "person4@example.com"
    hubspot.add_contact("person4@example.com")
    assert outbox.retry_dead(store, letter_id=letter["id"]) == 1
    CrmSync(store, config, "hubspot", sleeps, allow=LOCAL).drain()
    assert_each_once(hubspot, ids)
    assert outbox.dead_letters(store) == []


def test_a_bad_value_rejects_only_its_own_record(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps
) -> None:
    # A number property fed with a grade: HubSpot refuses the whole batch (400);
    # records are then sent one by one, and only the bad one is dead.
    hubspot.properties["fit_grade"] = {"name": "fit_grade", "type": "number"}
    with_hubspot_records(hubspot, 4)
    ids = seed(store, 4, connectors=HS)
    rescore(store, ids[1:2], 200.0, HS)  # fit 201 -> grade "A", the others "B"
    config = hubspot_config(
        hubspot, hubspot={"properties": {"score.fit": "leadscore_fit", "grade": "fit_grade"}}
    )
    done = CrmSync(store, config, "hubspot", sleeps, allow=LOCAL).drain()
    assert (done.sent, done.dead) == (0, 4)  # "B2" is no number either
    letters = outbox.dead_letters(store)
    assert {letter["contact_id"] for letter in letters} == set(ids)
    assert all("INVALID_FLOAT" in letter["last_error"] for letter in letters)
    assert hubspot.calls(BATCH) == 1 + 4


def test_records_isolated_after_a_rejected_batch(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps
) -> None:
    hubspot.properties["surge_flag"] = {"name": "surge_flag", "type": "number"}
    with_hubspot_records(hubspot, 3)
    ids = seed(store, 3, connectors=HS)
    config = hubspot_config(
        hubspot,
        hubspot={"properties": {"score.fit": "leadscore_fit", "grade.fit": "surge_flag"}},
    )
    # grade.fit is "B" for everyone but c00002 is made gradeless: its "" is a valid number.
    from sqlalchemy import update

    from leadscore.store.tables import contacts

    with store.write() as conn:
        conn.execute(
            update(contacts)
            .where(contacts.c.contact_id == ids[2])
            .values(scores={"fit": {"value": 2.0, "grade": None}})
        )
    done = CrmSync(store, config, "hubspot", sleeps, allow=LOCAL).drain()
    assert (done.sent, done.dead) == (1, 2)
    assert len(hubspot.applied("person2@example.com")) == 1
    assert {x["contact_id"] for x in outbox.dead_letters(store)} == set(ids[:2])


def test_wrong_token_is_retried_then_dead_lettered(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_hubspot_records(hubspot, 2)
    seed(store, 2, connectors=HS)
    monkeypatch.setenv("TEST_HUBSPOT_TOKEN", "expired")
    sync = CrmSync(store, hubspot_config(hubspot, max_attempts=2), "hubspot", sleeps, allow=LOCAL)
    first = sync.step()
    assert first is not None and first.retrying == 2  # a token can be rotated: not dead yet
    done = sync.drain()
    assert done.dead == 2
    letters = outbox.dead_letters(store)
    assert {x["last_status"] for x in letters} == {401}
    assert "INVALID_AUTHENTICATION" in letters[0]["last_error"]
    assert hubspot.updates == []


def test_contacts_without_email_are_skipped(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps
) -> None:
    with_hubspot_records(hubspot, 2)
    ids = seed(store, 2, connectors=HS)
    from sqlalchemy import update

    from leadscore.store.tables import contacts

    with store.write() as conn:
        conn.execute(update(contacts).where(contacts.c.contact_id == ids[0]).values(email=None))
    done = CrmSync(store, hubspot_config(hubspot), "hubspot", sleeps, allow=LOCAL).drain()
    assert (done.sent, done.skipped, done.dead) == (1, 1, 0)
    assert outbox.counts(store) == {}


def test_identify_by_stored_hubspot_id(store: Store, hubspot: FakeHubSpot, sleeps: Sleeps) -> None:
    record_ids = [hubspot.add_contact(f"other{i}@example.com") for i in range(3)]
    seed(store, 3, fields=lambda i: {"hubspot_id": record_ids[i]}, connectors=HS)
    config = hubspot_config(hubspot, hubspot={"identify_by": "hubspot_id"})
    assert CrmSync(store, config, "hubspot", sleeps, allow=LOCAL).drain().sent == 3
    assert float(hubspot.contacts[record_ids[2]]["properties"]["leadscore_fit"]) == 2.0


def test_two_senders_never_send_the_same_row(store: Store, hubspot: FakeHubSpot) -> None:
    with_hubspot_records(hubspot, 400)
    ids = seed(store, 400, connectors=HS)
    config = hubspot_config(hubspot, hubspot={"batch_size": 20})
    senders = [CrmSync(store, config, "hubspot", allow=LOCAL) for _ in range(2)]
    totals: list[int] = []
    threads = [threading.Thread(target=lambda s=s: totals.append(s.drain().sent)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(totals) == 400
    assert_each_once(hubspot, ids)


def test_the_fake_keeps_hubspots_batch_limit(hubspot: FakeHubSpot) -> None:
    """The contract the connector is held to: 101 inputs are refused with HubSpot's 400."""
    inputs = [
        {"id": f"x{i}@example.com", "idProperty": "email", "properties": {}} for i in range(101)
    ]
    r = httpx.post(
        hubspot.url + BATCH,
        json={"inputs": inputs},
        headers={"Authorization": f"Bearer {hubspot.token}"},
    )
    assert r.status_code == 400
    assert r.json()["category"] == "VALIDATION_ERROR"
    r = httpx.post(hubspot.url + BATCH, json={"inputs": inputs[:1]})
    assert r.status_code == 401


def test_config_refuses_batches_above_100_and_unknown_fields(hubspot: FakeHubSpot) -> None:
    with pytest.raises(CrmConfigError, match=r"hubspot\.batch_size"):
        hubspot_config(hubspot, hubspot={"batch_size": 101})
    with pytest.raises(CrmConfigError, match="unknown leadscore field 'score'"):
        parse_config({"hubspot": {"properties": {"score": "x"}}})


def test_rate_limiter_keeps_190_requests_per_10_seconds() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(190, 10.0, clock=lambda: now[0], sleep=sleep)
    sent = []
    for _ in range(500):
        limiter.acquire()
        sent.append(now[0])
        now[0] += 0.001  # requests themselves take a millisecond
    for i in range(len(sent) - 190):
        assert sent[i + 190] - sent[i] >= 10.0  # never 191 in one 10 s window
    assert sent[-1] < 30  # and no slower than needed: 500 requests in 3 windows
