"""Predictive lead scores: gradient boosting with calibrated probabilities and reasons.

The model is LightGBM boosted on top of a regularised logistic regression (the
regression's log-odds are the boosting's starting score). Why the linear start:
trees predict a constant outside the range they were trained on, and lead data
drifts (interest rates, campaigns, seasons); on the bank data a time split drops
plain boosting to 0.65-0.68 AUC while the linear model keeps 0.75. Boosting from
the linear model keeps its extrapolation and adds the interactions trees find.
Whether the linear start helps is decided on an internal validation slice of the
training data (the latest leads when ``validation="temporal"``), never on the test
set.

Each lead's factors are the per-feature log-odds contributions: LightGBM's
``pred_contrib`` (exact tree SHAP values) plus the linear model's
``coef * (x - mean)``, summed per original column.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from leadscore.learn.encoding import ColumnPlan, FeatureTableError, LinearDesign, check_table


class PredictiveModel(ClassifierMixin, BaseEstimator):
    """LightGBM lead-conversion model with calibrated probabilities and per-lead factors.

    Parameters
    ----------
    n_estimators : upper bound on boosting rounds; the number used is chosen by early
        stopping on the validation slice, then the model is refit on all rows.
    learning_rate, num_leaves, min_child_samples, reg_lambda, colsample_bytree :
        LightGBM parameters.
    linear_base : ``"auto"`` (try with and without, keep the better on validation),
        ``True`` or ``False``.
    linear_C : inverse L2 strength of the logistic regression base.
    linear_columns : ``"all"`` or ``"numeric"`` (trees alone handle the categories).
    validation : ``"temporal"`` holds out the last ``validation_fraction`` of rows (pass
        rows in time order), ``"random"`` a stratified random slice.
    calibration : ``"sigmoid"`` (Platt; stable on few conversions) or ``"isotonic"``.
    max_categories : most frequent levels kept per categorical column.
    n_jobs : LightGBM threads; ``None`` uses 1 below 100,000 rows and 2 above (on a
        busy 2-core machine a second OpenMP thread slows small fits down tenfold).
    """

    def __init__(
        self,
        n_estimators: int = 1000,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 40,
        reg_lambda: float = 1.0,
        colsample_bytree: float = 0.8,
        linear_base: bool | Literal["auto"] = True,
        linear_C: float = 1.0,
        linear_columns: Literal["all", "numeric"] = "all",
        validation: Literal["temporal", "random"] = "temporal",
        validation_fraction: float = 0.2,
        early_stopping_rounds: int = 50,
        calibration: Literal["sigmoid", "isotonic"] = "sigmoid",
        max_categories: int = 200,
        n_jobs: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.colsample_bytree = colsample_bytree
        self.linear_base = linear_base
        self.linear_C = linear_C
        self.linear_columns = linear_columns
        self.validation = validation
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.max_categories = max_categories
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame, y: Any) -> PredictiveModel:
        from threadpoolctl import threadpool_limits

        # one BLAS thread: on a shared 2-core machine more threads slow lbfgs down
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(X, y)

    def _fit(self, X: pd.DataFrame, y: Any) -> PredictiveModel:
        X = check_table(X, y)
        y_arr = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        self.n_rows_ = len(y_arr)
        self.feature_names_in_ = np.array([str(c) for c in X.columns], dtype=object)
        self.plan_ = ColumnPlan.fit(X, max_categories=self.max_categories)
        frame = self.plan_.frame(X)

        train_idx, val_idx = self._split(y_arr)
        options = [True, False] if self.linear_base == "auto" else [bool(self.linear_base)]
        trials = []
        for use_linear in options:
            fitted = self._fit_once(
                frame.iloc[train_idx],
                y_arr[train_idx],
                use_linear,
                frame.iloc[val_idx],
                y_arr[val_idx],
            )
            raw_val = fitted["raw"](frame.iloc[val_idx])
            trials.append((_auc(y_arr[val_idx], raw_val), use_linear, fitted, raw_val))
        trials.sort(key=lambda t: t[0], reverse=True)
        best_auc, use_linear, best, raw_val = trials[0]
        self.linear_base_used_ = use_linear
        self.validation_auc_ = float(best_auc)
        self.best_iteration_ = best["n_trees"]
        self.calibrator_ = _fit_calibrator(raw_val, y_arr[val_idx], self.calibration)

        # refit on every row with the chosen settings: the newest leads matter most
        final = self._fit_once(frame, y_arr, use_linear, None, None, n_trees=best["n_trees"])
        self.linear_ = final["linear"]
        self.design_ = final["design"]
        self.booster_ = final["booster"]
        self.base_rate_ = float(y_arr.mean())
        self.design_means_ = (
            np.asarray(self.design_.transform(frame).mean(axis=0)).ravel()
            if self.design_ is not None
            else np.zeros(0)
        )
        # reference distribution of raw scores for drift checks (population stability)
        self.train_raw_scores_ = self._raw(frame)
        sample = X.iloc[:: max(len(X) // 2000, 1)]
        self.importance_ = (
            self.contributions(sample)
            .drop(columns="_base")
            .abs()
            .mean()
            .sort_values(ascending=False)
        )
        return self

    def _split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = y.shape[0]
        n_val = max(round(n * self.validation_fraction), 1)
        if self.validation == "temporal":
            idx = np.arange(n)
            train, val = idx[: n - n_val], idx[n - n_val :]
        else:
            from sklearn.model_selection import train_test_split

            train, val = train_test_split(
                np.arange(n), test_size=n_val, stratify=y, random_state=self.random_state
            )
        if np.unique(y[val]).size < 2 or np.unique(y[train]).size < 2:
            raise FeatureTableError(
                f"label: the {self.validation} validation slice ({n_val} rows) or the rest has "
                "only one class; need more conversions or validation='random'"
            )
        return np.sort(train), np.sort(val)

    def _lgb_params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            # stop on ranking quality, the thing lead scores are used for
            "metric": "auc",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "reg_lambda": self.reg_lambda,
            "colsample_bytree": self.colsample_bytree,
            "subsample": 0.8,
            "subsample_freq": 1,
            "cat_smooth": 20.0,
            "min_data_per_group": 50,
            "max_cat_to_onehot": 8,
            "n_jobs": self.n_jobs
            if self.n_jobs is not None
            else (2 if self.n_rows_ >= 100_000 else 1),
            "random_state": self.random_state,
            "verbose": -1,
        }

    def _fit_once(
        self,
        frame: pd.DataFrame,
        y: np.ndarray,
        use_linear: bool,
        val_frame: pd.DataFrame | None,
        y_val: np.ndarray | None,
        n_trees: int | None = None,
    ) -> dict[str, Any]:
        import lightgbm as lgb
        from sklearn.linear_model import LogisticRegression

        design = linear = None
        init = np.zeros(len(frame))
        val_init = None if val_frame is None else np.zeros(len(val_frame))
        if use_linear:
            plan = self.plan_
            if self.linear_columns == "numeric":
                plan = ColumnPlan(numeric=plan.numeric, categorical=[], categories={})
            design = LinearDesign().fit(frame, plan)
            linear = LogisticRegression(C=self.linear_C, max_iter=1000, solver="lbfgs")
            linear.fit(design.transform(frame), y)
            init = linear.decision_function(design.transform(frame))
            if val_frame is not None:
                val_init = linear.decision_function(design.transform(val_frame))
        else:
            prior = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
            init = np.full(len(frame), np.log(prior / (1 - prior)))
            if val_frame is not None:
                val_init = np.full(len(val_frame), init[0])

        params = self._lgb_params()
        train_set = lgb.Dataset(frame, label=y, init_score=init, free_raw_data=False)
        callbacks: list[Any] = []
        valid_sets = []
        if val_frame is not None:
            valid_sets = [
                lgb.Dataset(val_frame, label=y_val, init_score=val_init, reference=train_set)
            ]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        rounds = n_trees if n_trees is not None else self.n_estimators
        booster = (
            lgb.train(
                params,
                train_set,
                num_boost_round=max(rounds, 1),
                valid_sets=valid_sets,
                callbacks=callbacks,
            )
            if rounds > 0
            else None
        )
        used = int(booster.best_iteration or rounds) if booster is not None else 0
        offset = float(init[0]) if not use_linear else 0.0

        def raw(f: pd.DataFrame) -> np.ndarray:
            base = (
                linear.decision_function(design.transform(f))
                if linear is not None and design is not None
                else np.full(len(f), offset)
            )
            if booster is None:
                return base
            return base + booster.predict(f, raw_score=True, num_iteration=used)

        return {
            "linear": linear,
            "design": design,
            "booster": booster,
            "n_trees": used,
            "offset": offset,
            "raw": raw,
        }

    # --------------------------------------------------------------- predicting
    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        check_table(X)
        return self.plan_.frame(X)

    def _base(self, frame: pd.DataFrame) -> np.ndarray:
        if self.linear_ is not None:
            return np.asarray(self.linear_.decision_function(self.design_.transform(frame)))
        prior = (
            float(np.clip(self.base_rate_, 1e-6, 1 - 1e-6)) if hasattr(self, "base_rate_") else 0.5
        )
        return np.full(len(frame), np.log(prior / (1 - prior)))

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        raw = self._base(frame)
        if self.booster_ is not None:
            raw = raw + self.booster_.predict(frame, raw_score=True)
        return np.asarray(raw)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Uncalibrated log-odds (what the factors add up to)."""
        return self._raw(self._frame(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, shape ``(n, 2)``; column 1 is "converts"."""
        p = self.calibrator_(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Log-odds contribution of every original column for every lead, plus ``_base``.

        Rows sum to :meth:`decision_function`.
        """
        from scipy import sparse

        frame = self._frame(X)
        cols = self.plan_.numeric + self.plan_.categorical
        values = np.zeros((len(frame), len(cols) + 1))  # the last column is _base
        if self.linear_ is not None:
            design = self.design_.transform(frame)
            coef = self.linear_.coef_.ravel()
            means = self.design_means_
            # Sum the design columns per owning feature in one sparse product (a
            # column-by-column loop took ~0.2 s per lead, too slow for a page).
            where = {c: i for i, c in enumerate(cols)}
            owner = np.array([where[o] for o in self.design_.owners_], dtype=np.int64)
            to_owner = sparse.csr_matrix(
                (np.ones(owner.size), (np.arange(owner.size), owner)),
                shape=(owner.size, len(cols)),
            )
            centred = sparse.csr_matrix(design.multiply(coef)) @ to_owner
            values[:, :-1] = centred.toarray() - to_owner.T @ (coef * means)
            values[:, -1] = float(self.linear_.intercept_[0]) + float(coef @ means)
        else:
            values[:, -1] = self._base(frame)[0] if len(frame) else 0.0
        if self.booster_ is not None:
            values += self.booster_.predict(frame, pred_contrib=True)
        return pd.DataFrame(values, index=X.index, columns=[*cols, "_base"])

    def top_factors(self, X: pd.DataFrame, n: int = 3) -> list[dict[str, list[dict[str, Any]]]]:
        """For each lead, the ``n`` strongest positive and negative factors.

        Each factor is ``{"feature", "value", "contribution"}`` with the contribution in
        log-odds (positive raises the chance of converting).
        """
        return self._top(self.contributions(X).drop(columns="_base"), X, n)

    def predict_with_factors(
        self, X: pd.DataFrame, n: int = 3
    ) -> tuple[np.ndarray, list[dict[str, list[dict[str, Any]]]]]:
        """:meth:`predict_proba` and :meth:`top_factors` from one pass over ``X``
        (the contributions add up to the log-odds), for a page that shows both."""
        contrib = self.contributions(X)
        p = self.calibrator_(contrib.to_numpy().sum(axis=1))
        return np.column_stack([1 - p, p]), self._top(contrib.drop(columns="_base"), X, n)

    @staticmethod
    def _top(
        contrib: pd.DataFrame, X: pd.DataFrame, n: int
    ) -> list[dict[str, list[dict[str, Any]]]]:
        values = X[contrib.columns]
        result = []
        arr = contrib.to_numpy()
        names = list(contrib.columns)
        for i in range(arr.shape[0]):
            row = arr[i]
            order = np.argsort(-row)
            pos = [j for j in order[:n] if row[j] > 0]
            neg = [j for j in order[::-1][:n] if row[j] < 0]
            result.append(
                {
                    "positive": [_factor(names[j], values.iat[i, j], row[j]) for j in pos],
                    "negative": [_factor(names[j], values.iat[i, j], row[j]) for j in neg],
                }
            )
        return result

    def feature_importance(self) -> pd.Series:
        """Mean absolute log-odds contribution per feature over a sample of training rows."""
        return self.importance_


def _factor(name: str, value: Any, contribution: float) -> dict[str, Any]:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        value = None
    return {"feature": name, "value": value, "contribution": round(float(contribution), 4)}


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


class _Calibrator:
    """Maps raw log-odds to probabilities; a picklable callable."""

    def __init__(self, kind: str, model: Any) -> None:
        self.kind = kind
        self.model = model

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        if self.kind == "isotonic":
            return np.asarray(self.model.predict(raw), dtype=float)
        a, b = self.model
        return 1.0 / (1.0 + np.exp(-(a * raw + b)))


def _fit_calibrator(raw: np.ndarray, y: np.ndarray, kind: str) -> _Calibrator:
    if kind == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
        return _Calibrator("isotonic", iso)
    if kind != "sigmoid":
        raise ValueError(f"calibration must be 'sigmoid' or 'isotonic', got {kind!r}")
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
    a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if a < 0.05:
        # A flat or negative slope would turn the ranking upside down or erase it (it
        # happens when the validation slice is a different regime, e.g. the bank data's
        # last months). Calibration must be increasing: keep the model's own log-odds
        # scale and fit only the offset.
        from scipy.optimize import minimize_scalar

        def loss(offset: float) -> float:
            p = np.clip(1.0 / (1.0 + np.exp(-(raw + offset))), 1e-12, 1 - 1e-12)
            return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

        a, b = 1.0, float(minimize_scalar(loss, bounds=(-20, 20), method="bounded").x)
    return _Calibrator("sigmoid", (a, b))
