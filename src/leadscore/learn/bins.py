"""Characteristics: a feature cut into bins that each map exactly onto model-language rules.

Two encodings, one per learner:

* ``"interval"`` (lift points): every row falls in exactly one bin; each bin gets its
  own points.
* ``"threshold"`` (scorecard): indicators ``x >= t`` (``recency > t``), which add up;
  the bin a row falls in earns the sum of the steps it passed. A reference level (no
  points) is implicit.

Both produce, for given points per indicator, rules whose scores equal the learner's
own sum for every lead, as long as the contact's fields and events are read the way
:mod:`leadscore.learn.tabular` reads them (the language's value semantics).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadscore.learn.tabular import (
    FeatureInfo,
    as_number_series,
    as_text_series,
    categorical_bins,
    is_numeric_column,
    nice_number,
    quantile_thresholds,
)

Encoding = Literal["interval", "threshold"]


@dataclass
class Indicator:
    """One 0/1 (or capped linear, for ``decay``) column of the design and its rule."""

    label: str
    kind: str  # level | other | missing | ge | range | count_zero | count_ge | recency_gt | linear
    value: Any = None  # level text, threshold, (low, high) or cap


@dataclass
class Characteristic:
    """A feature column and its indicators."""

    column: str
    info: FeatureInfo
    numeric: bool
    indicators: list[Indicator] = field(default_factory=list)
    reference: str = ""

    def design(self, X: pd.DataFrame) -> np.ndarray:
        """The indicator matrix for this characteristic, shape ``(n, len(indicators))``."""
        s = X[self.column]
        out = np.zeros((len(s), len(self.indicators)))
        if self.numeric:
            x = as_number_series(s).to_numpy(dtype=float)
        else:
            text = as_text_series(s)
        for j, ind in enumerate(self.indicators):
            k = ind.kind
            if k == "level":
                col = (text == ind.value).to_numpy()
            elif k == "other":
                levels = set(ind.value)
                col = text.map(lambda t, lv=levels: t is not None and t not in lv).to_numpy(
                    dtype=bool
                )
            elif k == "missing":
                col = (text.isna() if not self.numeric else pd.Series(np.isnan(x))).to_numpy()
            elif k in ("ge", "count_ge"):
                col = np.nan_to_num(x, nan=-np.inf) >= ind.value
            elif k == "range":
                low, high = ind.value
                xx = np.nan_to_num(x, nan=np.nan)
                col = (xx >= low) & (xx < high)
            elif k == "count_zero":
                col = np.nan_to_num(x, nan=0.0) == 0
            elif k == "recency_gt":
                col = np.nan_to_num(x, nan=np.inf) > ind.value
            elif k == "linear":
                col = np.minimum(np.nan_to_num(x, nan=0.0), ind.value)
            else:  # pragma: no cover - kinds are fixed above
                raise ValueError(k)
            out[:, j] = col
        return out


def make_characteristic(
    column: str,
    series: pd.Series,
    info: FeatureInfo,
    *,
    encoding: Encoding,
    min_support: int,
    max_bins: int,
    max_levels: int = 50,
) -> Characteristic | None:
    """Cut one column into bins with at least ``min_support`` leads each; None if it cannot."""
    if info.kind == "property":
        return None  # a sum of a property has no rule in the model language yet
    if info.kind == "decay":
        if encoding == "interval":
            return None  # a decayed sum has no rule form per bin; lift uses counts instead
        x = as_number_series(series).to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        if x.size == 0 or np.nanmax(x) <= 0:
            return None
        cap = float(np.quantile(x, 0.99))
        if cap <= 0:
            return None
        return Characteristic(
            column, info, True, [Indicator(f"per decayed event (up to {cap:.3g})", "linear", cap)]
        )
    if info.kind == "recency":
        if encoding == "interval":
            return None  # lift learner speaks of actions (counts), not of quiet periods
        x = as_number_series(series)
        cuts = quantile_thresholds(x.replace(np.inf, np.nan), max_bins, min_support)
        cuts = sorted({float(np.ceil(c)) for c in cuts if c >= 1})
        steps = [Indicator(f"nothing in the last {c:g} days", "recency_gt", c) for c in cuts]
        if not steps:
            return None
        return Characteristic(column, info, True, steps, reference="recent activity")
    if info.kind in ("event_count", "event_days"):
        x = as_number_series(series).fillna(0.0)
        positive = x[x >= 1]
        if (x == 0).sum() < min_support or positive.size < min_support:
            return None
        cuts = quantile_thresholds(positive, max_bins, min_support)
        edges = sorted({1.0, *(float(np.ceil(c)) for c in cuts)})
        unit = "days" if info.kind == "event_days" else "times"
        if encoding == "threshold":
            inds = [Indicator(f"at least {e:g} {unit}", "count_ge", e) for e in edges]
            return Characteristic(column, info, True, inds, reference="none")
        inds = [Indicator("none", "count_zero")]
        for lo, hi in itertools.pairwise([*edges, np.inf]):
            if not np.isfinite(hi):
                label = f"{lo:g}+ {unit}"
            elif hi - 1 == lo:
                label = f"{lo:g} {unit}"
            else:
                label = f"{lo:g}-{hi - 1:g} {unit}"
            inds.append(Indicator(label, "range", (lo, hi)))
        return Characteristic(column, info, True, inds)
    if is_numeric_column(series):
        x = as_number_series(series)
        cuts = quantile_thresholds(x, max_bins, min_support)
        n_missing = int(x.isna().sum())
        inds = []
        if encoding == "threshold":
            inds = [Indicator(f">= {c:g}", "ge", c) for c in cuts]
            ref = f"< {cuts[0]:g}" if cuts else "any value"
        else:
            for lo, hi in itertools.pairwise([-np.inf, *cuts, np.inf]):
                if not np.isfinite(lo):
                    label = f"< {hi:g}"
                elif not np.isfinite(hi):
                    label = f">= {lo:g}"
                else:
                    label = f"{lo:g} to < {hi:g}"
                inds.append(Indicator(label, "range", (lo, hi)))
            ref = ""
        if n_missing >= min_support:
            inds.append(Indicator("missing", "missing"))
        if not inds or (encoding == "interval" and len(inds) < 2):
            return None
        return Characteristic(column, info, True, inds, reference=ref)
    text = as_text_series(series)
    bins = categorical_bins(text, min_support, max_levels)
    if not bins.levels:
        return None
    inds = [Indicator(v, "level", v) for v in bins.levels]
    n_other = int((text.notna() & ~text.isin(bins.levels)).sum())
    if bins.has_other and n_other >= min_support:
        inds.append(Indicator("other values", "other", tuple(bins.levels)))
    if bins.has_missing and int(text.isna().sum()) >= min_support:
        inds.append(Indicator("missing", "missing"))
    if len(inds) < 2 and not (bins.has_other or bins.has_missing):
        return None  # a single value everywhere carries no information
    return Characteristic(column, info, False, inds)


# -------------------------------------------------------------------- rules --


def _rule_id(*parts: str) -> str:
    text = "-".join(parts).lower()
    text = re.sub(r"[^a-z0-9_-]+", "-", text).strip("-")
    return re.sub(r"-{2,}", "-", text)[:80] or "rule"


def _event_base(info: FeatureInfo) -> dict[str, Any]:
    base: dict[str, Any] = {}
    if info.on:
        base["on"] = list(info.on) if len(info.on) > 1 else info.on[0]
    if info.where:
        base["where"] = info.where
    return base


def characteristic_rules(
    ch: Characteristic, points: list[float], notes: list[str] | None = None
) -> list[dict[str, Any]]:
    """Model-language rules giving each lead the sum of its indicators' points.

    ``points[j]`` belongs to ``ch.indicators[j]``; zero points produce no rule.
    ``notes[j]`` (optional) is appended to the rule's description.
    """
    notes = notes or [""] * len(points)
    info, f = ch.info, ch.info.name
    what = info.describe()
    rules: list[dict[str, Any]] = []

    def add(rule: dict[str, Any], desc: str, note: str) -> None:
        rule["description"] = f"{desc}{' - ' + note if note else ''}"
        rules.append(rule)

    if info.kind == "field":
        for ind, p, note in zip(ch.indicators, points, notes, strict=True):
            if p == 0:
                continue
            rid = _rule_id(f, ind.label if ind.kind != "range" else _range_id(ind.value))
            if ind.kind == "level":
                cond: dict[str, Any] = {"field": f, "equals": ind.value}
            elif ind.kind == "other":
                cond = {
                    "all": [{"field": f, "not_in": list(ind.value)}, {"field": f, "exists": True}]
                }
            elif ind.kind == "missing":
                cond = {"field": f, "missing": True}
            elif ind.kind == "ge":
                cond = {"field": f, "gte": nice_number(ind.value)}
            else:  # range
                low, high = ind.value
                parts = []
                if np.isfinite(low):
                    parts.append({"field": f, "gte": nice_number(low)})
                if np.isfinite(high):
                    parts.append({"field": f, "lt": nice_number(high)})
                cond = parts[0] if len(parts) == 1 else {"all": parts}
            add({"id": rid, "when": cond, "points": p}, f"{what}: {ind.label}", note)
        return rules

    if info.kind in ("event_count", "event_days"):
        base = _event_base(info)
        count = "days" if info.kind == "event_days" else "events"
        tiers = []
        running = 0.0
        for ind, p, note in zip(ch.indicators, points, notes, strict=True):
            if ind.kind == "count_zero":
                if p != 0:
                    rule = {"id": _rule_id(ch.column, "none"), "inactive_days": info.within_days}
                    add({**rule, **base, "points": p}, f"no {what}", note)
                continue
            at_least = int(ind.value if ind.kind == "count_ge" else ind.value[0])
            # thresholds add up (scorecard); intervals each carry their own points (lift)
            running = running + p if ind.kind == "count_ge" else p
            tiers.append({"at_least": at_least, "points": _clean(running)})
        if any(t["points"] != 0 for t in tiers):
            volume: dict[str, Any] = {
                "id": _rule_id(ch.column),
                **base,
                "within_days": info.within_days,
            }
            if count == "days":
                volume["count"] = "days"
            volume["tiers"] = tiers
            add(volume, what, "; ".join(n for n in notes if n))
        return rules

    if info.kind == "recency":
        base = _event_base(info)
        for ind, p, note in zip(ch.indicators, points, notes, strict=True):
            if p == 0:
                continue
            rule = {"id": _rule_id(ch.column, f"{ind.value:g}d"), "inactive_days": ind.value}
            label = "/".join(info.on) if len(info.on) == 1 else "activity"
            add({**rule, **base, "points": p}, f"no {label} in {ind.value:g} days", note)
        return rules

    if info.kind == "decay":
        ind, p = ch.indicators[0], points[0]
        if p == 0:
            return rules
        rule = {
            "id": _rule_id(ch.column),
            **_event_base(info),
            "points": p,
            "half_life_days": info.half_life_days,
        }
        # the learner capped the decayed sum at the 99th percentile; the cap is exact
        # as max_points because points x min(sum, cap) = clamp(points x sum, +-|points| x cap)
        rule["max_points"] = float(abs(p) * ind.value)
        add(rule, what, notes[0])
        return rules
    raise ValueError(f"unknown feature kind {info.kind!r}")


def _range_id(value: tuple[float, float]) -> str:
    low, high = value
    if not np.isfinite(low):
        return f"lt-{high:g}"
    if not np.isfinite(high):
        return f"ge-{low:g}"
    return f"{low:g}-to-{high:g}"


def _clean(value: float) -> float | int:
    value = round(float(value), 6)
    return int(value) if value.is_integer() else value


def unique_ids(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rule ids must be unique across a model; suffix repeats."""
    seen: dict[str, int] = {}
    for rule in rules:
        rid = rule["id"]
        if rid in seen:
            seen[rid] += 1
            rule["id"] = f"{rid}-{seen[rid]}"
        else:
            seen[rid] = 1
    return rules
