"""Scorecard: a regularised logistic regression written out as points.

Every feature is cut into threshold indicators (``employees >= 50``, ``3+ pricing
views in 30 days``, ``no email click in 60 days``) or kept as one capped linear term
(decayed activity), each of which is exactly one rule of the model language. The
L2-regularised logistic regression's coefficients are then scaled so that
``points_to_double_odds`` points double the odds of converting, the classic credit
scorecard scaling: ``points = coef x PDO / ln 2``. The YAML score is the sum of the
rounded points; the calibrated probability is a logistic function of that very score,
so the number a rep sees and the probability never disagree.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin

from leadscore.learn.bins import (
    Characteristic,
    characteristic_rules,
    make_characteristic,
    unique_ids,
)
from leadscore.learn.encoding import check_table
from leadscore.learn.lift import dump_yaml
from leadscore.learn.tabular import FeatureInfo, field_infos


class Scorecard(ClassifierMixin, BaseEstimator):
    """Logistic-regression scorecard with points-to-double-the-odds scaling.

    Parameters
    ----------
    points_to_double_odds : PDO; 20 means +20 points = twice the odds.
    C : inverse L2 strength, or ``"auto"`` to pick from ``C_grid`` on a validation slice.
    max_bins : thresholds per numeric feature.
    min_support : leads needed on each side of a threshold / for a category level.
    validation : ``"temporal"`` (last rows) or ``"random"`` slice for ``C="auto"``.
    decimals : rounding of the points (0: whole points).
    grades : share of training leads in each grade, best first (A = top 10 %, ...).
    """

    def __init__(
        self,
        points_to_double_odds: float = 20.0,
        C: float | Literal["auto"] = "auto",
        C_grid: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0),
        max_bins: int = 10,
        min_support: int = 30,
        validation: Literal["temporal", "random"] = "temporal",
        validation_fraction: float = 0.2,
        decimals: int = 0,
        grades: tuple[tuple[str, float], ...] = (("A", 0.1), ("B", 0.2), ("C", 0.3), ("D", 0.4)),
        score_name: str = "scorecard",
        numeric_bins: Literal["interval", "threshold"] = "interval",
        random_state: int = 0,
    ) -> None:
        self.points_to_double_odds = points_to_double_odds
        self.C = C
        self.C_grid = C_grid
        self.max_bins = max_bins
        self.min_support = min_support
        self.validation = validation
        self.validation_fraction = validation_fraction
        self.decimals = decimals
        self.grades = grades
        self.score_name = score_name
        self.numeric_bins = numeric_bins
        self.random_state = random_state

    def fit(
        self, X: pd.DataFrame, y: Any, feature_info: dict[str, FeatureInfo] | None = None
    ) -> Scorecard:
        from threadpoolctl import threadpool_limits

        # one BLAS thread: on a shared 2-core machine more threads make lbfgs 10x slower
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(X, y, feature_info)

    def _fit(
        self, X: pd.DataFrame, y: Any, feature_info: dict[str, FeatureInfo] | None
    ) -> Scorecard:
        from sklearn.linear_model import LogisticRegression

        X = check_table(X, y)
        y_arr = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.array([str(c) for c in X.columns], dtype=object)
        infos = field_infos(list(X.columns), feature_info)
        self.characteristics_: list[Characteristic] = []
        blocks = []
        for col in X.columns:
            ch = make_characteristic(
                str(col),
                X[col],
                infos[col],
                encoding=self.numeric_bins if infos[col].kind == "field" else "threshold",
                min_support=self.min_support,
                max_bins=self.max_bins,
            )
            if ch is None:
                continue
            self.characteristics_.append(ch)
            blocks.append(ch.design(X))
        if not blocks:
            raise ValueError(
                "no usable feature: every column is constant or too sparse for min_support"
            )
        # indicators are mostly zero: a sparse design makes the regression several
        # times faster on large lead tables (1M leads x a few hundred rules)
        design = sparse.hstack([sparse.csr_matrix(b) for b in blocks], format="csr")
        # linear (decay) columns are on their own scale; standardise all columns so the
        # L2 penalty treats them alike, and undo the scaling on the coefficients
        mean = np.asarray(design.mean(axis=0)).ravel()
        sq = np.asarray(design.multiply(design).mean(axis=0)).ravel()
        scale = np.sqrt(np.maximum(sq - mean**2, 0.0))
        scale = np.where(scale > 0, scale, 1.0)
        Z = design @ sparse.diags(1.0 / scale)

        C, warm = self.C, None
        if C == "auto":
            C, warm = self._choose_C(Z.tocsr(), y_arr)
        self.C_ = float(C)
        lr = LogisticRegression(C=self.C_, max_iter=2000, warm_start=warm is not None)
        if warm is not None:
            # start from the solution found while choosing C: far fewer iterations
            lr.coef_, lr.intercept_ = warm
        lr.fit(Z, y_arr)
        coef = lr.coef_.ravel() / scale
        self.factor_ = self.points_to_double_odds / np.log(2)
        pts = np.round(coef * self.factor_, self.decimals)
        self.points_ = []
        start = 0
        for ch in self.characteristics_:
            k = len(ch.indicators)
            self.points_.append([_num(p) for p in pts[start : start + k]])
            start += k
        self.intercept_ = float(lr.intercept_[0])
        self.coef_ = coef
        # calibrate on the score the YAML gives (rounded points), so they agree exactly
        score = np.asarray(design @ pts).ravel()
        self.calibration_ = _platt(score, y_arr)
        self.train_scores_ = score
        cuts = np.cumsum([share for _, share in self.grades])[:-1]
        thresholds = np.quantile(score, 1 - cuts) if len(cuts) else np.array([])
        self.grade_thresholds_ = [
            (label, _num(round(float(t), self.decimals)) if i < len(thresholds) else None)
            for i, (label, _) in enumerate(self.grades)
            for t in [thresholds[i] if i < len(thresholds) else np.nan]
        ]
        return self

    def _choose_C(
        self, Z: sparse.csr_matrix, y: np.ndarray
    ) -> tuple[float, tuple[np.ndarray, np.ndarray] | None]:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score

        n = len(y)
        n_val = max(round(n * self.validation_fraction), 1)
        if self.validation == "temporal":
            tr, va = np.arange(n - n_val), np.arange(n - n_val, n)
        else:
            from sklearn.model_selection import train_test_split

            tr, va = train_test_split(
                np.arange(n), test_size=n_val, stratify=y, random_state=self.random_state
            )
        # choosing a penalty needs no more than a few hundred thousand leads; the latest
        # training rows are kept when the validation is temporal
        cap = 300_000
        if len(tr) > cap:
            tr = (
                tr[-cap:]
                if self.validation == "temporal"
                else np.sort(
                    np.random.default_rng(self.random_state).choice(tr, cap, replace=False)
                )
            )
        if np.unique(y[va]).size < 2 or np.unique(y[tr]).size < 2:
            return float(self.C_grid[len(self.C_grid) // 2]), None
        best, best_auc, best_coef = self.C_grid[0], -1.0, None
        # strongest penalty first, each fit warm-started from the previous one
        lr = LogisticRegression(max_iter=2000, warm_start=True)
        for c in sorted(self.C_grid):
            lr.set_params(C=c).fit(Z[tr], y[tr])
            auc = roc_auc_score(y[va], lr.decision_function(Z[va]))
            if auc > best_auc + 1e-4:
                best, best_auc = c, auc
                best_coef = (lr.coef_.copy(), lr.intercept_.copy())
        return float(best), best_coef

    # -------------------------------------------------------------- scoring
    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The YAML score: the sum of the (rounded) points of the rules a lead meets."""
        check_table(X)
        total = np.zeros(len(X))
        for ch, pts in zip(self.characteristics_, self.points_, strict=True):
            total += ch.design(X) @ np.asarray(pts, dtype=float)
        return total

    def proba_from_score(self, score: np.ndarray | float) -> np.ndarray:
        """Probability of converting for a scorecard score (as computed by the rules)."""
        a, b = self.calibration_
        return 1.0 / (1.0 + np.exp(-(a * np.asarray(score, dtype=float) + b)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.proba_from_score(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points each lead gets from each feature (the YAML rules grouped by feature)."""
        check_table(X)
        out = pd.DataFrame(0.0, index=X.index, columns=[ch.column for ch in self.characteristics_])
        for ch, pts in zip(self.characteristics_, self.points_, strict=True):
            out[ch.column] = ch.design(X) @ np.asarray(pts, dtype=float)
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    # ------------------------------------------------------------------ YAML
    def to_model(self, name: str = "scorecard") -> dict[str, Any]:
        rules: list[dict[str, Any]] = []
        for ch, pts in zip(self.characteristics_, self.points_, strict=True):
            rules.extend(characteristic_rules(ch, pts))
        a, b = self.calibration_
        desc = (
            f"Logistic-regression scorecard: every {self.points_to_double_odds:g} points double "
            f"the odds of converting. Probability = 1 / (1 + exp(-({a:.5f} x score + {b:.4f})))."
        )
        score: dict[str, Any] = {"description": desc}
        grades = {label: t for label, t in self.grade_thresholds_}
        if len(grades) > 1 and _decreasing([t for t in grades.values() if t is not None]):
            score["grades"] = grades
        score["rules"] = unique_ids(rules)
        return {"name": name, "scores": {self.score_name: score}}

    def to_yaml(self, name: str = "scorecard") -> str:
        return dump_yaml(self.to_model(name))

    def points_table(self) -> pd.DataFrame:
        rows = []
        for ch, pts in zip(self.characteristics_, self.points_, strict=True):
            for ind, p in zip(ch.indicators, pts, strict=True):
                rows.append({"feature": ch.column, "bin": ind.label, "points": p})
        return pd.DataFrame(rows)


def _decreasing(values: list[float]) -> bool:
    return all(a > b for a, b in itertools.pairwise(values))


def _num(value: float) -> float | int:
    value = float(value)
    return int(value) if value.is_integer() else value


def _platt(score: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6, max_iter=1000).fit(score.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])
