"""The plain baseline a learned model must beat before it is promoted.

One-hot categories and standardised numbers (the predictive model's own linear
design, :class:`leadscore.learn.encoding.LinearDesign`) in an L2 logistic
regression with scikit-learn's default strength: what a data scientist would
try first. A model that cannot beat it on the holdout by more than the noise is
not worth its complexity (issue: a model scoring 0.628 against 0.677 was promoted).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadscore.learn.encoding import ColumnPlan, LinearDesign


class PlainLogistic:
    """``fit(X, y)`` / ``score(X)``: a one-hot logistic regression on the feature table."""

    def fit(self, X: pd.DataFrame, y: Any) -> PlainLogistic:
        from sklearn.linear_model import LogisticRegression

        self.plan_ = ColumnPlan.fit(X, max_categories=200, min_count=5)
        frame = self.plan_.frame(X)
        self.design_ = LinearDesign().fit(frame, self.plan_)
        self.model_ = LogisticRegression(C=1.0, max_iter=2000).fit(
            self.design_.transform(frame), np.asarray(y).astype(int)
        )
        return self

    def score(self, X: pd.DataFrame) -> np.ndarray:
        design = self.design_.transform(self.plan_.frame(X[list(X.columns)]))
        return np.asarray(self.model_.decision_function(design))
