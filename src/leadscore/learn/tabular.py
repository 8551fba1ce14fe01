"""Reading a feature table the way the scoring-model language reads fields.

Every learner that writes a scoring-model YAML must see a column exactly as the
rules will see the contact's field later: trimmed, lower-cased text for
categories, a decimal number for numeric tests, "missing" for None, NaN and blank
text. If the learner and the rule engine read values differently, the learned
points would not reproduce the learned ranking. The helpers here implement that
reading once, vectorised, for pandas columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadscore.rules.values import NUMBER_RE

FeatureKind = Literal["field", "event_count", "event_days", "recency", "decay", "property"]

MISSING = "__missing__"
OTHER = "__other__"


@dataclass(frozen=True)
class FeatureInfo:
    """Where a column of a training set comes from, so a learner can write a rule for it.

    ``kind="field"``: a profile field of the contact (``name`` is the field name).
    ``event_count`` / ``event_days``: number of matching events / distinct UTC days
    with one, at most ``within_days`` old (a volume rule). ``recency``: days since the
    last matching event, ``inf`` when there is none (inactivity rules).
    ``decay``: the sum of ``0.5 ** (age / half_life_days)`` over matching events (an
    event rule with ``half_life_days``).
    """

    name: str
    kind: FeatureKind = "field"
    on: tuple[str, ...] = ()
    where: dict[str, Any] = field(default_factory=dict)
    within_days: float | None = None
    half_life_days: float | None = None
    label: str = ""
    # kind="property": the numeric event property and how it is aggregated (sum/max/last)
    prop: str = ""
    stat: str = ""

    def describe(self) -> str:
        """Words a marketer understands, used in rule descriptions and reports."""
        if self.label:
            return self.label
        if self.kind == "field":
            return self.name
        what = (
            "/".join(self.on)
            if 0 < len(self.on) <= 3
            else f"any activity ({len(self.on)} event types)"
            if self.on
            else "any event"
        )
        if self.where:
            what += " " + ", ".join(_where_words(k, v) for k, v in self.where.items())
        if self.kind == "event_count":
            return f"{what} in the last {self.within_days:g} days"
        if self.kind == "event_days":
            return f"days with {what} in the last {self.within_days:g} days"
        if self.kind == "recency":
            return f"days since last {what}"
        if self.kind == "property":
            return f"{self.stat} of {self.prop} over {what} in the last {self.within_days:g} days"
        return f"{what}, decayed (half-life {self.half_life_days:g} days)"


def _where_words(prop: str, test: Any) -> str:
    """``url {"starts_with": "/pricing"}`` as "url starts with /pricing"."""
    if isinstance(test, dict):
        return " and ".join(f"{prop} {op.replace('_', ' ')} {value}" for op, value in test.items())
    return f"{prop} {test}"


def field_infos(columns: list[str], infos: dict[str, FeatureInfo] | None) -> dict[str, FeatureInfo]:
    """Complete a partial feature description: unknown columns are profile fields."""
    infos = dict(infos or {})
    return {c: infos.get(c, FeatureInfo(name=c)) for c in columns}


def is_numeric_column(series: pd.Series) -> bool:
    """Numbers (not booleans) are binned with thresholds; everything else is a category."""
    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def as_text_series(series: pd.Series) -> pd.Series:
    """Vectorised `leadscore.rules.values.as_text`, lower-cased: the text string operators compare.

    Returns an object series of lower-cased trimmed text, None where the value is missing.
    """
    if pd.api.types.is_bool_dtype(series):
        out = series.map({True: "true", False: "false"})
        return out.astype(object).where(series.notna(), None)
    if pd.api.types.is_integer_dtype(series):
        text = series.astype("Int64").astype(str)
        return text.astype(object).where(series.notna(), None)
    if pd.api.types.is_float_dtype(series):
        # str(float) is how the language reads a float: 3.0 -> "3.0", 1e-07 -> "1e-07"
        values = series.to_numpy(dtype=float, na_value=np.nan)
        out = [None if np.isnan(v) else str(float(v)) for v in values]
        return pd.Series(out, index=series.index, dtype=object)
    return _map_unique(series, _object_text)


def _map_unique(series: pd.Series, func: Any) -> pd.Series:
    """Apply a Python function once per distinct value (1M rows, a few hundred values)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=series.index, dtype=object)


def _object_text(value: Any) -> str | None:
    from leadscore.rules.values import as_text

    text = as_text(value)
    return None if text is None else text.lower()


def as_number_series(series: pd.Series) -> pd.Series:
    """Vectorised `as_number`: float, NaN where the value is missing or not a number."""
    if pd.api.types.is_bool_dtype(series):
        # booleans read as "true"/"false", which are not numbers
        return pd.Series(np.nan, index=series.index, dtype=float)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)

    def number(value: Any) -> float | None:
        text = _object_text(value)
        return float(text) if text is not None and NUMBER_RE.match(text) else None

    return _map_unique(series, number).astype(float)


@dataclass
class CategoricalBins:
    """Levels of a categorical column with enough support; the rest is ``__other__``."""

    levels: list[str]
    has_other: bool
    has_missing: bool

    def codes(self, text: pd.Series) -> pd.Series:
        """Each row's level name (a level, ``__other__`` or ``__missing__``)."""
        known = set(self.levels)
        return text.map(lambda t: MISSING if t is None else (t if t in known else OTHER))


