"""Fixtures for the API tests: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadscore.api.app import create_app
from leadscore.service.keys import create_key
from leadscore.service.settings import Settings

REPO = Path(__file__).resolve().parents[2]
MODEL_YAML = (REPO / "examples" / "model.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def pg_database(pg_url: str) -> Iterator[str]:
    """A scratch database for this test session, dropped at the end."""
    import psycopg

    name = f"leadscore_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_pg(url: str) -> None:
    """Empty every table (much faster than recreating the schema for each test)."""
    from sqlalchemy import text

    from leadscore.store import Store, metadata

    store = Store(url)
    store.upgrade()
    with store.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        # Restart ids so tests can name "model 1" or "webhook 1".
        for table in metadata.sorted_tables:
            for column in table.primary_key.columns:
                if column.autoincrement is True or (
                    column.autoincrement == "auto"
                    and len(table.primary_key.columns) == 1
                    and column.type.python_type is int
                ):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                            f"'{column.name}'), 1, false)"
                        )
                    )
    store.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "leadscore.db")
    url: str = request.getfixturevalue("pg_database")
    _reset_pg(url)
    return url


@dataclass
class Api:
    """A test client plus one key per scope."""

    client: TestClient
    keys: dict[str, str]

    @property
    def service(self) -> Any:
        return self.client.app.state.service  # type: ignore[attr-defined]

    def h(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}

    def get(self, path: str, scope: str = "admin", **kw: Any) -> Any:
        return self.client.get(path, headers=self.h(scope), **kw)

    def post(self, path: str, scope: str = "admin", **kw: Any) -> Any:
        return self.client.post(path, headers=self.h(scope), **kw)

    def put(self, path: str, scope: str = "admin", **kw: Any) -> Any:
        return self.client.put(path, headers=self.h(scope), **kw)

    def delete(self, path: str, scope: str = "admin", **kw: Any) -> Any:
        return self.client.delete(path, headers=self.h(scope), **kw)

    # -- helpers used by many tests --
    def activate(self, yaml: str = MODEL_YAML) -> int:
        r = self.post("/v1/models", json={"yaml": yaml, "activate": True})
        assert r.status_code == 201, r.text
        return int(r.json()["version"])

    def contact(self, contact_id: str, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"contact_id": contact_id, "fields": fields}
        for key in ("email", "owner", "account_id"):
            if key in fields:
                body[key] = fields.pop(key)
        r = self.post("/v1/contacts", json=body)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())


def make_api(db_url: str, **settings: Any) -> Iterator[Api]:
    opts: dict[str, Any] = {"db_url": db_url, "run_workers": False}
    opts.update(settings)
    app = create_app(Settings(**opts))
    with TestClient(app) as client:
        store = app.state.service.store
        keys = {
            scope: create_key(store, [scope], name=f"test-{scope}")["key"]
            for scope in ("admin", "read", "ingest")
        }
        yield Api(client, keys)


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    yield from make_api(db_url)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """One app per module and store, for tests that only read or check refusals."""
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("db") / "leadscore.db")
    else:
        url = request.getfixturevalue("pg_database")
        _reset_pg(url)
    yield from make_api(url)


def event(
    event_id: str,
    contact_id: str | None = "c1",
    type: str = "page_view",
    timestamp: str | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """An event; by default an hour ago, so decay and surge see it as fresh."""
    out: dict[str, Any] = {
        "event_id": event_id,
        "type": type,
        "timestamp": timestamp or ago(hours=1),
    }
    if contact_id is not None:
        out["contact_id"] = contact_id
    if properties:
        out["properties"] = properties
    return out


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


GOOD_FIT = {
    "job_title": "VP Marketing",
    "industry": "software",
    "employees": 300,
    "country": "US",
    "email": "vp@acme.com",
}
