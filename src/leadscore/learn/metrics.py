"""How well a score ranks and predicts: the numbers behind ``leadscore evaluate``.

All functions take the outcome ``y`` (0/1) and a score where higher means more
likely to convert (points, or a probability). Bootstrap intervals resample leads
with replacement; they say how much a figure could move with another sample of the
same size, which matters when there are only a few dozen conversions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _arrays(y: Any, score: Any) -> tuple[np.ndarray, np.ndarray]:
    y_arr = np.asarray(y).astype(int)
    s = np.asarray(score, dtype=float)
    if y_arr.shape != s.shape:
        raise ValueError(f"{y_arr.shape[0]} outcomes but {s.shape[0]} scores")
    if np.isnan(s).any():
        raise ValueError(f"{int(np.isnan(s).sum())} scores are missing (NaN)")
    return y_arr, s


def roc_pr(y: Any, score: Any) -> tuple[float, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    y_arr, s = _arrays(y, score)
    return float(roc_auc_score(y_arr, s)), float(average_precision_score(y_arr, s))


def bootstrap_ci(
    y: Any, score: Any, n_boot: int = 200, level: float = 0.95, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals for ROC AUC and PR AUC."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y_arr, s = _arrays(y, score)
    rng = np.random.default_rng(seed)
    n = len(y_arr)
    rocs, prs = [], []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        yb = y_arr[idx]
        if yb.min() == yb.max():
            continue
        rocs.append(roc_auc_score(yb, s[idx]))
        prs.append(average_precision_score(yb, s[idx]))
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    if not rocs:
        nan = float("nan")
        return {"roc_auc": (nan, nan), "pr_auc": (nan, nan)}
    return {
        "roc_auc": (float(np.percentile(rocs, lo)), float(np.percentile(rocs, hi))),
        "pr_auc": (float(np.percentile(prs, lo)), float(np.percentile(prs, hi))),
    }


def _rank_order(s: np.ndarray) -> np.ndarray:
    # highest score first; ties in a stable order so deciles are reproducible
    return np.argsort(-s, kind="stable")


def deciles(y: Any, score: Any, groups: int = 10) -> pd.DataFrame:
    """Lift and cumulative gains by decile of the score (decile 1 = the best 10 %)."""
    y_arr, s = _arrays(y, score)
    order = _rank_order(s)
    ys = y_arr[order]
    n = len(ys)
    edges = np.linspace(0, n, groups + 1).round().astype(int)
    total = max(ys.sum(), 1)
    base = ys.mean() if n else 0.0
    rows = []
    for d in range(groups):
        part = ys[edges[d] : edges[d + 1]]
        upto = ys[: edges[d + 1]]
        rate = part.mean() if part.size else 0.0
        rows.append(
            {
                "decile": d + 1,
                "leads": int(part.size),
                "conversions": int(part.sum()),
                "rate": float(rate),
                "lift": float(rate / base) if base else float("nan"),
                "cumulative_leads_share": float(edges[d + 1] / n) if n else 0.0,
                "cumulative_gain": float(upto.sum() / total),
                "min_score": float(s[order][edges[d + 1] - 1]) if part.size else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def top_share_lift(y: Any, score: Any, share: float = 0.1) -> float:
    """Conversion rate in the top ``share`` of leads over the overall rate."""
    y_arr, s = _arrays(y, score)
    k = max(round(len(y_arr) * share), 1)
    top = y_arr[_rank_order(s)[:k]]
    return float(top.mean() / y_arr.mean()) if y_arr.mean() else float("nan")


def calibration(y: Any, proba: Any, bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed conversion in equal-size bins of the predicted probability."""
    y_arr, p = _arrays(y, proba)
    order = np.argsort(p, kind="stable")
    parts = np.array_split(order, min(bins, len(order)))
    rows = [
        {
            "predicted": float(p[idx].mean()),
            "observed": float(y_arr[idx].mean()),
            "leads": int(idx.size),
        }
        for idx in parts
        if idx.size
    ]
    return pd.DataFrame(rows)


def brier(y: Any, proba: Any) -> float:
    y_arr, p = _arrays(y, proba)
    return float(np.mean((p - y_arr) ** 2))


