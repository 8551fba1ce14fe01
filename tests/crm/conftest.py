"""Fixtures of the CRM contract tests: fake CRMs on 127.0.0.1 and a store (SQLite, PostgreSQL)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crmkit import CONTACT_MAP, LEAD_MAP, Sleeps
from fakecrm import FakeHubSpot, FakeSalesforce

from leadscore.store import Store
from leadscore.store.tables import contacts


@pytest.fixture(scope="session")
def crm_pg_database(pg_url: str) -> Iterator[str]:
    import psycopg

    name = f"leadscore_crm_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{pg_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = str(tmp_path / "crm.db")
    else:
        url = request.getfixturevalue("crm_pg_database")
    db = Store(url)
    db.upgrade()
    with db.write() as conn:  # a clean slate on the shared PostgreSQL database
        conn.execute(contacts.delete())
    yield db
    db.dispose()


@pytest.fixture
def hubspot(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHubSpot]:
    fake = FakeHubSpot()
    fake.start()
    monkeypatch.setenv("TEST_HUBSPOT_TOKEN", fake.token)
    yield fake
    fake.stop()


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesforce]:
    fake = FakeSalesforce()
    for name in LEAD_MAP.values():
        fake.add_field("Lead", name, "string" if name != "Lead_Score__c" else "double")
    for name in CONTACT_MAP.values():
        fake.add_field("Contact", name)
    fake.start()
    monkeypatch.setenv("TEST_SF_TOKEN", fake.token)
    yield fake
    fake.stop()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
