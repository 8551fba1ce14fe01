"""The served predictive model: following the registry's champion, and the pages
without one (HTTP only, no browser)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadscore.service.contacts import upsert_contact
from leadscore.service.keys import create_key
from leadscore.service.predictive import ChampionWatcher
from leadscore.web.backend import NOT_CONFIGURED


def _set_status(registry: Path, statuses: dict[str, str]) -> None:
    index = registry / "registry.json"
    data = json.loads(index.read_text())
    for entry in data["models"]:
        entry["status"] = statuses.get(entry["version"], entry["status"])
    index.write_text(json.dumps(data))


def test_watcher_follows_the_champion(live_server: Any, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    registry.mkdir()
    watcher = ChampionWatcher(registry, check_seconds=0)
    assert watcher.load() is None
    assert watcher.problem is not None and "registry.json: not found" in watcher.problem
    assert not watcher.broken

    shutil.copytree(live_server.registry, registry, dirs_exist_ok=True)
    first = watcher.current()
    assert first is not None and first.version == "v0001" and watcher.problem is None

    # A later training run promotes v0002 (here: a copy of v0001 registered as it
    # would be): the next look serves it.
    shutil.copytree(registry / "v0001", registry / "v0002")
    data = json.loads((registry / "registry.json").read_text())
    data["models"].append({**data["models"][0], "version": "v0002"})
    data["models"][0]["status"] = "retired"
    (registry / "registry.json").write_text(json.dumps(data))
    second = watcher.current()
    assert second is not None and second.version == "v0002"
    assert second.predictor is not first.predictor

    # The champion retired with no successor: nothing is served, and the page says why.
    _set_status(registry, {"v0002": "retired"})
    assert watcher.current() is None
    assert watcher.problem is not None and "no champion predictive model" in watcher.problem

    # A registry that cannot be read keeps the last good champion serving.
    _set_status(registry, {"v0002": "champion"})
    assert watcher.current() is not None
    (registry / "registry.json").write_text("{not json")
    kept = watcher.current()
    assert kept is not None and kept.version == "v0002"
    assert watcher.broken and watcher.problem is not None
    assert "registry.json: not valid JSON" in watcher.problem


def test_watcher_checks_at_most_every_interval(live_server: Any, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(live_server.registry, registry)
    watcher = ChampionWatcher(registry, check_seconds=3600)
    assert watcher.load() is not None
    _set_status(registry, {"v0001": "retired"})
    assert watcher.current() is not None  # not looked at again within the hour
    assert watcher.load() is None  # an explicit load always reads the registry


def test_pages_say_plainly_when_no_model_is_configured(tmp_path: Path) -> None:
    from leadscore.api.app import create_app
    from leadscore.service.settings import Settings

    app = create_app(Settings(db_url=str(tmp_path / "plain.db"), run_workers=False))
    with TestClient(app, follow_redirects=False) as client:
        store = app.state.service.store
        assert app.state.service.predictive is None
        upsert_contact(store, "c1", email="a@example.com", fields={"job_title": "VP"})
        token = create_key(store, ["read"], name="viewer")["key"]
        r = client.post("/dashboard/signin", data={"api_key": token, "next": "/dashboard/"})
        assert r.status_code == 303
        for path in ("/dashboard/leads/c1", "/dashboard/performance"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert "No predictive model is configured for this service" in page.text, path
    assert NOT_CONFIGURED.startswith("No predictive model is configured")


def test_serve_refuses_a_registry_it_cannot_use(tmp_path: Path) -> None:
    from leadscore.cli.main import app

    runner = CliRunner()
    db = str(tmp_path / "x.db")
    missing = runner.invoke(app, ["serve", "--db", db, "--registry", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert "no such registry directory" in missing.output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "registry.json").write_text("[1, 2")
    result = runner.invoke(app, ["serve", "--db", db, "--registry", str(broken)])
    assert result.exit_code == 1
    assert "registry.json: not valid JSON" in result.output


def test_a_model_that_fails_does_not_take_the_pages_down(
    live_server: Any, monkeypatch: Any
) -> None:
    from leadscore.service import predictive

    def broken(*_: Any, **__: Any) -> Any:
        raise ValueError("feature table is not what it was")

    from leadscore.web import backend

    monkeypatch.setattr(predictive, "predict", broken)
    monkeypatch.setattr(backend, "_SECTION_CACHE", {})  # what earlier tests computed
    # The lead page shows a stored, current probability without predicting; this test
    # is about the live path (a lead with none stored, or a stale one).
    monkeypatch.setattr(backend, "_stored_prediction", lambda *_: None)
    token = create_key(live_server.service.store, ["read"], name="failing model")["key"]
    client = TestClient(live_server.app, headers={"X-API-Key": token})
    lead = client.get("/dashboard/leads/c0001")
    assert lead.status_code == 200
    assert "could not score this lead: feature table is not what it was" in lead.text
    perf = client.get("/dashboard/performance")
    assert perf.status_code == 200
    assert "could not score these leads: feature table is not what it was" in perf.text


def test_performance_section_follows_the_outcomes(live_server: Any, monkeypatch: Any) -> None:
    from types import SimpleNamespace

    from leadscore.web import backend
    from leadscore.web import data as D

    monkeypatch.setattr(backend, "_SECTION_CACHE", {})
    request: Any = SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(service=live_server.service))
    )
    first = backend.predictive_section(request)
    assert f"On the {len(live_server.closed)} leads of this store" in first.intro
    assert backend.predictive_section(request) is first  # kept while nothing changed
    real = D.outcome_by_contact
    monkeypatch.setattr(D, "outcome_by_contact", lambda conn: dict(list(real(conn).items())[:30]))
    fewer = backend.predictive_section(request)
    assert fewer is not first
    assert "On the 30 leads of this store" in fewer.intro


def test_one_pass_prediction_equals_the_two_calls(live_server: Any) -> None:
    """The lead page's one pass (probability from the summed contributions) gives the
    predictor's predict_proba and top_factors."""
    from datetime import UTC, datetime

    from leadscore.learn.data import read_contacts, read_events
    from leadscore.learn.registry import load_predictor

    predictor = load_predictor(live_server.registry)
    contacts_csv, events_csv = live_server.training
    X = predictor.features(read_contacts(contacts_csv), read_events(events_csv), datetime.now(UTC))
    proba, factors = predictor.predict_with_factors(X, 4)
    assert proba.shape == (len(X), 2)
    assert abs(proba - predictor.predict_proba(X)).max() < 1e-12
    assert factors == predictor.top_factors(X, 4)