def by_band(y: Any, band: Any) -> pd.DataFrame:
    """Conversion rate per grade or score band (any labels)."""
    y_arr = np.asarray(y).astype(int)
    frame = pd.DataFrame(
        {"band": pd.Series(band).astype(object).fillna("(none)").to_numpy(), "y": y_arr}
    )
    out = frame.groupby("band", sort=False)["y"].agg(["size", "sum", "mean"]).reset_index()
    out.columns = ["band", "leads", "conversions", "rate"]
    return out


def score_bands(score: Any, bands: int = 5) -> np.ndarray:
    """Equal-count bands of a score labelled by their range, best band first."""
    s = np.asarray(score, dtype=float)
    qs = np.unique(np.quantile(s, np.linspace(0, 1, bands + 1)))
    if qs.size < 2:
        return np.array([f"{s.min():g}"] * len(s), dtype=object)
    idx = np.clip(np.searchsorted(qs, s, side="right") - 1, 0, qs.size - 2)
    labels = [f"{qs[i]:.3g} to {qs[i + 1]:.3g}" for i in range(qs.size - 1)]
    return np.array([labels[i] for i in idx], dtype=object)


def threshold_table(y: Any, score: Any, points: int = 20) -> pd.DataFrame:
    """For candidate MQL thresholds: leads passed, precision and recall."""
    y_arr, s = _arrays(y, score)
    cands = np.unique(np.quantile(s, np.linspace(0, 1, points + 1)[:-1]))[::-1]
    total = max(int(y_arr.sum()), 1)
    rows = []
    for t in cands:
        passed = s >= t
        n = int(passed.sum())
        hits = int(y_arr[passed].sum())
        rows.append(
            {
                "threshold": float(t),
                "leads_passed": n,
                "share_passed": float(n / len(s)),
                "precision": float(hits / n) if n else float("nan"),
                "recall": float(hits / total),
            }
        )
    return pd.DataFrame(rows)


def top_k_hits(y: Any, score: Any, k: int) -> int:
    """How many converters are among the ``k`` highest scores (CoIL 2000's measure)."""
    y_arr, s = _arrays(y, score)
    return int(y_arr[_rank_order(s)[:k]].sum())


def evaluate_scores(
    y: Any,
    score: Any,
    proba: Any | None = None,
    grade: Any | None = None,
    n_boot: int = 200,
) -> dict[str, Any]:
    """Every figure of the evaluation report as plain JSON-ready data."""
    y_arr, s = _arrays(y, score)
    roc, pr = roc_pr(y_arr, s)
    ci = bootstrap_ci(y_arr, s, n_boot=n_boot)
    out: dict[str, Any] = {
        "leads": len(y_arr),
        "conversions": int(y_arr.sum()),
        "base_rate": float(y_arr.mean()),
        "roc_auc": roc,
        "roc_auc_ci": list(ci["roc_auc"]),
        "pr_auc": pr,
        "pr_auc_ci": list(ci["pr_auc"]),
        "top_decile_lift": top_share_lift(y_arr, s, 0.1),
        "deciles": deciles(y_arr, s).to_dict("records"),
        "score_bands": by_band(y_arr, score_bands(s)).to_dict("records"),
        "thresholds": threshold_table(y_arr, s).to_dict("records"),
    }
    if proba is not None:
        out["calibration"] = calibration(y_arr, proba).to_dict("records")
        out["brier"] = brier(y_arr, proba)
    if grade is not None:
        out["grades"] = by_band(y_arr, grade).sort_values("band").to_dict("records")
    return out


def auc_gain(
    y: Any, better: Any, other: Any, n_boot: int = 200, level: float = 0.9, seed: int = 0
) -> dict[str, float]:
    """ROC AUC of ``better`` minus that of ``other`` on the same leads, with a paired
    percentile bootstrap interval (both scores resampled together, so the noise of
    the lead sample that both share cancels out)."""
    from sklearn.metrics import roc_auc_score

    y_arr, a = _arrays(y, better)
    _, b = _arrays(y, other)
    gain = float(roc_auc_score(y_arr, a) - roc_auc_score(y_arr, b))
    rng = np.random.default_rng(seed)
    n = len(y_arr)
    gains = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        yb = y_arr[idx]
        if yb.min() == yb.max():
            continue
        gains.append(roc_auc_score(yb, a[idx]) - roc_auc_score(yb, b[idx]))
    if not gains:
        return {"gain": gain, "low": float("nan"), "high": float("nan"), "level": level}
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {
        "gain": gain,
        "low": float(np.percentile(gains, lo)),
        "high": float(np.percentile(gains, hi)),
        "level": level,
    }
