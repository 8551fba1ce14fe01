"""A live leadscore server seeded with the example data, and a guarded browser.

The server is the real app from ``create_app`` run by uvicorn in a thread on a
free 127.0.0.1 port. The browser is the session's Chromium (tests/conftest.py); every
request it makes goes through a route handler that lets only the local server
through and records anything else, and each test fails if something was blocked.
"""

from __future__ import annotations

import csv
import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadscore.service.contacts import upsert_account, upsert_contact
from leadscore.service.errors import Conflict
from leadscore.service.events import ingest
from leadscore.service.keys import create_key
from leadscore.service.leads import stage_action
from leadscore.service.runtime import Service

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES_AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
OWNERS = ("ana", "ben", "chen")
EVENT_COLUMNS = ("event_id", "contact_id", "type", "timestamp")


def owner_of(contact_id: str) -> str | None:
    """A stable owner for each example lead (the CSV has none); some stay unassigned."""
    n = int(hashlib.sha256(contact_id.encode()).hexdigest(), 16) % 4
    return OWNERS[n] if n < len(OWNERS) else None


def _shifted(text: str, days: timedelta) -> str:
    return (datetime.fromisoformat(text) + days).isoformat()


def seed_examples(service: Service) -> None:
    """Load examples/contacts.csv and events.csv, then score every lead.

    The example history was written to be scored as of 2026-11-01; the service
    scores as of the wall clock. Every timestamp is moved forward by whole days
    so the history ends where it was meant to, relative to today: otherwise decay
    and the "quiet month" rule would leave the queue without a single MQL.
    """
    store = service.store
    shift = timedelta(days=(datetime.now(UTC) - EXAMPLES_AS_OF).days)
    with (EXAMPLES / "contacts.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            cid = row.pop("contact_id")
            email = row.pop("email") or None
            fields = {k: v for k, v in row.items() if v != ""}
            if "created_at" in fields:
                fields["created_at"] = _shifted(fields["created_at"], shift)
            # Contacts of one company share an account (the CSV names the company only).
            account = None
            if fields.get("company"):
                account = "acct-" + "-".join(fields["company"].lower().split())
                upsert_account(store, account, name=fields["company"])
            try:
                upsert_contact(
                    store, cid, email=email, account_id=account, owner=owner_of(cid), fields=fields
                )
            except Conflict:
                # The example data reuses a few addresses across people; the store
                # keeps emails unique, so the second one keeps its email as a
                # profile field only (the scoring rules still read it).
                fields["email"] = email
                upsert_contact(store, cid, account_id=account, owner=owner_of(cid), fields=fields)
    items: list[dict[str, Any]] = []
    with (EXAMPLES / "events.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            props = {k: v for k, v in row.items() if k not in EVENT_COLUMNS and v != ""}
            items.append(
                {
                    "event_id": row["event_id"],
                    "contact_id": row["contact_id"],
                    "type": row["type"],
                    "timestamp": _shifted(row["timestamp"], shift),
                    "properties": props,
                }
            )
    for start in range(0, len(items), 1000):
        result = ingest(store, items[start : start + 1000])
        assert result.summary()["rejected"] == 0, result.summary()
    service.drain()


def record_outcomes(service: Service, contact_ids: list[str]) -> None:
    """Close some deals so conversion rates exist: won when the lead converts by the
    same rule the predictive model's training outcome uses (see ``converts``)."""
    with (EXAMPLES / "contacts.csv").open(newline="", encoding="utf-8") as handle:
        rows = {row["contact_id"]: row for row in csv.DictReader(handle)}
    for i, cid in enumerate(contact_ids):
        if converts(rows[cid]):
            stage_action(service.store, cid, "won", value=1000.0 + i, actor="seed")
        else:
            stage_action(service.store, cid, "lost", reason="went with a competitor", actor="seed")


# The example data has no outcomes of its own; the predictive model is trained on
# one written here, and the seeded won/lost outcomes follow it too: a lead converts
# 20 days after it was created when its title says it decides (VP, Director, Head,
# Chief), flipped for every 7th lead (by a hash of its id) so the model has noise
# to cope with. Names, email, phone and company are identifiers, not features.
TRAIN_EXCLUDE = ("first_name", "last_name", "email", "phone", "company")
TRAIN_SNAPSHOT, TRAIN_HORIZON = "created+7d", 30.0


def converts(row: dict[str, str]) -> bool:
    decides = any(w in row["job_title"] for w in ("VP", "Director", "Head", "Chief"))
    flip = int(hashlib.sha256(row["contact_id"].encode()).hexdigest(), 16) % 7 == 0
    return decides != flip


def training_files(folder: Path) -> tuple[Path, Path]:
    """The example CSVs moved to today like the seed, with a ``converted_at`` column."""
    now = datetime.now(UTC)
    shift = timedelta(days=(now - EXAMPLES_AS_OF).days)
    folder.mkdir(parents=True, exist_ok=True)
    contacts_out, events_out = folder / "contacts.csv", folder / "events.csv"
    with (EXAMPLES / "contacts.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with contacts_out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, [*rows[0], "converted_at"])
        writer.writeheader()
        for row in rows:
            row["created_at"] = _shifted(row["created_at"], shift)
            converted = datetime.fromisoformat(row["created_at"]) + timedelta(days=20)
            known = converts(row) and converted <= now  # no conversion dated in the future
            writer.writerow({**row, "converted_at": converted.isoformat() if known else ""})
    with (EXAMPLES / "events.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        events = list(reader)
        header = list(reader.fieldnames or [])
    with events_out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        for row in events:
            writer.writerow({**row, "timestamp": _shifted(row["timestamp"], shift)})
    return contacts_out, events_out


def train_predictive(registry: Path, contacts_csv: Path, events_csv: Path) -> None:
    """`leadscore train --method predictive` on the training files (a few seconds)."""
    from typer.testing import CliRunner

    from leadscore.cli.main import app

    args = ["train", "--method", "predictive", "-r", str(registry)]
    args += ["-c", str(contacts_csv), "-e", str(events_csv)]
    args += ["--snapshot", TRAIN_SNAPSHOT, "--horizon", str(TRAIN_HORIZON), "--on-leak", "drop"]
    args += ["--data-end", datetime.now(UTC).isoformat()]
    # these tests need a champion to serve, whatever readiness and the baseline say
    args += ["--force", "--promote"]
    for column in TRAIN_EXCLUDE:
        args += ["-x", column]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


def admin_key(service: Service) -> str:
    return str(create_key(service.store, ["admin"], name="dashboard tests")["key"])


# The README links these; they are replaced only with LEADSCORE_UPDATE_SCREENSHOTS=1.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class LiveServer:
    base: str
    app: Any
    service: Service
    key: str
    closed: list[str] = field(default_factory=list)  # leads given an outcome by the seed
    registry: Path | None = None  # where the served predictive model was trained
    training: tuple[Path, Path] | None = None  # its contacts and events CSVs

    def url(self, path: str) -> str:
        return self.base + path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    from leadscore.api.app import create_app
    from leadscore.service.settings import Settings

    folder = tmp_path_factory.mktemp("dashboard")
    db = folder / "leadscore.db"
    # The registry starts empty: the server starts with no predictive champion and
    # picks up the one trained below (as it would after `leadscore train -r`).
    registry = folder / "registry"
    registry.mkdir()
    # Workers off: rescoring and model activation then run inside the request,
    # so what a test sees right after an action is already final.
    settings = Settings(
        db_url=str(db),
        model_path=str(EXAMPLES / "model.yaml"),
        registry_path=str(registry),
        run_workers=False,
    )
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    service: Service = app.state.service
    seed_examples(service)
    # Outcomes for half of the second hundred leads, so the matrix, the what-if and
    # the performance page have conversion rates to show.
    closed = [f"c{n:04d}" for n in range(101, 201, 2)]
    record_outcomes(service, closed)
    training = training_files(folder / "training")
    train_predictive(registry, *training)
    assert service.predictive is not None
    # The service notices the new champion within its check interval; look now.
    assert service.predictive.load() is not None, service.predictive.problem
    try:
        yield LiveServer(
            f"http://127.0.0.1:{port}",
            app,
            service,
            admin_key(service),
            closed,
            registry,
            training,
        )
    finally:
        server.should_exit = True
        thread.join(15)


@dataclass
class Guard:
    """Requests the browser tried to send anywhere but the local server."""

    origin: str
    blocked: list[str] = field(default_factory=list)
    allowed: int = 0

    def __call__(self, route: Any) -> None:
        url = route.request.url
        if url == self.origin or url.startswith(self.origin + "/"):
            self.allowed += 1
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")


@pytest.fixture
def guard(live_server: LiveServer) -> Guard:
    return Guard(live_server.base)


@pytest.fixture
def page(chromium: Any, live_server: LiveServer, guard: Guard) -> Iterator[Any]:
    """A signed-in page; fails the test if any request left for another host."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", guard)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.goto(live_server.url("/dashboard/"))
    pg.get_by_label("API key").fill(live_server.key)
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_url("**/dashboard/")
    yield pg
    context.close()
    assert guard.blocked == [], f"requests left the machine: {guard.blocked}"
    assert guard.allowed > 0


@pytest.fixture(scope="session")
def screenshot(screenshots: Any) -> Any:
    """Take a full-page screenshot <name>.png in a temporary folder (see tests/conftest.py);
    with LEADSCORE_UPDATE_SCREENSHOTS=1 it also replaces docs/screenshots/<name>.png."""

    def save(pg: Any, name: str, element: Any = None) -> Path:
        """The full page, or only ``element`` (a locator) when given."""
        path = screenshots.path(f"{name}.png")
        if element is not None:
            element.screenshot(path=str(path))
        else:
            pg.screenshot(path=str(path), full_page=True)
        return screenshots.keep(path, SCREENSHOTS / path.name)

    return save
