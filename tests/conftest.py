"""Shared test configuration.

Tests that need a server or a heavy runtime are marked (`postgres`, `spark`,
`browser`, `datasets`). On a laptop without the service they skip with the reason;
in CI (`CI=true`) a missing service is a failure, never a silent skip.

Browser tests write their screenshots to a temporary folder, so a test run leaves
the working tree as it was; with ``LEADSCORE_UPDATE_SCREENSHOTS=1`` they also copy
them over the committed ones (docs/screenshots, tests/analytics/screenshots).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
DATASETS = REPO.parent / "shared" / "datasets"
PG_URL = os.environ.get("LEADSCORE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
UPDATE_SCREENSHOTS = os.environ.get("LEADSCORE_UPDATE_SCREENSHOTS", "").lower() in ("1", "true")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def need(condition: bool, reason: str) -> None:
    """Skip when a service is absent, except in CI where it must be there."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI but unavailable: {reason}")
    pytest.skip(reason)


def _postgres_up() -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_url() -> str:
    need(_postgres_up(), f"PostgreSQL not reachable at {PG_URL}")
    return PG_URL


@pytest.fixture(scope="session")
def spark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        need(False, "pyspark is not installed (pip install -e '.[spark]')")
    need(shutil.which("java") is not None, "Java is not installed (PySpark needs it)")
    return True


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    need(path is not None, "Debian chromium is not installed (apt-get install chromium)")
    assert path is not None
    return path


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Belt and braces: even a request a test's route guard missed could not
    # resolve any host but the local one.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="session")
def chromium(chromium_path: str) -> Iterator[Any]:
    """The one headless Chromium of the session; every browser test takes it.

    One, and no test starts Playwright itself: while Playwright's sync API is
    started, the main thread counts as inside a running asyncio loop (a greenlet
    of Playwright's runs it), so another ``sync_playwright()`` before this one
    has stopped fails with "using Playwright Sync API inside the asyncio loop".
    """
    need(importlib.util.find_spec("playwright") is not None, "playwright is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    if not DATASETS.exists():
        pytest.skip(f"shared datasets absent at {DATASETS}")
    return DATASETS


@pytest.fixture(scope="session")
def pg_scratch_url(pg_url: str) -> Iterator[str]:
    """A scratch PostgreSQL database for this session (never the shared one), dropped after."""
    import uuid

    import psycopg

    name = f"leadscore_batch_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{pg_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class Screenshots:
    """Where browser tests save PNGs, and whether they replace the committed ones."""

    folder: Path  # temporary, one per test session
    update: bool  # LEADSCORE_UPDATE_SCREENSHOTS=1

    def path(self, name: str) -> Path:
        """Where to take the screenshot ``name`` (a file name such as ``queue.png``)."""
        return self.folder / name

    def keep(self, shot: Path, committed: Path) -> Path:
        """Check that ``shot`` is a PNG with content; copy it to ``committed`` if updating."""
        data = shot.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1_000, f"{shot}: not a screenshot"
        if self.update:
            committed.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, committed)
        return shot


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    return Screenshots(tmp_path_factory.mktemp("screenshots"), UPDATE_SCREENSHOTS)
