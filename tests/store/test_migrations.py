"""The shipped migrations build exactly the schema the code declares, on both stores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from leadscore.store import Store, metadata


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store(str(tmp_path / "store.db"))
        yield s
        s.dispose()
        return
    import psycopg

    pg_url: str = request.getfixturevalue("pg_url")
    name = f"leadscore_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    s = Store(f"{pg_url.rsplit('/', 1)[0]}/{name}")
    try:
        yield s
    finally:
        s.dispose()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def head() -> str:
    """The newest shipped revision (each schema change adds one)."""
    from importlib import resources

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("leadscore.store") / "migrations"))
    found = ScriptDirectory.from_config(cfg).get_current_head()
    assert found is not None
    return found


def test_upgrade_builds_the_declared_schema(store: Store) -> None:
    assert store.current_revision() is None
    store.upgrade()
    assert store.current_revision() == head()
    with store.reader.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
        tables = set(inspect(conn).get_table_names())
    assert diff == []
    assert {t.name for t in metadata.sorted_tables} <= tables
    store.upgrade()  # running it again is a no-op
    assert store.current_revision() == head()


def test_downgrade_removes_everything(store: Store) -> None:
    store.upgrade()
    from alembic import command

    from leadscore.store.db import _alembic_config

    with store.writer.connect() as conn:
        command.downgrade(_alembic_config(conn), "base")
        conn.commit()
    with store.reader.connect() as conn:
        left = set(inspect(conn).get_table_names()) - {"alembic_version"}
    assert left == set()


def test_sqlite_store_is_wal_with_full_sync(tmp_path: Path) -> None:
    s = Store(str(tmp_path / "x.db"))
    with s.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    s.dispose()


def test_unsupported_urls_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported store"):
        Store("mysql://localhost/x")
    with pytest.raises(ValueError, match="in-memory"):
        Store("sqlite://")
