"""Evaluation figures and the offline HTML report."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from leadscore.learn import metrics as M
from leadscore.learn.report import render_html, roc_points, write_report


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    score = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(score * 1.5 - 2)))).astype(int)
    return y, score


def test_deciles_lift_and_gains(scored) -> None:
    y, score = scored
    table = M.deciles(y, score)
    assert list(table["decile"]) == list(range(1, 11))
    assert table["leads"].sum() == len(y)
    assert table["conversions"].sum() == y.sum()
    assert table["cumulative_gain"].iloc[-1] == pytest.approx(1.0)
    assert table["cumulative_gain"].is_monotonic_increasing
    assert table["lift"].iloc[0] > 2 > table["lift"].iloc[-1]
    assert M.top_share_lift(y, score, 0.1) == pytest.approx(table["lift"].iloc[0])


def test_auc_with_bootstrap_interval(scored) -> None:
    y, score = scored
    roc, pr = M.roc_pr(y, score)
    ci = M.bootstrap_ci(y, score, n_boot=100)
    assert ci["roc_auc"][0] < roc < ci["roc_auc"][1]
    assert ci["pr_auc"][0] < pr < ci["pr_auc"][1]
    assert ci["roc_auc"][1] - ci["roc_auc"][0] < 0.06
    # a useless score sits at 0.5
    noise = np.random.default_rng(1).normal(size=len(y))
    assert M.roc_pr(y, noise)[0] == pytest.approx(0.5, abs=0.04)


def test_threshold_table_trades_precision_for_recall(scored) -> None:
    y, score = scored
    table = M.threshold_table(y, score)
    assert table["threshold"].is_monotonic_decreasing
    assert table["leads_passed"].is_monotonic_increasing
    assert table["recall"].is_monotonic_increasing
    assert table["precision"].iloc[0] > table["precision"].iloc[-1]
    assert table["recall"].iloc[-1] == pytest.approx(1.0)


def test_calibration_bands_and_top_k(scored) -> None:
    y, score = scored
    proba = 1 / (1 + np.exp(-(score * 1.5 - 2)))  # the true probabilities
    cal = M.calibration(y, proba)
    assert np.abs(cal["predicted"] - cal["observed"]).max() < 0.08
    bands = M.by_band(y, M.score_bands(score, 5))
    assert bands["leads"].sum() == len(y) and len(bands) == 5
    assert M.top_k_hits(y, score, 100) == int(y[np.argsort(-score)[:100]].sum())
    with pytest.raises(ValueError, match="missing"):
        M.roc_pr(y, np.where(np.arange(len(y)) == 5, np.nan, score))


def test_html_report_opens_offline(tmp_path, scored) -> None:
    y, score = scored
    proba = 1 / (1 + np.exp(-score))
    result = M.evaluate_scores(
        y, score, proba=proba, grade=np.where(score > 1, "A", "B"), n_boot=50
    )
    result["curves"] = roc_points(y, score)
    result["context"] = {"model": "test"}
    html = render_html(result)
    # charts are inline SVG; nothing is fetched from the network
    assert html.count("<svg") >= 5
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "<script" not in html
    write_report(result, tmp_path / "r.html", tmp_path / "r.json", "t")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["roc_auc"] == pytest.approx(result["roc_auc"])
    assert {"deciles", "thresholds", "calibration", "grades", "score_bands"} <= set(data)
