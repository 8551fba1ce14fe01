"""The learning commands as a new user drives them, on a generated CRM world
(``make_crm_world``: leads of mixed ages, conversions up to 90 days after creation,
activity before and after each snapshot): train on one file of leads, score another
at each lead's own snapshot, evaluate on a given split."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.learn.features import build_training_set, snapshot_times
from leadscore.learn.registry import Registry, fit_learner, make_bundle
from leadscore.learn.synthetic import make_crm_world

SNAPSHOT = "created+30d"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("crm_world")
    contacts, events, _ = make_crm_world(8000, seed=0)
    # another seed than the world's: its first draws are the creation dates
    is_test = np.random.default_rng(12345).random(len(contacts)) < 0.25
    paths = {
        "root": root,
        "all": root / "contacts.csv",
        "train": root / "train.csv",
        "test": root / "test.csv",
        "events": root / "events.csv",
        "split": root / "split.csv",
        "models": root / "models",
    }
    contacts.to_csv(paths["all"], index=False)
    contacts[~is_test].to_csv(paths["train"], index=False)
    contacts[is_test].drop(columns=["converted_at"]).to_csv(paths["test"], index=False)
    events.to_csv(paths["events"], index=False)
    pd.DataFrame(
        {"contact_id": contacts["contact_id"], "split": np.where(is_test, "test", "train")}
    ).to_csv(paths["split"], index=False)
    # the labels of the test leads, by the same rules, from the full contacts file
    everyone = build_training_set(contacts, events, snapshot=SNAPSHOT)
    test_ids = set(contacts["contact_id"][is_test])
    labels = everyone.y[everyone.y.index.isin(list(test_ids))]
    res = _run(
        "train",
        "-c",
        paths["train"],
        "-e",
        paths["events"],
        "--snapshot",
        SNAPSHOT,
        "-r",
        paths["models"],
        "--unknown-contacts",
        "skip",
    )
    assert res.exit_code == 0, res.output
    return {
        "paths": paths,
        "contacts": contacts,
        "events": events,
        "is_test": is_test,
        "labels": labels,
        "train_output": res.output,
    }


def _run(*args: object) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_train_says_what_it_chose_and_promotes_past_the_baseline(world) -> None:
    output = str(world["train_output"])
    assert "chose data end 2025-12-31" in output and re.search(r"chose horizon \d+ days", output)
    assert "positive rate:" in output
    assert "left out" in output and "event(s) of contacts not in train.csv" in output
    # the mid-size bump is beyond a straight line: the boosted model beats the baseline
    assert "promoted to champion" in output and "plain logistic regression" in output
    reg = Registry(world["paths"]["models"])  # type: ignore[index]
    entry = reg.entry("v0001")
    assert entry["settings"]["snapshot"] == SNAPSHOT
    # how old the training leads were at their snapshot, for the scoring-age warning
    assert entry["snapshot_age_days"] == {"p5": 30.0, "median": 30.0, "p95": 30.0}
    ids = reg.training_ids("v0001")
    assert ids is not None and len(ids) == entry["training_window"]["leads"]
    assert not ids & set(world["contacts"]["contact_id"][world["is_test"]])  # type: ignore[index]


def test_cli_and_python_api_give_the_same_auc(world) -> None:
    paths, contacts, events = world["paths"], world["contacts"], world["events"]
    labels: pd.Series = world["labels"]  # type: ignore[assignment]
    out = paths["root"] / "scores.csv"  # type: ignore[index]
    res = _run(
        "score",
        "--predictive",
        paths["models"],
        "-c",
        paths["test"],
        "-e",
        paths["events"],  # type: ignore[index]
        "-o",
        out,
        "--snapshot",
        SNAPSHOT,
        "--unknown-contacts",
        "skip",
    )
    assert res.exit_code == 0, res.output
    scored = pd.read_csv(out, dtype={"contact_id": str}).set_index("contact_id")
    assert list(scored.columns) == [
        "conversion_probability",
        "top_positive_factors",
        "top_negative_factors",
    ]
    cli_auc = roc_auc_score(labels, scored.loc[labels.index, "conversion_probability"])

    # the Python API: the same training leads, the same snapshot, per-lead features
    is_test = world["is_test"]
    train = contacts[~is_test]  # type: ignore[index]
    known = events[events["contact_id"].isin(train["contact_id"])]  # type: ignore[index]
    ts = build_training_set(train, known, snapshot=SNAPSHOT)
    bundle = make_bundle("predictive", fit_learner("predictive", ts), ts)
    test = contacts[is_test].set_index("contact_id").loc[labels.index].reset_index()  # type: ignore[index]
    X = bundle.features(test, events, snapshot_times(test, SNAPSHOT))
    api_auc = roc_auc_score(labels, bundle.score(X))
    assert cli_auc == pytest.approx(api_auc, abs=1e-9)
    assert cli_auc > 0.68  # and it is a useful model

    # one --as-of for leads of mixed ages: wrong moments, and it warns
    late = paths["root"] / "late.csv"  # type: ignore[index]
    res = _run(
        "score",
        "--predictive",
        paths["models"],
        "-c",
        paths["test"],
        "-e",
        paths["events"],  # type: ignore[index]
        "-o",
        late,
        "--as-of",
        "2026-01-01",
        "--unknown-contacts",
        "skip",
    )
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "--snapshot created+30d" in res.output
    assert (
        "warning:"
        not in _run(
            "score",
            "--predictive",
            paths["models"],
            "-c",
            paths["test"],
            "-e",
            paths["events"],  # type: ignore[index]
            "-o",
            late,
            "--as-of",
            "2026-01-01",
            "--snapshot",
            SNAPSHOT,
            "--unknown-contacts",
            "skip",
        ).output
    )


def test_unknown_contacts_are_one_policy(world) -> None:
    paths = world["paths"]
    out = paths["root"] / "x.csv"  # type: ignore[index]
    res = _run(
        "score",
        "--predictive",
        paths["models"],
        "-c",
        paths["test"],
        "-e",
        paths["events"],  # type: ignore[index]
        "-o",
        out,
        "--snapshot",
        SNAPSHOT,
    )
    assert res.exit_code == 1 and "not in the contacts file" in res.output
    assert "--unknown-contacts skip" in res.output and "event(s) of" in res.output
    res = _run("readiness", "-c", paths["train"], "-e", paths["events"])  # type: ignore[index]
    assert res.exit_code == 1 and "--unknown-contacts skip" in res.output
    assert not out.exists()


def test_evaluate_on_a_given_split(world) -> None:
    paths = world["paths"]
    labels: pd.Series = world["labels"]  # type: ignore[assignment]
    js = paths["root"] / "eval.json"  # type: ignore[index]
    base = ["-c", paths["all"], "-e", paths["events"], "--snapshot", SNAPSHOT]  # type: ignore[index]
    common = ["--html", paths["root"] / "e.html", "--json", js]  # type: ignore[index]
    # the registered model on leads it never saw: exactly the split's test leads
    res = _run("evaluate", *base, "-r", paths["models"], "--split", paths["split"], *common)  # type: ignore[index]
    assert res.exit_code == 0, res.output
    data = json.loads(js.read_text())
    assert data["leads"] == len(labels) and data["conversions"] == int(labels.sum())
    assert data["roc_auc_ci"][0] < data["roc_auc"] < data["roc_auc_ci"][1]
    assert data["calibration"] and data["deciles"][0]["lift"] > 1
    assert "not evaluated" in res.output  # test leads whose window is still open
    # the "trained on" check reads the recorded training ids: train leads are refused
    train_ids = paths["root"] / "train_ids.txt"  # type: ignore[index]
    ids = Registry(paths["models"]).training_ids("v0001")  # type: ignore[index]
    assert ids is not None
    train_ids.write_text("\n".join(sorted(ids)[:50]))
    res = _run("evaluate", *base, "-r", paths["models"], "--test-ids", train_ids, *common)  # type: ignore[index]
    assert (
        res.exit_code == 1 and "50 of the 50 test leads were in v0001's training set" in res.output
    )
    # a method trained on the train side, tested on the test side
    res = _run("evaluate", *base, "--split", paths["split"], "--method", "scorecard", *common)  # type: ignore[index]
    assert res.exit_code == 0, res.output
    assert json.loads(js.read_text())["leads"] == len(labels)


def test_snapshot_changes_what_each_command_sees(world) -> None:
    paths = world["paths"]
    early = _run("readiness", "-c", paths["all"], "-e", paths["events"], "--snapshot", "created+7d")  # type: ignore[index]
    late = _run("readiness", "-c", paths["all"], "-e", paths["events"], "--snapshot", SNAPSHOT)  # type: ignore[index]
    assert early.exit_code == 0 and late.exit_code == 0, early.output + late.output

    def usable(text: str) -> int:
        line = next(x for x in text.splitlines() if x.startswith("Leads usable"))
        return int(line.split(":")[1].split("(")[0].replace(",", ""))

    # a later snapshot: more leads converted before it, fewer complete windows
    assert usable(str(late.output)) < usable(str(early.output))

    # and the inferred horizon is what is left of the 90 days after each snapshot
    def horizon(text: str) -> int:
        found = re.search(r"chose horizon (\d+) days", text)
        assert found, text
        return int(found.group(1))

    assert 80 <= horizon(str(early.output)) <= 83 and 57 <= horizon(str(late.output)) <= 60


def test_train_refuses_when_not_ready(world, tmp_path: Path) -> None:
    contacts: pd.DataFrame = world["contacts"]  # type: ignore[assignment]
    small = tmp_path / "small.csv"
    contacts.head(600).to_csv(small, index=False)
    args = ["train", "-c", small, "-e", world["paths"]["events"], "-r", tmp_path / "m"]  # type: ignore[index]
    args += ["--snapshot", SNAPSHOT, "--unknown-contacts", "skip"]
    res = _run(*args)
    assert (
        res.exit_code == 1 and "predictive is not ready" in res.output and "--force" in res.output
    )
    assert not (tmp_path / "m").exists()
    res = _run(*args, "--force")
    assert "training anyway (--force)" in res.output
    entry = json.loads((tmp_path / "m" / "registry.json").read_text())["models"][0]
    assert entry["forced"] is True and entry["readiness"]["ready"] is False
