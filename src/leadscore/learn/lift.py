"""Lift points (SPEC L2): points from how much more often leads with a trait convert.

The manual method from the articles: take the overall lead-to-customer rate, the rate
for every attribute value and action, and give points in proportion to the ratio
("overall 1 %, requested a demo 20 %: about 20 points"). Values seen on fewer than
``min_support`` leads get no points, and every rule's description carries its
conversion rate with a Wilson 95 % confidence interval, so a marketer can see which
points rest on thin evidence before editing them.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from leadscore.learn.bins import (
    Characteristic,
    characteristic_rules,
    make_characteristic,
    unique_ids,
)
from leadscore.learn.encoding import check_table
from leadscore.learn.tabular import FeatureInfo, field_infos


def wilson_interval(
    successes: np.ndarray, n: np.ndarray, z: float = 1.959964
) -> tuple[np.ndarray, np.ndarray]:
    """95 % Wilson score interval for a proportion (good for small counts and 0 %)."""
    n = np.asarray(n, dtype=float)
    p = np.where(n > 0, np.asarray(successes, dtype=float) / np.maximum(n, 1), 0.0)
    denom = 1 + z**2 / np.maximum(n, 1)
    centre = (p + z**2 / (2 * np.maximum(n, 1))) / denom
    half = z * np.sqrt(p * (1 - p) / np.maximum(n, 1) + z**2 / (4 * np.maximum(n, 1) ** 2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


class LiftPoints(ClassifierMixin, BaseEstimator):
    """Points per attribute value and action from conversion-rate ratios.

    Parameters
    ----------
    points_per_lift : points for a value that converts twice as often as average
        (``lift = 2``). With ``method="ratio"`` a value with lift ``L >= 1`` gets
        ``points_per_lift * (L - 1)`` and one with ``L < 1`` gets
        ``-points_per_lift * (1/L - 1)`` (half as often: ``-points_per_lift``);
        with ``method="log"`` it gets ``points_per_lift * log2(L)``, which adds up
        like odds and ranks better when many rules fire at once.
    min_support : leads a value (or bin) needs before it earns points.
    max_bins : bins per numeric column or event count.
    significant_only : give points only where the 95 % interval of the rate excludes
        the overall rate.
    decimals : rounding of the points in the YAML.
    score_name : name of the score in the YAML.
    """

    def __init__(
        self,
        points_per_lift: float = 10.0,
        method: Literal["ratio", "log"] = "ratio",
        min_support: int = 30,
        max_bins: int = 4,
        significant_only: bool = False,
        decimals: int = 0,
        score_name: str = "lift",
    ) -> None:
        self.points_per_lift = points_per_lift
        self.method = method
        self.min_support = min_support
        self.max_bins = max_bins
        self.significant_only = significant_only
        self.decimals = decimals
        self.score_name = score_name

    def fit(
        self, X: pd.DataFrame, y: Any, feature_info: dict[str, FeatureInfo] | None = None
    ) -> LiftPoints:
        X = check_table(X, y)
        y_arr = np.asarray(y).astype(int)
        if self.method not in ("ratio", "log"):
            raise ValueError(f"method must be 'ratio' or 'log', got {self.method!r}")
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.array([str(c) for c in X.columns], dtype=object)
        infos = field_infos(list(X.columns), feature_info)
        self.overall_rate_ = float(y_arr.mean())
        self.n_leads_ = len(y_arr)
        self.characteristics_: list[Characteristic] = []
        self.points_: list[list[float]] = []
        rows: list[dict[str, Any]] = []
        for col in _one_window_per_action(infos):
            ch = make_characteristic(
                str(col),
                X[col],
                infos[col],
                encoding="interval",
                min_support=self.min_support,
                max_bins=self.max_bins,
            )
            if ch is None:
                continue
            design = ch.design(X)
            n = design.sum(axis=0)
            conv = design.T @ y_arr
            low, high = wilson_interval(conv, n)
            pts = []
            for j, ind in enumerate(ch.indicators):
                rate = conv[j] / n[j] if n[j] else 0.0
                supported = n[j] >= self.min_support
                significant = high[j] < self.overall_rate_ or low[j] > self.overall_rate_
                p = (
                    self._points(rate)
                    if supported and (significant or not self.significant_only)
                    else 0.0
                )
                pts.append(p)
                rows.append(
                    {
                        "feature": ch.column,
                        "value": ind.label,
                        "leads": int(n[j]),
                        "conversions": int(conv[j]),
                        "rate": float(rate),
                        "rate_low": float(low[j]),
                        "rate_high": float(high[j]),
                        "lift": float(rate / self.overall_rate_)
                        if self.overall_rate_
                        else float("nan"),
                        "points": p,
                        "significant": bool(significant),
                    }
                )
            if any(p != 0 for p in pts):
                self.characteristics_.append(ch)
                self.points_.append(pts)
        self.table_ = pd.DataFrame(rows)
        return self

    def _points(self, rate: float) -> float:
        base = self.overall_rate_
        # a rate of exactly 0 has no finite log; floor it at half a conversion
        lift = max(rate, 0.5 / max(self.n_leads_, 1)) / base
        if self.method == "log":
            raw = self.points_per_lift * np.log2(lift)
        elif lift >= 1:
            raw = self.points_per_lift * (lift - 1)
        else:
            raw = -self.points_per_lift * (1 / lift - 1)
        value = round(float(raw), self.decimals)
        return int(value) if self.decimals == 0 else value

    # -------------------------------------------------------------- scoring
    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        check_table(X)
        total = np.zeros(len(X))
        for ch, pts in zip(self.characteristics_, self.points_, strict=True):
            total += ch.design(X) @ np.asarray(pts, dtype=float)
        return total

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Points mapped to a probability by the rate of training leads with similar totals.

        Lift points are a ranking; this is only a rough reading of it (isotonic fit).
        """
        if not hasattr(self, "calibrator_"):
            raise AttributeError("call fit_calibration(X, y) first to map points to probabilities")
        p = self.calibrator_.predict(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def fit_calibration(self, X: pd.DataFrame, y: Any) -> LiftPoints:
        from sklearn.isotonic import IsotonicRegression

        self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
            self.decision_function(X), np.asarray(y).astype(int)
        )
        return self

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points each lead gets from each feature (the YAML rules grouped by feature)."""
        check_table(X)
        out = pd.DataFrame(0.0, index=X.index, columns=[ch.column for ch in self.characteristics_])
        for ch, pts in zip(self.characteristics_, self.points_, strict=True):
            out[ch.column] = ch.design(X) @ np.asarray(pts, dtype=float)
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.decision_function(X) > 0).astype(int)

    # ------------------------------------------------------------------ YAML
    def to_model(self, name: str = "suggested-points") -> dict[str, Any]:
        """The scoring model as a mapping in the model language (see ``to_yaml``)."""
        rules: list[dict[str, Any]] = []
        by_col = {row_key: row for row_key, row in self._table_rows().items()}
        for ch, pts in zip(self.characteristics_, self.points_, strict=True):
            notes = []
            for ind in ch.indicators:
                r = by_col[(ch.column, ind.label)]
                notes.append(
                    f"converts {r['rate']:.1%} (95% CI {r['rate_low']:.1%}-{r['rate_high']:.1%}) "
                    f"vs {self.overall_rate_:.1%} overall, {r['leads']} leads, lift {r['lift']:.2f}"
                )
            rules.extend(characteristic_rules(ch, pts, notes))
        desc = (
            f"Suggested from {self.n_leads_} leads ({self.overall_rate_:.1%} converted): "
            f"points = {self.points_per_lift:g} x "
            + (
                "log2(lift)"
                if self.method == "log"
                else "(lift - 1), or -(1/lift - 1) below average"
            )
            + f"; values on fewer than {self.min_support} leads get none."
        )
        return {
            "name": name,
            "scores": {self.score_name: {"description": desc, "rules": unique_ids(rules)}},
        }

    def _table_rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(r["feature"], r["value"]): r for r in self.table_.to_dict("records")}

    def to_yaml(self, name: str = "suggested-points") -> str:
        return dump_yaml(self.to_model(name))


def _one_window_per_action(infos: dict[str, FeatureInfo]) -> list[str]:
    """Profile fields, and for each action only its count over the longest window.

    Counting the same demo request in the 7-, 30- and 90-day windows and in "days
    active" would give it its points four times; the manual method sums per trait.
    """
    best: dict[tuple[Any, ...], tuple[float, str]] = {}
    columns = []
    for col, info in infos.items():
        if info.kind == "field":
            columns.append(col)
        elif info.kind == "event_count" and not col.startswith(
            "any_"
        ):  # "any" overlaps every action
            key = (info.on, tuple(sorted((k, str(v)) for k, v in info.where.items())))
            window = info.within_days or 0.0
            if key not in best or window > best[key][0]:
                best[key] = (window, col)
    return columns + [col for _, col in best.values()]


def dump_yaml(model: dict[str, Any]) -> str:
    """YAML a marketer can read: keys in language order, flow style for short rules."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        # A value shared by two rules is written twice: the model loader refuses
        # YAML anchors and aliases (they are how a "billion laughs" bomb is built).
        def ignore_aliases(self, data: object) -> bool:
            return True

    def _float(dumper: yaml.SafeDumper, value: float) -> yaml.ScalarNode:
        if np.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
            return dumper.represent_int(int(value))
        return dumper.represent_float(value)

    _Dumper.add_representer(float, _float)
    _Dumper.add_representer(np.float64, lambda d, v: _float(d, float(v)))
    _Dumper.add_representer(np.int64, lambda d, v: d.represent_int(int(v)))
    _Dumper.add_representer(tuple, lambda d, v: d.represent_list(list(v)))

    def _dict(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.MappingNode:
        # short conditions and tiers on one line, as people write them by hand
        flat = all(not isinstance(v, dict | list | tuple) for v in value.values())
        small = flat and len(value) <= 4 and "description" not in value
        return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=small or None)

    _Dumper.add_representer(dict, _dict)
    return yaml.dump(model, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
