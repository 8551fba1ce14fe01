"""`leadscore keys` and `leadscore db upgrade` (the bootstrap path)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.service.keys import KeyChecker
from leadscore.store import Store

runner = CliRunner()


def test_keys_create_prints_the_key_once_and_it_works(tmp_path: Path) -> None:
    db = str(tmp_path / "ls.db")
    r = runner.invoke(app, ["keys", "create", "--scope", "admin", "--name", "ops", "--db", db])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[0]
    assert key.startswith("lsk_")
    store = Store(db)
    info = KeyChecker(store).check(key)
    assert info is not None and info.allows("admin") and info.name == "ops"
    listed = runner.invoke(app, ["keys", "list", "--db", db])
    row = json.loads(listed.stdout.strip().splitlines()[0])
    assert row["scopes"] == ["admin"] and key not in listed.stdout
    assert runner.invoke(app, ["keys", "revoke", str(row["id"]), "--db", db]).exit_code == 0
    assert KeyChecker(store).check(key) is None
    assert runner.invoke(app, ["keys", "revoke", str(row["id"]), "--db", db]).exit_code == 1
    store.dispose()


def test_keys_create_refuses_unknown_scopes(tmp_path: Path) -> None:
    r = runner.invoke(app, ["keys", "create", "--scope", "root", "--db", str(tmp_path / "x.db")])
    assert r.exit_code == 2
    assert "scopes must be one or more of ingest, read, admin" in r.output


def test_db_upgrade(tmp_path: Path) -> None:
    r = runner.invoke(app, ["db", "upgrade", "--db", str(tmp_path / "y.db")])
    assert r.exit_code == 0
    from leadscore.store import Store

    store = Store(str(tmp_path / "y.db"))
    revision = store.current_revision()  # the newest migration (each schema change adds one)
    store.dispose()
    assert revision is not None
    assert f"sqlite store at revision {revision}" in r.output


def test_serve_refuses_an_invalid_model(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("scores:\n  fit:\n    rules: [{id: a, points: 1}]\n")
    r = runner.invoke(app, ["serve", "--db", str(tmp_path / "z.db"), "--model", str(bad)])
    assert r.exit_code == 1
    assert "scores.fit.rules[0]" in r.output