def categorical_bins(text: pd.Series, min_support: int, max_levels: int) -> CategoricalBins:
    counts = text.dropna().value_counts()
    kept = counts[counts >= min_support].index[:max_levels]
    levels = sorted(str(v) for v in kept)
    return CategoricalBins(
        levels=levels,
        has_other=bool(len(counts) > len(levels)),
        has_missing=bool(text.isna().any()),
    )


def quantile_thresholds(values: pd.Series, n_bins: int, min_support: int) -> list[float]:
    """Cut points ``t`` for ``x >= t`` tests, each side of every cut with at least ``min_support``.

    Cut points are actual data values, so a test like ``x >= 3`` reads naturally.
    """
    x = values.dropna().to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return []
    uniq = np.unique(x)
    if uniq.size <= 1:
        return []
    qs = np.quantile(x, np.linspace(0, 1, n_bins + 1)[1:-1], method="higher")
    cuts: list[float] = []
    sorted_x = np.sort(x)
    for q in np.unique(qs):
        if q <= uniq[0]:
            continue
        below = int(np.searchsorted(sorted_x, q, side="left"))
        above = x.size - below
        prev_below = int(np.searchsorted(sorted_x, cuts[-1], side="left")) if cuts else 0
        if below - prev_below >= min_support and above >= min_support:
            cuts.append(float(q))
    return cuts


def nice_number(value: float) -> float | int:
    """An int when the value is whole, so YAML shows ``3`` rather than ``3.0``."""
    if np.isfinite(value) and float(value).is_integer():
        return int(value)
    return float(value)


# ----------------------------------------------------------- plain sentences --

# event type -> (verb in the past tense, what is acted on, its form with a place, noun)
_ACTIONS: dict[str, tuple[str, str, str, str]] = {
    "page_view": ("visited", "the website", "the {} page", "page views"),
    "pageview": ("visited", "the website", "the {} page", "page views"),
    "visit": ("visited", "the website", "the {} page", "visits"),
    "email_open": ("opened", "e-mails", "{} e-mails", "e-mail opens"),
    "email_click": ("clicked", "e-mails", "{} e-mails", "e-mail clicks"),
    "form_submit": ("submitted", "forms", "the {} form", "form submissions"),
    "form": ("submitted", "forms", "the {} form", "form submissions"),
    "webinar": ("attended", "webinars", "the {} webinar", "webinars"),
    "download": ("downloaded", "content", "{}", "downloads"),
    "purchase": ("bought", "something", "{}", "purchases"),
}


def _action(info: FeatureInfo) -> tuple[str, str, str]:
    """(verb, object, noun) for the events a feature counts:
    ("visited", "the /careers page", "page views")."""
    if len(info.on) != 1:
        if info.where:
            return "had", f"events with {_where_phrase(info.where)}", "events"
        return "was active", "", "events"
    etype = info.on[0]
    verb, plain, placed, noun = _ACTIONS.get(
        etype, ("had", f"'{etype}' events", f"'{etype}' events with {{}}", f"'{etype}' events")
    )
    if not info.where:
        return verb, plain, noun
    return verb, placed.format(_where_value(info.where)), noun


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _where_value(where: dict[str, Any]) -> str:
    values = [
        str(next(iter(test.values()))) if isinstance(test, dict) and len(test) == 1 else str(test)
        for test in where.values()
    ]
    return ", ".join(values)


def _where_phrase(where: dict[str, Any]) -> str:
    return ", ".join(_where_words(k, v) for k, v in where.items())


def _times(n: float, unit: str = "time") -> str:
    count = int(n) if float(n).is_integer() else round(float(n), 1)
    return f"{count} {unit}" + ("" if count == 1 else "s")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def factor_sentence(info: FeatureInfo, value: Any) -> str:
    """What a feature's value means for one lead, in words a sales rep reads:
    "Visited the /careers page 5 times in the last 90 days", "Industry is software",
    "Last opened webinar e-mails 3 days ago"."""
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    if info.kind == "field":
        name = info.name.replace("_", " ")
        name = name[:1].upper() + name[1:]
        if missing:
            return f"{name} is not filled in"
        shown = _number(value) if isinstance(value, int | float) else str(value)
        return f"{name} is {shown}"
    verb, what, noun = _action(info)
    window = f"in the last {info.within_days:g} days" if info.within_days else ""
    n = 0.0 if missing else float(value)
    if info.kind == "event_count":
        if n == 0:
            return _join("Never", verb, what, window)
        return _join(verb.capitalize(), what, _times(n), window)
    if info.kind == "event_days":
        return _join(verb.capitalize(), what, "on", _times(n, "day"), window)
    if info.kind == "recency":
        if missing or np.isinf(n):
            return _join("Never", verb, what)
        ago = "today" if n < 1 else f"{_times(round(n), 'day')} ago"
        return _join("Last", verb, what, ago)
    if info.kind == "decay":
        if n < 0.05:
            return _join("Not", verb, what, "recently")
        return _join(
            verb.capitalize(),
            what,
            f"recently (weight {n:.1f}; each time counts half after {info.half_life_days:g} days)",
        )
    if info.kind == "property":
        prop = info.prop.replace("_", " ")
        if missing:
            return _join("No", prop, "recorded on", noun, window)
        stat = {"sum": "in total", "max": "at most", "last": "the latest"}.get(info.stat, info.stat)
        amount = _number(n)
        return f"{prop.capitalize()} on {noun} {window}: {amount} {stat}".replace("  ", " ")
    return f"{info.describe()}: {value}"
