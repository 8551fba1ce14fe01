"""The CRM sync inside the service: rescoring queues, the worker sends; the API,
the dashboard page and `leadscore sync` over the same outbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from crmkit import FAST, HUBSPOT_MAP, LOCAL, seed
from fakecrm import FakeHubSpot
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadscore.api.app import create_app
from leadscore.crm import outbox
from leadscore.service.keys import create_key
from leadscore.service.settings import Settings
from leadscore.store import Store

REPO = Path(__file__).resolve().parents[2]


def now() -> str:
    return datetime.now(UTC).isoformat()


MODEL_YAML = (REPO / "examples" / "model.yaml").read_text(encoding="utf-8")


def write_config(path: Path, fake: FakeHubSpot, **sync: Any) -> str:
    config = {
        "hubspot": {
            "base_url": fake.url,
            "token_env": "TEST_HUBSPOT_TOKEN",
            "properties": HUBSPOT_MAP,
        },
        "sync": {**FAST, **sync},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


class App:
    def __init__(self, client: TestClient, keys: dict[str, str]):
        self.client, self.keys = client, keys

    def h(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}


@pytest.fixture
def app(tmp_path: Path, hubspot: FakeHubSpot, request: pytest.FixtureRequest) -> Iterator[App]:
    workers = getattr(request, "param", False)
    settings = Settings(
        db_url=str(tmp_path / "svc.db"),
        run_workers=workers,
        crm_config=write_config(tmp_path / "crm.yaml", hubspot),
        allow_private_networks=LOCAL,  # the fake HubSpot is on loopback
    )
    application = create_app(settings)
    with TestClient(application) as client:
        store = application.state.service.store
        keys = {s: create_key(store, [s], name=s)["key"] for s in ("admin", "read")}
        yield App(client, keys)


@pytest.mark.parametrize("app", [True], indirect=True)
def test_a_rescored_lead_reaches_hubspot_without_any_sync_command(
    app: App, hubspot: FakeHubSpot
) -> None:
    hubspot.add_contact("vp@acme.com")
    c = app.client
    assert (
        c.post(
            "/v1/models", json={"yaml": MODEL_YAML, "activate": True}, headers=app.h()
        ).status_code
        == 201
    )
    body = {
        "contact_id": "c1",
        "email": "vp@acme.com",
        "fields": {
            "job_title": "VP Marketing",
            "industry": "software",
            "employees": 300,
            "country": "US",
        },
    }
    assert c.post("/v1/contacts", json=body, headers=app.h()).status_code in (200, 201)
    event = {
        "event_id": "e1",
        "contact_id": "c1",
        "type": "page_view",
        "properties": {"url": "/pricing"},
        "timestamp": now(),
    }
    assert c.post("/v1/events", json=event, headers=app.h()).status_code == 201
    # The contact was scored (and sent) once before its event: wait for the
    # event's rescoring to be stored and to reach HubSpot.
    deadline = time.monotonic() + 30
    record = None
    while time.monotonic() < deadline:
        score = c.get("/v1/contacts/c1/score", headers=app.h()).json()
        if not score.get("scores"):  # not scored yet (the scorer thread is behind)
            time.sleep(0.05)
            continue
        engagement = score["scores"]["engagement"]["value"]
        record = hubspot.by_email("vp@acme.com")
        sent = (record or {}).get("properties", {}).get("leadscore_engagement")
        if engagement > 0 and sent not in (None, "") and abs(float(sent) - engagement) < 1e-3:
            break
        time.sleep(0.05)
    assert record is not None
    props = record["properties"]
    assert float(props["leadscore_fit"]) == pytest.approx(score["scores"]["fit"]["value"], abs=1e-3)
    assert float(props["leadscore_engagement"]) == pytest.approx(
        score["scores"]["engagement"]["value"], abs=1e-3
    )
    assert props["leadscore_grade"] == score["grade"]
    assert "Senior title (+15)" in props["leadscore_top_reasons"]
    status = c.get("/v1/status", headers=app.h("read")).json()
    assert status["crm"] == {}  # everything acknowledged


def test_rescoring_queues_only_when_a_crm_is_configured(tmp_path: Path) -> None:
    from leadscore.crm.outbox import counts

    application = create_app(Settings(db_url=str(tmp_path / "plain.db"), run_workers=False))
    with TestClient(application) as client:
        service = application.state.service
        key = create_key(service.store, ["admin"])["key"]
        h = {"Authorization": f"Bearer {key}"}
        client.post("/v1/models", json={"yaml": MODEL_YAML, "activate": True}, headers=h)
        client.post("/v1/contacts", json={"contact_id": "c1", "email": "a@b.co"}, headers=h)
        client.post(
            "/v1/events",
            json={"event_id": "e1", "contact_id": "c1", "type": "page_view", "timestamp": now()},
            headers=h,
        )
        service.drain()
        assert counts(service.store) == {}
        assert "crm" not in client.get("/v1/status", headers=h).json()


def test_rescoring_queues_the_contact_for_the_crm(app: App, hubspot: FakeHubSpot) -> None:
    c = app.client
    c.post("/v1/models", json={"yaml": MODEL_YAML, "activate": True}, headers=app.h())
    c.post("/v1/contacts", json={"contact_id": "c1", "email": "a@b.co"}, headers=app.h())
    for i in range(3):
        c.post(
            "/v1/events",
            json={"event_id": f"e{i}", "contact_id": "c1", "type": "page_view", "timestamp": now()},
            headers=app.h(),
        )
        c.app.state.service.drain()  # type: ignore[attr-defined]
    status = c.get("/v1/crm/status", headers=app.h()).json()
    assert status == {"configured": ["hubspot"], "queues": {"hubspot": {"pending": 1, "dead": 0}}}


def dead_letter_in(store: Store, hubspot: FakeHubSpot) -> None:
    """Two contacts queued; HubSpot knows only the first: the second becomes a dead letter."""
    from crmkit import hubspot_config

    from leadscore.crm.sync import CrmSync

    hubspot.add_contact("person0@example.com")
    seed(store, 2, connectors=("hubspot",))
    CrmSync(store, hubspot_config(hubspot), "hubspot", allow=LOCAL).drain()


def test_dead_letters_api(app: App, hubspot: FakeHubSpot) -> None:
    c = app.client
    store = c.app.state.service.store  # type: ignore[attr-defined]
    dead_letter_in(store, hubspot)
    assert c.get("/v1/crm/dead-letters", headers=app.h("read")).status_code == 403
    letters = c.get("/v1/crm/dead-letters", headers=app.h()).json()
    assert [x["contact_id"] for x in letters] == ["c00001"]
    assert letters[0]["last_status"] == 207
    assert "OBJECT_NOT_FOUND" in letters[0]["last_error"]
    assert c.get("/v1/crm/dead-letters?connector=salesforce", headers=app.h()).json() == []
    assert c.get("/v1/crm/dead-letters?connector=pipedrive", headers=app.h()).status_code == 422
    assert c.post("/v1/crm/dead-letters/999/retry", headers=app.h()).status_code == 404
    r = c.post(f"/v1/crm/dead-letters/{letters[0]['id']}/retry", headers=app.h())
    assert r.json() == {"retried": 1}
    assert outbox.counts(store) == {"hubspot": {"pending": 1, "dead": 0}}
    assert c.post("/v1/crm/dead-letters/retry", headers=app.h()).json() == {"retried": 0}


def test_dashboard_lists_dead_letters_and_retries_them(app: App, hubspot: FakeHubSpot) -> None:
    c = app.client
    store = c.app.state.service.store  # type: ignore[attr-defined]
    dead_letter_in(store, hubspot)
    page = c.get("/dashboard/crm", headers=app.h())
    assert page.status_code == 200
    assert "c00001" in page.text and "OBJECT_NOT_FOUND" in page.text
    assert c.get("/dashboard/crm", headers=app.h("read")).status_code == 403
    [letter] = outbox.dead_letters(store)
    r = c.post(
        "/dashboard/crm/retry",
        data={"letter": str(letter["id"])},
        headers=app.h(),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("retried=1")
    assert outbox.dead_letters(store) == []
    assert "1 record queued again" in c.get(r.headers["location"], headers=app.h()).text


def test_sync_command_backfills_with_a_summary(
    tmp_path: Path, hubspot: FakeHubSpot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadscore.cli.main import app as cli

    db = str(tmp_path / "cli.db")
    store = Store(db)
    store.upgrade()
    seed(store, 120)  # scored, never queued: the backfill queues them
    store.dispose()
    for i in range(119):
        hubspot.add_contact(f"person{i}@example.com")
    config = write_config(tmp_path / "crm.yaml", hubspot)
    local = ["--allow-private-network", "127.0.0.0/8"]  # the fake HubSpot is on loopback
    result = CliRunner().invoke(cli, ["sync", "hubspot", "--db", db, "--crm", config, *local])
    assert result.exit_code == 1, result.output  # one refused: scripts notice
    assert "hubspot: 119 sent, 0 skipped (no CRM record to match), 1 refused" in result.stdout
    assert "dead letters" in result.stderr
    assert len(hubspot.updates) == 119
    hubspot.add_contact("person119@example.com")
    store = Store(db)
    outbox.retry_dead(store)
    store.dispose()
    result = CliRunner().invoke(
        cli, ["sync", "hubspot", "--db", db, "--crm", config, "--queued-only", *local]
    )
    assert result.exit_code == 0, result.output
    assert "hubspot: 1 sent" in result.stdout
    assert len(hubspot.updates) == 120


def test_sync_command_names_a_bad_config(tmp_path: Path) -> None:
    from leadscore.cli.main import app as cli

    bad = tmp_path / "crm.yaml"
    bad.write_text("hubspot:\n  properties: {score: x}\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["sync", "hubspot", "--db", str(tmp_path / "x.db"), "--crm", str(bad)]
    )
    assert result.exit_code == 1
    assert "crm.yaml" in result.stderr and "unknown leadscore field 'score'" in result.stderr
    result = CliRunner().invoke(
        cli, ["sync", "salesforce", "--db", str(tmp_path / "x.db"), "--crm", str(bad)]
    )
    assert result.exit_code == 1


def test_serve_refuses_a_crm_config_without_its_token(tmp_path: Path) -> None:
    from leadscore.cli.main import app as cli

    config = tmp_path / "crm.yaml"
    config.write_text(
        "hubspot:\n  token_env: LEADSCORE_TEST_NO_SUCH_TOKEN\n  properties: {grade: g}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["serve", "--db", str(tmp_path / "s.db"), "--crm", str(config)]
    )
    assert result.exit_code == 1
    assert "LEADSCORE_TEST_NO_SUCH_TOKEN is not set (named by hubspot.token_env)" in result.stderr


def test_a_sales_action_queues_the_new_stage_for_the_crm(app: App, hubspot: FakeHubSpot) -> None:
    """No rescoring follows a stage change: the action itself queues the contact."""
    from leadscore.crm.outbox import counts, pending
    from leadscore.crm.sync import CrmSync
    from leadscore.service.leads import stage_action

    c = app.client
    store = c.app.state.service.store  # type: ignore[attr-defined]
    hubspot.add_contact("person0@example.com")
    seed(store, 2)  # scored, nothing queued
    assert counts(store) == {}
    r = c.post("/v1/contacts/c00000/stage", json={"action": "accept"}, headers=app.h())
    assert r.status_code == 200, r.text
    assert pending(store, "hubspot") == 1
    from crmkit import hubspot_config

    CrmSync(store, hubspot_config(hubspot), "hubspot", allow=LOCAL).drain()
    assert hubspot.by_email("person0@example.com")["properties"]["leadscore_stage"] == "sql"
    # Without a CRM configured (the default), a stage action queues nothing.
    stage_action(store, "c00001", "accept")
    assert pending(store, "hubspot") == 0
