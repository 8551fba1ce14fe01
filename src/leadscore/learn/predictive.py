"""Predictive lead scores: gradient boosting with calibrated probabilities and reasons.

The model is LightGBM boosted on top of a regularised logistic regression (the
regression's log-odds are the boosting's starting score). Why the linear start:
trees predict a constant outside the range they were trained on, and lead data
drifts (interest rates, campaigns, seasons); on the bank data a time split drops
plain boosting to 0.65-0.68 AUC while the linear model keeps 0.75. Boosting from
the linear model keeps its extrapolation and adds the interactions trees find.
Where the linear start does not help, plain boosting can rank better (bank 5-fold CV,
Olist by date), and on a few noisy columns the regression alone may. So by default the
score is a blend of the three (regression alone, boosting from it, plain boosting),
weights chosen on held-out training rows: out-of-fold scores of an inner k-fold, or
the latest leads when ``validation="temporal"``; never on a test set.

Each lead's factors are the per-feature log-odds contributions: LightGBM's
``pred_contrib`` (exact tree SHAP values) of each booster plus the linear model's
``coef * (x - mean)``, weighted by the blend and summed per original column.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from leadscore.learn.encoding import ColumnPlan, FeatureTableError, LinearDesign, check_table

# Below this many conversions the trees get 7 leaves instead of 15. With few
# conversions a 15-leaf tree's leaves hold a handful of them each and fit noise; the
# smaller trees were chosen by repeated inner CV on training rows only (CoIL, 348
# conversions: +0.004 held-out AUC over 15 fresh folds, 2.7 SE; Olist's earliest 80 %,
# about 700: +0.002). Larger data (bank, X Education) keep 15 leaves, as before.
SMALL_DATA_CONVERSIONS = 1000


class PredictiveModel(ClassifierMixin, BaseEstimator):
    """LightGBM lead-conversion model with calibrated probabilities and per-lead factors.

    Parameters
    ----------
    n_estimators : upper bound on boosting rounds; the number used is chosen by early
        stopping on the validation slice, then the model is refit on all rows.
    learning_rate, num_leaves, min_child_samples, reg_lambda, colsample_bytree :
        LightGBM parameters. ``num_leaves="auto"``: 7 leaves per tree when the training
        rows hold fewer than ``SMALL_DATA_CONVERSIONS`` conversions, 15 otherwise.
    n_seeds : fit this many boosters per model with different seeds (row bagging and
        column sampling differ) and average them; 1 by default (see BENCHMARKS.md: on
        CoIL's training rows 5 seeds did not raise held-out AUC and cost 3x).
    extra_trees, path_smooth : LightGBM's randomised splits and leaf smoothing (off).
    linear_base : ``"blend"`` (default; also ``"auto"``): fit the boosting with and
        without the linear start and mix them, and the linear model alone, with weights
        chosen on the validation slice (see ``_choose_weights``); ``True`` or ``False``:
        one boosted model with or without the linear start.
    linear_C : inverse L2 strength of the logistic regression base.
    linear_columns : ``"all"`` or ``"numeric"`` (trees alone handle the categories).
    validation : ``"temporal"`` holds out the last ``validation_fraction`` of rows (pass
        rows in time order), ``"random"`` uses ``validation_folds`` stratified inner
        folds (out-of-fold scores; ``validation_folds=1``: one random slice).
    max_validation_rows : the models fitted to choose the blend and the number of trees
        use at most this many training rows (the latest when temporal); the final
        model is refit on all rows.
    calibration : ``"sigmoid"`` (Platt; stable on few conversions) or ``"isotonic"``.
    max_categories : most frequent levels kept per categorical column.
    n_jobs : LightGBM threads; ``None`` uses 1 below 100,000 rows and 2 above (on a
        busy 2-core machine a second OpenMP thread slows small fits down tenfold).
    """

    def __init__(
        self,
        n_estimators: int = 1000,
        learning_rate: float = 0.05,
        num_leaves: int | Literal["auto"] = "auto",
        min_child_samples: int = 40,
        reg_lambda: float = 1.0,
        colsample_bytree: float = 0.8,
        linear_base: bool | Literal["auto", "blend"] = "blend",
        linear_C: float = 1.0,
        linear_columns: Literal["all", "numeric"] = "all",
        validation: Literal["temporal", "random"] = "temporal",
        validation_fraction: float = 0.2,
        validation_folds: int = 3,
        max_validation_rows: int = 100_000,
        early_stopping_rounds: int = 50,
        calibration: Literal["sigmoid", "isotonic"] = "sigmoid",
        max_categories: int = 200,
        n_jobs: int | None = None,
        random_state: int = 0,
        n_seeds: int = 1,
        extra_trees: bool = False,
        path_smooth: float = 0.0,
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
        self.validation_folds = validation_folds
        self.max_validation_rows = max_validation_rows
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.max_categories = max_categories
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.n_seeds = n_seeds
        self.extra_trees = extra_trees
        self.path_smooth = path_smooth

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
        self.num_leaves_ = (
            (7 if int(y_arr.sum()) < SMALL_DATA_CONVERSIONS else 15)
            if self.num_leaves == "auto"
            else int(self.num_leaves)
        )
        self.feature_names_in_ = np.array([str(c) for c in X.columns], dtype=object)
        self.plan_ = ColumnPlan.fit(X, max_categories=self.max_categories)
        frame = self.plan_.frame(X)

        options = (
            [True, False] if self.linear_base in ("auto", "blend") else [bool(self.linear_base)]
        )
        # candidate scores on held-out rows: the boosted models and, when there is one,
        # the linear base alone (it wins when the trees only learn the past). Random
        # validation uses out-of-fold scores of an inner k-fold (one 20 % slice is too
        # noisy for choosing a blend on a few hundred conversions); temporal validation
        # the latest slice, as the model will be used on later leads.
        splits = self._splits(y_arr)
        held = np.concatenate([va for _, va in splits])
        y_va = y_arr[held]
        pieces: dict[tuple[str, bool], list[np.ndarray]] = {}
        rounds: dict[bool, list[int]] = {opt: [] for opt in options}
        for train_idx, val_idx in splits:
            tr, va = frame.iloc[train_idx], frame.iloc[val_idx]
            for opt in options:
                fit = self._fit_once(tr, y_arr[train_idx], opt, va, y_arr[val_idx])
                rounds[opt].append(fit["n_trees"])
                scores = {("boost", opt): fit["val_raw"]}
                if opt:
                    scores[("linear", True)] = fit["val_base"]
                for key, value in scores.items():
                    pieces.setdefault(key, []).append(value)
        parts = {k: np.concatenate(v) for k, v in pieces.items()}
        weights = self._choose_weights(parts, y_va)
        raw_val = _mix(parts, weights)
        self.weights_ = {
            f"{kind}:{'linear' if opt else 'plain'}": w for (kind, opt), w in weights.items()
        }
        self.linear_base_used_ = any(opt for (_, opt), w in weights.items() if w > 0)
        self.validation_auc_ = _auc(y_va, np.asarray(raw_val))
        self.calibrator_ = _fit_calibrator(np.asarray(raw_val), y_va, self.calibration)
        n_trees = {opt: int(np.mean(r)) for opt, r in rounds.items()}

        # refit on every row with the chosen settings: the newest leads matter most
        w_lin = weights.get(("boost", True), 0.0) + weights.get(("linear", True), 0.0)
        w_trees = weights.get(("boost", True), 0.0)
        w_plain = weights.get(("boost", False), 0.0)
        self.best_iteration_ = {"linear": n_trees.get(True, 0), "plain": n_trees.get(False, 0)}
        self.linear_: Any = None
        self.design_: Any = None
        self.booster_: Any = None
        self.booster_plain_: Any = None
        linear_final: dict[str, Any] = {}
        if w_lin > 0:
            n_linear = self.best_iteration_["linear"] if w_trees > 0 else 0
            final = self._fit_once(frame, y_arr, True, None, None, n_trees=n_linear)
            self.linear_, self.design_, self.booster_ = (
                final["linear"],
                final["design"],
                final["booster"],
            )
            linear_final = final
        if w_plain > 0:
            final = self._fit_once(
                frame, y_arr, False, None, None, n_trees=self.best_iteration_["plain"]
            )
            self.booster_plain_ = final["booster"]
        prior = float(np.clip(y_arr.mean(), 1e-6, 1 - 1e-6))
        self.plain_offset_ = float(np.log(prior / (1 - prior)))
        self.w_linear_, self.w_trees_, self.w_plain_ = w_lin, w_trees, w_plain
        self.base_rate_ = float(y_arr.mean())
        self.design_means_ = linear_final.get("design_mean", np.zeros(0))
        # reference distribution of raw scores for drift checks (population stability)
        self.train_raw_scores_ = self._raw(frame, linear_raw=linear_final.get("train_base"))
        sample = X.iloc[:: max(len(X) // 2000, 1)]
        self.importance_ = (
            self.contributions(sample)
            .drop(columns="_base")
            .abs()
            .mean()
            .sort_values(ascending=False)
        )
        return self

    def _choose_weights(
        self, parts: dict[tuple[str, bool], np.ndarray], y: np.ndarray
    ) -> dict[tuple[str, bool], float]:
        """Blend weights of the candidate scores, by AUC on the validation slice.

        With ``linear_base`` True or False there is one boosted model and nothing to
        choose. With ``"blend"`` (or ``"auto"``) every convex mix on a 0.25 grid of the
        linear model alone, the boosting on the linear base and the plain boosting is
        tried; the boosting on the linear base alone is the default, replaced by the best
        mix when that is better by more than 0.001 AUC.
        """
        if not isinstance(self.linear_base, str):
            return {("boost", bool(self.linear_base)): 1.0}
        keys = list(parts)
        default = {("boost", True) if ("boost", True) in parts else keys[0]: 1.0}
        # the default stays unless a mix beats it by 0.001 (ties are noise)
        best, best_auc = default, _auc(y, _mix(parts, default)) + 1e-3
        steps = 4
        for combo in itertools.product(range(steps + 1), repeat=len(keys)):
            if sum(combo) != steps:
                continue
            mix = {k: c / steps for k, c in zip(keys, combo, strict=True) if c}
            auc = _auc(y, _mix(parts, mix))
            if auc > best_auc + 1e-9:
                best, best_auc = mix, auc
        return best

    def _splits(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        n = y.shape[0]
        n_val = max(round(n * self.validation_fraction), 1)
        if self.validation == "temporal":
            idx = np.arange(n)
            splits = [(idx[: n - n_val], idx[n - n_val :])]
        elif (
            self.validation_folds > 1 and np.bincount(y, minlength=2).min() >= self.validation_folds
        ):
            from sklearn.model_selection import StratifiedKFold

            folds = StratifiedKFold(
                self.validation_folds, shuffle=True, random_state=self.random_state
            )
            splits = list(folds.split(np.zeros(n), y))
        else:
            from sklearn.model_selection import train_test_split

            splits = [
                train_test_split(
                    np.arange(n), test_size=n_val, stratify=y, random_state=self.random_state
                )
            ]
        for train, val in splits:
            if np.unique(y[val]).size < 2 or np.unique(y[train]).size < 2:
                raise FeatureTableError(
                    f"label: the {self.validation} validation slice ({len(val)} rows) or the "
                    "rest has only one class; need more conversions or validation='random'"
                )
        out = []
        rng = np.random.default_rng(self.random_state)
        for tr, va in splits:
            tr = np.sort(tr)
            if len(tr) > self.max_validation_rows:
                # the choices made here (blend, number of trees) need no more rows than
                # this; the final model is refit on every row. Temporal: the latest rows.
                tr = (
                    tr[-self.max_validation_rows :]
                    if self.validation == "temporal"
                    else np.sort(rng.choice(tr, self.max_validation_rows, replace=False))
                )
            out.append((tr, np.sort(va)))
        return out

    def _lgb_params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            # stop on ranking quality, the thing lead scores are used for
            "metric": "auc",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves_,
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
            "extra_trees": self.extra_trees,
            "path_smooth": self.path_smooth,
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
        matrix: Any = None
        if use_linear:
            plan = self.plan_
            if self.linear_columns == "numeric":
                plan = ColumnPlan(numeric=plan.numeric, categorical=[], categories={})
            design = LinearDesign().fit(frame, plan)
            linear = LogisticRegression(C=self.linear_C, max_iter=1000, solver="lbfgs")
            matrix = design.transform(frame)
            linear.fit(matrix, y)
            init = linear.decision_function(matrix)
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
        booster: Any = None
        used = 0
        if rounds > 0:
            members = []
            for k in range(max(int(self.n_seeds), 1)):
                seeded = {**params, "random_state": self.random_state + k}
                member = lgb.train(
                    seeded,
                    train_set,
                    num_boost_round=max(rounds, 1),
                    valid_sets=valid_sets,
                    callbacks=callbacks,
                )
                members.append((member, int(member.best_iteration or rounds)))
            booster = members[0][0] if len(members) == 1 else _BoosterBag(members)
            used = members[0][1] if len(members) == 1 else int(np.mean([m[1] for m in members]))
        offset = float(init[0]) if not use_linear else 0.0
        # held-out scores from what is already computed (no second design transform)
        val_raw = None
        if val_frame is not None and val_init is not None:
            val_raw = np.asarray(val_init, dtype=float)
            if booster is not None:
                val_raw = val_raw + (
                    booster.predict(val_frame, raw_score=True)
                    if isinstance(booster, _BoosterBag)
                    else booster.predict(val_frame, raw_score=True, num_iteration=used)
                )

        def raw(f: pd.DataFrame) -> np.ndarray:
            base = (
                linear.decision_function(design.transform(f))
                if linear is not None and design is not None
                else np.full(len(f), offset)
            )
            if booster is None:
                return base
            return base + booster.predict(f, raw_score=True, num_iteration=used)

        def linear_raw(f: pd.DataFrame) -> np.ndarray:
            assert linear is not None and design is not None
            return np.asarray(linear.decision_function(design.transform(f)))

        return {
            "linear": linear,
            "design": design,
            "booster": booster,
            "n_trees": used,
            "offset": offset,
            "raw": raw,
            "linear_raw": linear_raw,
            "val_base": None if val_init is None else np.asarray(val_init, dtype=float),
            "val_raw": val_raw,
            "train_base": np.asarray(init, dtype=float),
            "design_mean": (np.asarray(matrix.mean(axis=0)).ravel() if use_linear else np.zeros(0)),
        }

    # --------------------------------------------------------------- predicting
    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        check_table(X)
        return self.plan_.frame(X)

    def _linear_raw(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.linear_.decision_function(self.design_.transform(frame)))

    def _raw(self, frame: pd.DataFrame, linear_raw: np.ndarray | None = None) -> np.ndarray:
        raw = np.full(len(frame), self.w_plain_ * self.plain_offset_)
        if self.linear_ is not None:
            raw += self.w_linear_ * (self._linear_raw(frame) if linear_raw is None else linear_raw)
        if self.booster_ is not None:
            raw += self.w_trees_ * self.booster_.predict(frame, raw_score=True)
        if self.booster_plain_ is not None:
            raw += self.w_plain_ * self.booster_plain_.predict(frame, raw_score=True)
        return raw

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
        values[:, -1] = self.w_plain_ * self.plain_offset_
        if self.linear_ is not None:
            w = self.w_linear_
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
            values[:, :-1] += w * (centred.toarray() - to_owner.T @ (coef * means))
            values[:, -1] += w * (float(self.linear_.intercept_[0]) + float(coef @ means))
        for booster, w in ((self.booster_, self.w_trees_), (self.booster_plain_, self.w_plain_)):
            if booster is not None and w > 0:
                values += w * booster.predict(frame, pred_contrib=True)
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


def _mix(parts: dict[tuple[str, bool], np.ndarray], weights: dict[Any, float]) -> np.ndarray:
    return np.asarray(sum(w * parts[k] for k, w in weights.items()))


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


class _BoosterBag:
    """The mean of several boosters fitted with different seeds (bagging and column
    sampling differ); raw scores and tree contributions are averaged, so the factors
    still add up to the log-odds. Each member keeps its own number of trees."""

    def __init__(self, members: list[tuple[Any, int]]) -> None:
        self.members = members

    def predict(self, frame: pd.DataFrame, **kwargs: Any) -> np.ndarray:
        kwargs.pop("num_iteration", None)
        out = [m.predict(frame, num_iteration=n, **kwargs) for m, n in self.members]
        return np.asarray(np.mean(out, axis=0))


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
