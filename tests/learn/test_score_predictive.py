"""`leadscore score --predictive`: a trained predictive model next to the rule scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.learn.data import read_contacts, read_events
from leadscore.learn.features import build_training_set
from leadscore.learn.registry import Registry, load_predictor, train_and_register
from leadscore.learn.synthetic import make_leads

AS_OF = "2025-09-01T00:00:00Z"
MODEL = """\
name: fit
scores:
  fit:
    rules:
      - {id: software, when: {field: industry, equals: software}, points: 10}
      - {id: pricing, on: page_view, where: {url: {starts_with: /pricing}}, points: 5}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("score_predictive")
    contacts, events = make_leads(2000, seed=11)
    ts = build_training_set(contacts, events)
    reg = Registry(root / "models")
    train_and_register(reg, "predictive", ts, contacts, events, promote="always")
    train_and_register(Registry(root / "sc"), "scorecard", ts, contacts, events, promote="always")
    paths = {
        "root": root,
        "registry": root / "models",
        "scorecard": root / "sc",
        "contacts": root / "contacts.csv",
        "events": root / "events.csv",
        "model": root / "model.yaml",
    }
    contacts.drop(columns=["converted_at"]).to_csv(paths["contacts"], index=False)
    events.to_csv(paths["events"], index=False)
    paths["model"].write_text(MODEL, encoding="utf-8")
    return paths


def _score(paths: dict[str, Path], out: Path, *extra: str) -> object:
    args = ["score", "-m", str(paths["model"]), "-c", str(paths["contacts"])]
    args += ["-e", str(paths["events"]), "-o", str(out), "--as-of", AS_OF, *extra]
    return CliRunner().invoke(app, args)


def test_probability_column_equals_the_predictor(trained: dict[str, Path]) -> None:
    out = trained["root"] / "scores.csv"
    res = _score(trained, out, "--predictive", str(trained["registry"]))
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, dtype={"contact_id": str})
    assert {"fit", "conversion_probability", "top_positive_factors"} <= set(table.columns)
    # the same features as of the same moment, by the predictor itself
    predictor = load_predictor(trained["registry"])
    X = predictor.features(
        read_contacts(trained["contacts"]), read_events(trained["events"]), AS_OF
    )
    expected = pd.Series(predictor.predict_proba(X)[:, 1], index=X.index.astype(str))
    got = table.set_index("contact_id")["conversion_probability"]
    assert np.allclose(got.to_numpy(), expected.loc[got.index].to_numpy(), rtol=1e-9, atol=1e-12)
    assert got.between(0, 1).all() and got.nunique() > 10
    # factors are sentences with their log-odds, positive ones with a plus sign
    positive = table["top_positive_factors"].dropna()
    assert len(positive) > 0 and positive.str.contains(r"^[A-Z][^=]* \(\+").all()
    assert positive.str.contains("in the last|Industry is|days ago").any()
    negative = table["top_negative_factors"].dropna()
    assert len(negative) > 0 and negative.str.contains(r"\(-").all()
    # rule scores are untouched by the extra columns
    plain = trained["root"] / "plain.csv"
    assert _score(trained, plain).exit_code == 0
    base = pd.read_csv(plain, dtype={"contact_id": str})
    assert "conversion_probability" not in base.columns
    assert base["fit"].equals(table["fit"])


def test_missing_or_incompatible_model_is_a_clear_error(trained: dict[str, Path]) -> None:
    out = trained["root"] / "never.csv"
    res = _score(trained, out, "--predictive", str(trained["root"] / "nope" / "model.pkl"))
    assert res.exit_code == 1 and "--predictive" in res.output and "not found" in res.output
    res = _score(trained, out, "--predictive", str(trained["scorecard"]))
    assert res.exit_code == 1 and "no champion predictive" in res.output
    version = Registry(trained["scorecard"]).champion("scorecard")
    res = _score(trained, out, "--predictive", str(trained["scorecard"] / str(version)))
    assert res.exit_code == 1 and "is a scorecard model" in res.output
    # a contacts file without a field the model learned from
    thin = trained["root"] / "thin.csv"
    pd.read_csv(trained["contacts"]).drop(columns=["industry"]).to_csv(thin, index=False)
    args = ["score", "-m", str(trained["model"]), "-c", str(thin), "-e", str(trained["events"])]
    args += ["-o", str(out), "--as-of", AS_OF, "--predictive", str(trained["registry"])]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1 and "industry" in res.output and "thin.csv" in res.output
    assert not out.exists()


def test_predictive_with_a_table_name_is_refused_before_scoring(
    trained: dict[str, Path],
) -> None:
    out = trained["root"] / "refused.csv"
    args = ["score", "-m", str(trained["model"]), "-c", "crm_contacts", "-o", str(out)]
    res = CliRunner().invoke(app, [*args, "--predictive", str(trained["registry"])])
    assert res.exit_code == 1
    assert "crm_contacts is not a file" in res.output
    assert not out.exists()
