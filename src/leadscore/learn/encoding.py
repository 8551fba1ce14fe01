"""Turning a mixed feature table into model inputs, identically at fit and predict time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from leadscore.learn.tabular import as_number_series, as_text_series, is_numeric_column


class FeatureTableError(ValueError):
    """A feature table a learner cannot use; the message names the column."""


def check_table(X: object, y: object | None = None, *, what: str = "features") -> pd.DataFrame:
    """Validate the input of ``fit``/``predict``: a DataFrame with named columns, a 0/1 label."""
    if not isinstance(X, pd.DataFrame):
        raise FeatureTableError(f"{what}: expected a pandas DataFrame, got {type(X).__name__}")
    if X.shape[0] == 0:
        raise FeatureTableError(f"{what}: the table has no rows")
    dupes = X.columns[X.columns.duplicated()].tolist()
    if dupes:
        raise FeatureTableError(f"{what}: duplicated column names {dupes}")
    if y is not None:
        labels = np.asarray(y)
        if labels.shape[0] != X.shape[0]:
            raise FeatureTableError(
                f"{what}: {X.shape[0]} rows but {labels.shape[0]} labels; they must match"
            )
        bad = ~np.isin(labels, (0, 1, True, False))
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            value = labels[pos].item() if isinstance(labels[pos], np.generic) else labels[pos]
            raise FeatureTableError(
                f"label: row {pos + 1} has {value!r}; labels must be 0/1 (converted or not)"
            )
        if np.unique(labels.astype(int)).size < 2:
            raise FeatureTableError(
                "label: only one class present; need converted and not converted leads"
            )
    return X


def numeric_view(series: pd.Series) -> pd.Series:
    """Numbers, with datetimes as days since 1970 so that time can be a feature."""
    if pd.api.types.is_datetime64_any_dtype(series):
        ns = series.astype("datetime64[ns]" if series.dt.tz is None else series.dtype)
        values = ns.astype("int64").astype(float) / 86_400e9
        return values.where(series.notna(), np.nan)
    return as_number_series(series)


@dataclass
class ColumnPlan:
    """Which columns are numbers and which are categories, and the categories seen in training."""

    numeric: list[str]
    categorical: list[str]
    categories: dict[str, list[str]]

    @classmethod
    def fit(cls, X: pd.DataFrame, max_categories: int = 200, min_count: int = 1) -> ColumnPlan:
        numeric, categorical, cats = [], [], {}
        for col in X.columns:
            s = X[col]
            if is_numeric_column(s) or pd.api.types.is_datetime64_any_dtype(s):
                numeric.append(str(col))
            else:
                text = as_text_series(s)
                counts = text.dropna().value_counts()
                counts = counts[counts >= min_count]
                categorical.append(str(col))
                cats[str(col)] = sorted(str(v) for v in counts.index[:max_categories])
        return cls(numeric=numeric, categorical=categorical, categories=cats)

    def check_columns(self, X: pd.DataFrame, what: str = "features") -> None:
        missing = [c for c in self.numeric + self.categorical if c not in X.columns]
        if missing:
            raise FeatureTableError(
                f"{what}: columns {missing} were present in training but are missing"
            )

    def frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Numbers as float, categories as pandas categoricals with the training levels.

        Unseen category values become missing, which LightGBM routes like rare values.
        """
        self.check_columns(X)
        out: dict[str, pd.Series] = {}
        for col in self.numeric:
            # "never happened" (infinite recency) is missing to the models: LightGBM
            # routes it as its own branch, the linear base gets a missing flag
            values = numeric_view(X[col])
            out[col] = values.where(~np.isinf(values.to_numpy(dtype=float)), np.nan)
        for col in self.categorical:
            text = as_text_series(X[col])
            out[col] = pd.Series(
                pd.Categorical(text, categories=self.categories[col]), index=X.index
            )
        return pd.DataFrame(out, index=X.index)[self.numeric + self.categorical]


class LinearDesign:
    """One-hot categories and standardised numbers (with missing flags) for a linear model."""

    def fit(self, frame: pd.DataFrame, plan: ColumnPlan) -> LinearDesign:
        self.plan = plan
        nums = (
            frame[plan.numeric].to_numpy(dtype=float) if plan.numeric else np.zeros((len(frame), 0))
        )
        # A column with no value at all (e.g. a field nobody filled in) gets median 0;
        # numpy would warn about the all-NaN slice, so those columns are skipped.
        self.medians_ = np.zeros(nums.shape[1])
        seen = ~np.isnan(nums).all(axis=0)
        if seen.any():
            self.medians_[seen] = np.nanmedian(nums[:, seen], axis=0)
        filled = np.where(np.isnan(nums), self.medians_, nums)
        # Extrapolating beyond the training range is the linear model's job here (trees
        # predict a constant out there), but only so far: values are clipped at one
        # training range beyond each end, so a lead scored long after its snapshot
        # (recency 300 days when training saw at most 14) cannot run away.
        if nums.shape[1]:
            low, high = np.nanmin(filled, axis=0), np.nanmax(filled, axis=0)
            self.low_, self.high_ = low - (high - low), high + (high - low)
        else:
            self.low_ = self.high_ = np.zeros(0)
        self.mean_ = filled.mean(axis=0) if nums.shape[1] else np.zeros(0)
        std = filled.std(axis=0) if nums.shape[1] else np.zeros(0)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.has_nan_ = np.isnan(nums).any(axis=0) if nums.shape[1] else np.zeros(0, dtype=bool)
        # the owner of every design column, to add coefficients back up per feature
        owners: list[str] = list(plan.numeric)
        owners += [
            c
            for c, flag in zip(
                plan.numeric, np.asarray(self.has_nan_, dtype=bool).tolist(), strict=True
            )
            if flag
        ]
        for col in plan.categorical:
            owners += [col] * (len(plan.categories[col]) + 1)  # +1: missing/unseen
        self.owners_ = owners
        return self

    def transform(self, frame: pd.DataFrame) -> sparse.csr_matrix:
        plan = self.plan
        n = len(frame)
        blocks = []
        if plan.numeric:
            nums = frame[plan.numeric].to_numpy(dtype=float)
            nan = np.isnan(nums)
            filled = np.where(nan, self.medians_, nums)
            scaled = (np.clip(filled, self.low_, self.high_) - self.mean_) / self.scale_
            blocks.append(sparse.csr_matrix(scaled))
            if self.has_nan_.any():
                blocks.append(sparse.csr_matrix(nan[:, self.has_nan_].astype(float)))
        for col in plan.categorical:
            codes = frame[col].cat.codes.to_numpy()
            k = len(plan.categories[col])
            idx = np.where(codes < 0, k, codes)
            blocks.append(sparse.csr_matrix((np.ones(n), (np.arange(n), idx)), shape=(n, k + 1)))
        if not blocks:
            return sparse.csr_matrix((n, 0))
        return sparse.hstack(blocks, format="csr")
