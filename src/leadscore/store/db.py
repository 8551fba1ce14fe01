"""Connecting to the store, running migrations and the transaction discipline.

The embedded default is one SQLite file in WAL mode with ``synchronous=FULL``:

* WAL lets any number of readers (score reads, dashboards) run while one writer
  commits, which is the shape of this service: many small ingests, many reads.
* ``synchronous=FULL`` fsyncs the WAL on every commit, so an acknowledged event
  survives a power loss, not only a process crash (NORMAL would only survive the
  latter).
* SQLite over DuckDB: DuckDB is built for analytical scans and takes a single
  process-wide write lock with slow single-row commits; an OLTP ingest path with
  thousands of small durable transactions is exactly what SQLite is good at.

Writers go through :meth:`Store.write`, which on SQLite takes a process lock and
opens the transaction with ``BEGIN IMMEDIATE``: taking the write lock up front
avoids the deadlock SQLite reports when two deferred transactions both try to
upgrade from reading to writing. Readers use a separate engine with deferred
transactions and never wait for the writer.

PostgreSQL is used through a URL (``postgresql://user@host/db``); psycopg 3 is
the driver. Several writers then run concurrently.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_DEFAULT = "sqlite:///leadscore.db"

log = logging.getLogger(__name__)


def _finite(text: str) -> float | None:
    number = float(text)  # 1e400 is valid JSON (and PostgreSQL jsonb) but inf in Python
    return number if math.isfinite(number) else None


def read_json(text: str | bytes) -> Any:
    """A stored JSON document, read defensively (the engines' json_deserializer).

    The API refuses NaN and Infinity, but a row written before that check (or by
    hand) may hold them, or a number such as 1e400 that PostgreSQL's jsonb keeps,
    which Python reads as floats no JSON answer can carry; they read as null. A document that is not JSON at all reads as an
    empty one (logged), so one bad row cannot take down every report and page.
    """
    try:
        return json.loads(text, parse_constant=lambda _constant: None, parse_float=_finite)
    except ValueError:
        log.warning("a stored JSON document is not JSON; read as empty: %.80r", text)
        return {}


def now_us() -> int:
    """The wall clock in integer microseconds since the epoch (UTC)."""
    return time.time_ns() // 1_000


def normalise_url(url: str) -> str:
    """Accept a bare file path or the usual URL spellings; pick our drivers."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    """The database behind the service: engines, migrations, transactions."""

    def __init__(self, url: str = SQLITE_DEFAULT, *, pool_size: int = 8):
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        if self.dialect == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                raise ValueError(
                    "an in-memory SQLite store cannot be shared between threads; use a file"
                )
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self._lock_path: str | None = f"{parsed.database}-writer.lock"
            self._lock_fd: int | None = None
            self.writer = self._sqlite_engine(immediate=True)
            self.reader = self._sqlite_engine(immediate=False)
        elif self.dialect == "postgresql":
            self.writer = create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                json_deserializer=read_json,
            )
            self.reader = self.writer
        else:
            raise ValueError(
                f"unsupported store '{self.dialect}' (use a SQLite file or a postgresql:// URL)"
            )

    def _sqlite_engine(self, *, immediate: bool) -> Engine:
        # The pysqlite driver's own transaction handling is turned off so that we
        # decide how each transaction begins (SQLAlchemy's documented recipe).
        engine = create_engine(
            self.url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
            json_deserializer=read_json,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    # -- transactions --------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block exits without error."""
        if self._write_lock is None:
            with self.writer.begin() as conn:
                yield conn
            return
        with self._write_lock, self._file_lock(), self.writer.begin() as conn:
            yield conn

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """The SQLite write lock across processes (API, ingest, scorer), as a queue.

        SQLite itself makes a writer that finds the file locked poll: sleep 1, 2,
        5, 10... ms and try again, so a commit waiting behind the scorer's
        transaction overslept by tens of milliseconds. A blocking ``flock`` on a
        lock file next to the database wakes the next writer as soon as the lock
        is free. Released by the kernel when a process dies, even by SIGKILL.
        """
        try:
            import fcntl
        except ImportError:  # not on Unix: SQLite's own busy wait does the job
            yield
            return
        if self._lock_fd is None:
            assert self._lock_path is not None
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot (rolled back at the end)."""
        with self.reader.connect() as conn, conn.begin():
            yield conn

    # -- schema --------------------------------------------------------------
    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` with the migrations shipped in the package."""
        from alembic import command

        with self.writer.connect() as conn:
            command.upgrade(_alembic_config(conn), revision)
            conn.commit()

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.reader.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def dispose(self) -> None:
        if getattr(self, "_lock_fd", None) is not None:
            os.close(self._lock_fd)  # type: ignore[arg-type]
            self._lock_fd = None
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("leadscore.store") / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg
