"""Registry (champion/challenger, drift), the predictor API for `leadscore score`, and
the learning commands end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.learn.features import build_training_set
from leadscore.learn.registry import (
    Registry,
    RegistryError,
    drift_report,
    load_predictor,
    psi,
    train_and_register,
)
from leadscore.learn.synthetic import make_leads
from leadscore.spec import load_model


@pytest.fixture(scope="module")
def small_history() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_leads(3000, seed=5)


def test_champion_challenger_needs_new_leads(tmp_path, small_history) -> None:
    contacts, events = small_history
    # first training: data up to the end of 2025 only
    early = contacts[contacts["created_at"] < "2025-09-01"]
    ts1 = build_training_set(early, events, data_end="2025-12-31")
    reg = Registry(tmp_path / "models")
    first = train_and_register(reg, "predictive", ts1, contacts, events, promote="always")
    assert first.promoted and reg.champion("predictive") == first.version
    # nothing new yet: retraining on the same leads is refused, not silently compared
    with pytest.raises(RegistryError, match="after champion"):
        train_and_register(reg, "predictive", ts1, contacts, events)
    # later, with new outcomes: the holdout is only leads the champion never saw
    ts2 = build_training_set(contacts, events)
    second = train_and_register(reg, "predictive", ts2, contacts, events)
    entry = reg.entry(second.version)
    trained_until = pd.Timestamp(reg.entry(first.version)["training_window"]["last_snapshot"])
    assert pd.Timestamp(entry["holdout"]["first_snapshot"]) > trained_until
    assert second.champion_metrics is not None
    # promoted only past the noise of both comparisons (paired bootstrap intervals)
    assert second.promoted == (
        second.champion_metrics["vs_challenger"]["low"] > 0
        and second.challenger_metrics["vs_baseline"]["low"] > 0
    )
    statuses = [e["status"] for e in reg.entries()]
    assert statuses.count("champion") == 1
    assert entry["status"] == ("champion" if second.promoted else "candidate")
    assert set(entry) >= {"training_window", "metrics", "features", "decision", "created_at"}


def test_predictor_api_for_score(tmp_path, small_history) -> None:
    contacts, events = small_history
    ts = build_training_set(contacts, events)
    reg = Registry(tmp_path / "m")
    train_and_register(reg, "predictive", ts, contacts, events, promote="always")
    predictor = load_predictor(tmp_path / "m")
    X = predictor.features(
        contacts.head(20).drop(columns=["converted_at"]), events, "2025-06-01T00:00:00Z"
    )
    assert list(X.index) == list(contacts["contact_id"].head(20))
    assert list(X.columns) == predictor.feature_columns
    proba = predictor.predict_proba(X)
    assert proba.shape == (20, 2) and np.allclose(proba.sum(axis=1), 1)
    factors = predictor.top_factors(X, 2)
    assert len(factors) == 20 and set(factors[0]) == {"positive", "negative"}
    with pytest.raises(RegistryError, match="no champion scorecard"):
        load_predictor(tmp_path / "m", method="scorecard")
    with pytest.raises(RegistryError, match="not found"):
        load_predictor(tmp_path / "nothing.pkl")


def test_psi_and_drift(small_history) -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5000)
    assert psi(ref, rng.normal(size=5000)) < 0.02
    assert psi(ref, rng.normal(1.0, 1, size=5000)) > 0.25
    contacts, events = small_history
    ts = build_training_set(contacts, events)
    from leadscore.learn.registry import fit_learner, make_bundle

    bundle = make_bundle("scorecard", fit_learner("scorecard", ts), ts)
    assert drift_report(bundle, ts.X)["verdict"].startswith("stable")
    shifted = ts.X.copy()
    shifted["industry"] = "software"
    report = drift_report(bundle, shifted)
    assert report["retrain"] and report["feature_psi"]["industry"] > 0.25


def _write(tmp_path: Path, history) -> tuple[Path, Path]:
    contacts, events = history
    c, e = tmp_path / "contacts.csv", tmp_path / "events.csv"
    contacts.to_csv(c, index=False)
    events.to_csv(e, index=False)
    return c, e


def test_cli_learning_commands(tmp_path, small_history) -> None:
    runner = CliRunner()
    c, e = _write(tmp_path, small_history)
    base = ["-c", str(c), "-e", str(e)]
    res = runner.invoke(app, ["readiness", *base, "--json", str(tmp_path / "ready.json")])
    assert res.exit_code == 0, res.output
    assert "Methods:" in res.output
    assert json.loads((tmp_path / "ready.json").read_text())["conversions"] > 0

    out = tmp_path / "suggested.yaml"
    res = runner.invoke(app, ["suggest-points", *base, "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert load_model(out).scores["lift"].rules

    reg = tmp_path / "models"
    res = runner.invoke(
        app,
        [
            "train",
            *base,
            "--method",
            "scorecard",
            "-r",
            str(reg),
            "--yaml",
            str(tmp_path / "sc.yaml"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "promoted to champion" in res.output
    assert load_model(tmp_path / "sc.yaml").scores["scorecard"].rules

    html, js = tmp_path / "eval.html", tmp_path / "eval.json"
    res = runner.invoke(
        app, ["evaluate", *base, "--method", "scorecard", "--html", str(html), "--json", str(js)]
    )
    assert res.exit_code == 0, res.output
    assert "ROC AUC" in res.output and html.exists()
    data = json.loads(js.read_text())
    assert len(data["deciles"]) == 10 and data["grades"]

    res = runner.invoke(
        app,
        [
            "evaluate",
            *base,
            "-m",
            str(tmp_path / "sc.yaml"),
            "--html",
            str(html),
            "--json",
            str(js),
        ],
    )
    assert res.exit_code == 0, res.output
    # a registered model cannot be judged on the leads it was trained on
    res = runner.invoke(app, ["evaluate", *base, "-r", str(reg), "--method", "scorecard"])
    assert res.exit_code == 1 and "was not trained on" in res.output


def test_cli_errors_name_the_file(tmp_path, small_history) -> None:
    runner = CliRunner()
    c, e = _write(tmp_path, small_history)
    res = runner.invoke(app, ["readiness", "-c", str(c), "-e", str(e), "--outcome", "won_at"])
    assert res.exit_code == 1 and "contacts.csv" in res.output and "won_at" in res.output
    bad = tmp_path / "bad_events.csv"
    events = small_history[1].head(50).copy()
    events["timestamp"] = events["timestamp"].astype(str)
    events.loc[events.index[7], "timestamp"] = "yesterday"
    events.to_csv(bad, index=False)
    res = runner.invoke(app, ["readiness", "-c", str(c), "-e", str(bad)])
    assert res.exit_code == 1
    assert "bad_events.csv" in res.output and "row 8" in res.output and "timestamp" in res.output


def test_a_model_no_better_than_the_baseline_stays_a_candidate(tmp_path, small_history) -> None:
    """make_leads is linear in its features: the boosted model cannot beat a plain
    logistic regression beyond the noise, so it is not promoted, and says why."""
    contacts, events = small_history
    ts = build_training_set(contacts, events)
    reg = Registry(tmp_path / "m")
    result = train_and_register(reg, "predictive", ts, contacts, events)
    gain = result.challenger_metrics["vs_baseline"]
    assert gain["low"] <= 0 < gain["high"]  # within the noise, the case under test
    assert not result.promoted and reg.champion("predictive") is None
    assert "plain logistic regression" in result.reason and "within the noise" in result.reason
    assert reg.entry(result.version)["status"] == "candidate"
    with pytest.raises(RegistryError, match=r"v0001 is a candidate.*use it anyway"):
        load_predictor(tmp_path / "m")
    assert load_predictor(tmp_path / "m" / result.version).version == result.version
