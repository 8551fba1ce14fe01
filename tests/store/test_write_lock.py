"""SQLite writers of every process queue on one file lock (no busy polling)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from leadscore.store import Store

fcntl = pytest.importorskip("fcntl")


def test_sqlite_writers_wait_on_the_writer_lock_file(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s.db"))
    store.upgrade()
    lock_file = tmp_path / "s.db-writer.lock"
    entered = threading.Event()

    def write() -> None:
        with store.write():
            entered.set()

    write()  # creates the lock file
    assert lock_file.exists()
    entered.clear()
    # Another process holding the lock (here: another open file description).
    with lock_file.open("rb+") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        writer = threading.Thread(target=write)
        writer.start()
        # SQLite's own lock is free, so only the file lock can hold the writer back.
        assert not entered.wait(0.5)
        fcntl.flock(other.fileno(), fcntl.LOCK_UN)
    writer.join(10)
    assert entered.is_set()
    store.dispose()
