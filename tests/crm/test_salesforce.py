"""Salesforce connector against a local Salesforce (tests/crm/fakecrm.py)."""

from __future__ import annotations

import logging

import httpx
import pytest
from crmkit import (
    LOCAL,
    Sleeps,
    expected_fit,
    rescore,
    salesforce_config,
    seed,
    stop_after_first_batch,
)
from fakecrm import Canned, FakeSalesforce

from leadscore.crm import outbox
from leadscore.crm.config import CrmConfigError
from leadscore.crm.sync import CrmSync
from leadscore.store import Store

SF = ("salesforce",)
PATCH = FakeSalesforce.COLLECTIONS


def leads_and_contacts(fake: FakeSalesforce, n: int) -> list[str]:
    """Record ids for contacts 0..n-1: even ones Leads, odd ones Contacts."""
    return [fake.add_record("Lead" if i % 2 == 0 else "Contact") for i in range(n)]


def assert_each_once(
    fake: FakeSalesforce,
    ids: list[str],
    record_ids: list[str],
    bump: dict[str, float] | None = None,
) -> None:
    bump = bump or {}
    for cid, rid in zip(ids, record_ids, strict=True):
        applied = fake.applied(rid)
        assert len(applied) == 1, (cid, applied)
        field = "Lead_Score__c" if rid.startswith("00Q") else "Contact_Score__c"
        assert applied[0][field] == expected_fit(cid, bump.get(cid, 0.0))


def test_leads_and_contacts_in_collections_of_200(
    store: Store, salesforce: FakeSalesforce, sleeps: Sleeps
) -> None:
    record_ids = leads_and_contacts(salesforce, 450)
    ids = seed(store, 450, fields=lambda i: {"salesforce_id": record_ids[i]}, connectors=SF)
    done = CrmSync(store, salesforce_config(salesforce), "salesforce", sleeps, allow=LOCAL).drain()
    assert (done.sent, done.dead) == (450, 0)
    assert salesforce.calls(PATCH) == 3  # 200 + 200 + 50
    assert_each_once(salesforce, ids, record_ids)
    lead, contact = salesforce.records[record_ids[64]], salesforce.records[record_ids[65]]
    assert lead == {
        "type": "Lead",
        "Lead_Score__c": 64.0,
        "Lead_Grade__c": "A2",
        "Lead_Reasons__c": "Senior title (+15); Viewed pricing (+10)",
    }
    assert contact == {"type": "Contact", "Contact_Score__c": 65.0, "Contact_Stage__c": "lead"}
    assert outbox.counts(store) == {}


def test_a_deleted_record_is_a_dead_letter_the_others_go_through(
    store: Store, salesforce: FakeSalesforce, sleeps: Sleeps
) -> None:
    record_ids = leads_and_contacts(salesforce, 6)
    del salesforce.records[record_ids[3]]
    ids = seed(store, 6, fields=lambda i: {"salesforce_id": record_ids[i]}, connectors=SF)
    done = CrmSync(store, salesforce_config(salesforce), "salesforce", sleeps, allow=LOCAL).drain()
    assert (done.sent, done.dead) == (5, 1)
    assert salesforce.calls(PATCH) == 1  # allOrNone=false: one failure does not stop the rest
    [letter] = outbox.dead_letters(store, "salesforce")
    assert letter["contact_id"] == ids[3]
    assert letter["last_error"].startswith("ENTITY_IS_DELETED")
    assert letter["payload"]["id"] == record_ids[3]


def test_a_record_of_the_wrong_type_is_a_dead_letter(
    store: Store, salesforce: FakeSalesforce, sleeps: Sleeps
) -> None:
    lead = salesforce.add_record("Lead")
    salesforce.records[lead]["type"] = "Contact"  # converted meanwhile: the id no longer fits
    seed(store, 1, fields=lambda i: {"salesforce_id": lead}, connectors=SF)
    done = CrmSync(store, salesforce_config(salesforce), "salesforce", sleeps, allow=LOCAL).drain()
    assert done.dead == 1
    assert "MALFORMED_ID" in outbox.dead_letters(store)[0]["last_error"]


def test_missing_custom_field_is_named_before_anything_is_sent(
    store: Store, salesforce: FakeSalesforce, sleeps: Sleeps
) -> None:
    del salesforce.fields["Lead"]["Lead_Grade__c"]
    record_ids = leads_and_contacts(salesforce, 2)
    seed(store, 2, fields=lambda i: {"salesforce_id": record_ids[i]}, connectors=SF)
    done = CrmSync(store, salesforce_config(salesforce), "salesforce", sleeps, allow=LOCAL).drain()
    assert done.dead == 2
    assert salesforce.calls(PATCH) == 0
    assert (
        "Salesforce Lead: missing fields Lead_Grade__c"
        in outbox.dead_letters(store)[0]["last_error"]
    )


def test_contacts_without_a_salesforce_id_are_skipped(
    store: Store, salesforce: FakeSalesforce, sleeps: Sleeps
) -> None:
    record_ids = leads_and_contacts(salesforce, 3)
    seed(
        store,
        4,
        fields=lambda i: {"salesforce_id": record_ids[i]} if i < 3 else {},
        connectors=SF,
    )
    done = CrmSync(store, salesforce_config(salesforce), "salesforce", sleeps, allow=LOCAL).drain()
    assert (done.sent, done.skipped) == (3, 1)


def test_429_and_5xx_are_retried_and_nothing_is_sent_twice(
    store: Store, salesforce: FakeSalesforce, sleeps: Sleeps
) -> None:
    record_ids = leads_and_contacts(salesforce, 300)
    ids = seed(store, 300, fields=lambda i: {"salesforce_id": record_ids[i]}, connectors=SF)
    busy = [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    salesforce.canned += [
        Canned(PATCH, 429, busy, {"Retry-After": "2"}),
        Canned(PATCH, 503, [{"message": "Service unavailable", "errorCode": "SERVER_UNAVAILABLE"}]),
        Canned(PATCH, 500, None),
    ]
    done = CrmSync(store, salesforce_config(salesforce), "salesforce", sleeps, allow=LOCAL).drain()
    assert done.sent == 300 and done.dead == 0
    assert 2.0 in sleeps
    assert_each_once(salesforce, ids, record_ids)


def test_daily_limit_403_is_retried_later_not_dead(
    store: Store, salesforce: FakeSalesforce, sleeps: Sleeps
) -> None:
    record_ids = leads_and_contacts(salesforce, 2)
    ids = seed(store, 2, fields=lambda i: {"salesforce_id": record_ids[i]}, connectors=SF)
    limit = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    salesforce.canned += [Canned(PATCH, 403, limit)] * 2
    sync = CrmSync(store, salesforce_config(salesforce), "salesforce", sleeps, allow=LOCAL)
    first = sync.step()
    assert first is not None and first.retrying == 2
    sync.drain()
    assert_each_once(salesforce, ids, record_ids)


def test_outage_in_the_middle_of_a_sync_loses_nothing_and_repeats_nothing(
    store: Store, salesforce: FakeSalesforce, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    record_ids = leads_and_contacts(salesforce, 500)
    ids = seed(store, 500, fields=lambda i: {"salesforce_id": record_ids[i]}, connectors=SF)
    changed = ids[-4:]
    back = stop_after_first_batch(salesforce, store, changed, SF)
    with caplog.at_level(logging.WARNING, logger="leadscore.crm"):
        done = CrmSync(
            store, salesforce_config(salesforce), "salesforce", sleeps, allow=LOCAL
        ).drain()
    assert back.is_set()
    assert any("ConnectError" in r.getMessage() for r in caplog.records)
    assert done.sent == 500 and done.dead == 0
    assert_each_once(salesforce, ids, record_ids, dict.fromkeys(changed, 7.0))


def test_expired_session_is_retried_then_dead_lettered(
    store: Store, salesforce: FakeSalesforce, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_ids = leads_and_contacts(salesforce, 2)
    seed(store, 2, fields=lambda i: {"salesforce_id": record_ids[i]}, connectors=SF)
    monkeypatch.setenv("TEST_SF_TOKEN", "expired")
    done = CrmSync(
        store, salesforce_config(salesforce, max_attempts=3), "salesforce", sleeps, allow=LOCAL
    ).drain()
    assert done.dead == 2
    letters = outbox.dead_letters(store)
    assert all(x["last_status"] == 401 and "INVALID_SESSION_ID" in x["last_error"] for x in letters)
    assert all(x["attempts"] == 3 for x in letters)


def test_coalescing_sends_the_latest_values_once(
    store: Store, salesforce: FakeSalesforce, sleeps: Sleeps
) -> None:
    record_ids = leads_and_contacts(salesforce, 2)
    ids = seed(store, 2, fields=lambda i: {"salesforce_id": record_ids[i]}, connectors=SF)
    for bump in (1.0, 2.0, 3.0):
        rescore(store, ids, bump, SF)
    CrmSync(store, salesforce_config(salesforce), "salesforce", sleeps, allow=LOCAL).drain()
    assert_each_once(salesforce, ids, record_ids, dict.fromkeys(ids, 3.0))


def test_the_fake_keeps_salesforces_limits(salesforce: FakeSalesforce) -> None:
    records = [{"attributes": {"type": "Lead"}, "id": f"00Q{i:015d}"} for i in range(201)]
    auth = {"Authorization": f"Bearer {salesforce.token}"}
    r = httpx.patch(
        salesforce.url + PATCH, json={"allOrNone": False, "records": records}, headers=auth
    )
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    r = httpx.patch(salesforce.url + PATCH, json={"allOrNone": False, "records": records[:1]})
    assert r.status_code == 401 and r.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_config_refuses_more_than_200_and_unknown_objects(salesforce: FakeSalesforce) -> None:
    with pytest.raises(CrmConfigError, match="batch_size"):
        salesforce_config(salesforce, salesforce={"batch_size": 201})
    with pytest.raises(CrmConfigError, match="objects"):
        salesforce_config(salesforce, salesforce={"objects": {"Account": {"grade": "X__c"}}})
