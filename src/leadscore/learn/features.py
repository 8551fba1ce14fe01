"""Point-in-time training sets: features as of a snapshot, the label after it.

For every lead we pick a snapshot moment (N days after it was created, the moment
it became an MQL, or one fixed date). Features use only what was known at the
snapshot: profile fields and events with ``timestamp <= snapshot``. The label is
whether the outcome (e.g. ``converted_at``) happened in ``(snapshot, snapshot +
horizon]``. Leads that had already converted at the snapshot, and leads whose
outcome window is not over at the end of the data, are left out and counted. The
second rule applies whatever the outcome: keeping the early converters of an open
window while dropping its non-converters would inflate the positive rate (and a
holdout of the newest leads would be mostly converters).

Event features follow the scoring-model language exactly, so the scorecard and
lift learners can write each one back as a rule: ``event_count`` is a volume rule
(count of matching events with age ``<= within_days``), ``recency`` an inactivity
rule, ``decay`` an event rule with ``half_life_days``. Event ``where`` filters are
compiled by :func:`leadscore.rules.compile_where`, the evaluator's own matcher.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadscore.learn.tabular import FeatureInfo, as_text_series

DAY_NS = 86_400 * 10**9
EVENT_FIXED = ("event_id", "contact_id", "type", "timestamp")
MAX_PROPERTY_LEVELS = 30  # a text property with more values is free text or ids, not counted
NON_FEATURE_COLUMNS = ("contact_id",)


class TrainingSetError(ValueError):
    """Input that cannot become a training set; the message names the column and row."""


@dataclass
class LeakageFinding:
    """``severity="leak"``: almost surely filled in after the outcome (acted on by
    ``on_leak``); ``"suspect"``: strong enough to check by hand (only reported)."""

    column: str
    reason: str
    value: float
    severity: Literal["leak", "suspect"] = "leak"

    def __str__(self) -> str:
        return f"{self.column}: {self.reason}"


@dataclass
class TrainingSet:
    """One row per lead as of its snapshot.

    ``X`` is indexed by ``contact_id``; ``y`` is 1 when the lead converted within the
    horizon; ``snapshot_at`` is each row's snapshot (rows are sorted by it, so a
    temporal split is a slice); ``infos`` says how each column maps to a rule.
    """

    X: pd.DataFrame
    y: pd.Series
    snapshot_at: pd.Series
    infos: dict[str, FeatureInfo]
    excluded: dict[str, int] = field(default_factory=dict)
    leakage: list[LeakageFinding] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)
    groups: list[EventGroup] = field(default_factory=list)
    windows: tuple[float, ...] = (7, 30, 90)
    half_life_days: float = 30.0
    horizon_days: float = 90.0
    data_end: pd.Timestamp | None = None
    # what the defaults chose and why, and what looks wrong: printed by the CLI
    choices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rate_before: float | None = None
    rate_after: float | None = None
    # days from creation to snapshot per row (NaN when there is no creation date)
    snapshot_age_days: pd.Series | None = None

    def temporal_split(self, test_fraction: float = 0.2) -> tuple[TrainingSet, TrainingSet]:
        """Earlier leads for training, the latest ``test_fraction`` for testing."""
        n = len(self.y)
        cut = n - max(round(n * test_fraction), 1)
        return self._rows(slice(0, cut)), self._rows(slice(cut, n))

    def _rows(self, rows: slice | np.ndarray) -> TrainingSet:
        ages = self.snapshot_age_days
        return replace(
            self,
            X=self.X.iloc[rows],
            y=self.y.iloc[rows],
            snapshot_at=self.snapshot_at.iloc[rows],
            snapshot_age_days=None if ages is None else ages.iloc[rows],
        )

    def subset(self, mask: np.ndarray | pd.Series) -> TrainingSet:
        """The rows where ``mask`` is true, in the same (snapshot) order."""
        return self._rows(np.flatnonzero(np.asarray(mask, dtype=bool)))


# ----------------------------------------------------------------- helpers --


def to_utc(values: pd.Series | Sequence[Any], what: str) -> pd.Series:
    """Parse timestamps (ISO 8601 text or datetimes; naive means UTC), naming bad rows."""
    series = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(series):
        out = series
    else:
        text = series.astype(object).where(series.notna(), None)
        text = text.map(lambda v: v.strip() if isinstance(v, str) else v).replace("", None)
        out = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        bad = out.isna() & text.notna()
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise TrainingSetError(
                f"{what}: row {pos + 1} has {text.iloc[pos]!r}, not a timestamp "
                "(use ISO 8601, e.g. 2026-03-01T14:30:00Z)"
            )
    if getattr(out.dt, "tz", None) is None:
        out = out.dt.tz_localize("UTC")
    return out.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TrainingSetError(
            f"{what}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}"
        )


def _ns(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype="datetime64[ns]").astype("int64")


# ----------------------------------------------------------------- snapshot --


def snapshot_times(
    contacts: pd.DataFrame, snapshot: str, created_column: str = "created_at"
) -> pd.Series:
    """Each lead's snapshot moment.

    ``"created+14d"``: 14 days after ``created_column``; ``"created"``: at creation;
    ``"mql_at"`` or ``"column:mql_at"``: the value of that contacts column (leads
    without it are skipped); ``"2026-01-01"`` (any ISO date): the same moment for
    every lead.
    """
    spec = snapshot.strip()
    if spec in contacts.columns and not spec.startswith("created+"):
        spec = f"column:{spec}"
    if spec.startswith("created"):
        _require(contacts, [created_column], "contacts")
        created = to_utc(contacts[created_column], f"contacts column '{created_column}'")
        rest = spec[len("created") :].strip()
        if not rest:
            return created
        if not (rest.startswith("+") and rest.endswith("d")):
            raise TrainingSetError(
                f"snapshot {snapshot!r}: write 'created+14d' (days after creation)"
            )
        try:
            days = float(rest[1:-1])
        except ValueError:
            raise TrainingSetError(
                f"snapshot {snapshot!r}: '{rest[1:-1]}' is not a number"
            ) from None
        return created + pd.to_timedelta(days, unit="D")
    if spec.startswith("column:"):
        name = spec[len("column:") :]
        _require(contacts, [name], f"snapshot {snapshot!r}: contacts")
        return to_utc(contacts[name], f"contacts column '{name}'")
    try:
        moment = pd.Timestamp(spec)
    except ValueError:
        raise TrainingSetError(
            f"snapshot {snapshot!r}: use 'created+14d', a contacts column holding dates "
            f"(columns: {', '.join(map(str, contacts.columns))}) or an ISO date"
        ) from None
    if moment.tzinfo is None:
        moment = moment.tz_localize("UTC")
    return pd.Series(moment, index=contacts.index).astype("datetime64[ns, UTC]")


# ----------------------------------------------------------- event features --


@dataclass(frozen=True)
class EventGroup:
    """Events of some types, optionally filtered by ``where`` (model-language syntax)."""

    name: str
    on: tuple[str, ...]
    where: dict[str, Any] = field(default_factory=dict)
    # numeric properties summed, maxed and taken last over the group's events
    numeric: tuple[str, ...] = ()


def _where_mask(events: pd.DataFrame, where: dict[str, Any]) -> np.ndarray:
    """Evaluate a ``where`` filter with the rule engine's matcher, once per distinct value."""
    from leadscore.rules import compile_where
    from leadscore.spec import EventRule

    if not where:
        return np.ones(len(events), dtype=bool)
    rule = EventRule.model_validate({"id": "feature", "on": ["x"], "where": where, "points": 1})
    test = compile_where(rule.where)
    props = list(rule.where)
    for prop in props:
        if prop not in events.columns:
            return np.zeros(len(events), dtype=bool)
    keys = events[props].astype(object)
    codes, uniques = pd.factorize(
        pd.MultiIndex.from_frame(keys) if len(props) > 1 else keys[props[0]]
    )
    verdicts = []
    for value in uniques:
        row = dict(zip(props, value if len(props) > 1 else (value,), strict=True))
        verdicts.append(bool(test(row)))
    # a missing value gets the code -1: test it as a missing property
    missing_verdict = bool(test({}))
    lookup = np.array([*verdicts, missing_verdict], dtype=bool)
    return lookup[codes]


def auto_event_groups(
    events: pd.DataFrame,
    *,
    place_properties: Sequence[str] | None = None,
    places_per_type: int = 5,
    min_contacts: int = 20,
    max_levels: int = MAX_PROPERTY_LEVELS,
) -> list[EventGroup]:
    """ "Any activity" (all types seen), one group per event type, and its most common places.

    A place is the first path segment of ``url`` (``/pricing`` from
    ``/pricing/enterprise``, tested with ``starts_with``) or the value of another
    property such as ``form`` (tested with ``equals``), kept when at least
    ``min_contacts`` leads have it, so rare pages do not flood the table.
    ``place_properties=None``: ``url`` and every other text property with at most
    ``max_levels`` values in a type (a campaign, a plan, a form; not free text or
    ids). Numeric properties of a type (deal size, seconds on the page) with values
    for at least ``min_contacts`` leads are aggregated by the type's group (sum, max
    and last value: :func:`event_features`).
    """
    types = events["type"].astype(str)
    # "any activity": every type seen, listed, because an event rule needs its types
    groups: list[EventGroup] = [EventGroup(name="any", on=tuple(sorted(types.unique())))]
    for etype in sorted(types.unique()):
        of_type = events[types == etype]
        props = [c for c in of_type.columns if c not in (*EVENT_FIXED, "i")]
        numeric = tuple(p for p in props if _numeric_property(of_type, p, min_contacts))
        groups.append(EventGroup(name=_slug(etype), on=(etype,), numeric=numeric))
        chosen = (
            place_properties
            if place_properties is not None
            else ["url", *(p for p in props if p != "url" and p not in numeric)]
        )
        for prop in chosen:
            if prop not in of_type.columns:
                continue
            text = as_text_series(of_type[prop])
            if text.isna().all():
                continue
            if prop != "url" and place_properties is None and text.nunique() > max_levels:
                continue  # free text, ids, dates: not a handful of values to count
            if prop == "url":
                # per distinct url, not per event: millions of events, a few thousand urls
                codes, uniques = pd.factorize(text)
                firsts = np.array([_first_segment(u) for u in uniques] + [None], dtype=object)
                key = pd.Series(firsts[codes], index=text.index)  # code -1 (missing): None
                op = "starts_with"
            else:
                key = text
                op = "equals"
            frame = pd.DataFrame({"key": key, "contact": of_type["contact_id"].to_numpy()}).dropna()
            reach = frame.drop_duplicates().groupby("key")["contact"].size()
            reach = reach[reach >= min_contacts].sort_values(ascending=False)
            if len(reach) <= 1 and len(text.dropna().unique()) <= 1:
                continue  # one value everywhere adds nothing to the type's own count
            for value in reach.index[:places_per_type]:
                groups.append(
                    EventGroup(
                        name=f"{_slug(etype)}_{_slug(prop)}_{_slug(str(value))}",
                        on=(etype,),
                        where={prop: {op: value}},
                    )
                )
    return groups


def _numeric_property(events: pd.DataFrame, prop: str, min_contacts: int) -> bool:
    """A property that holds numbers (a numeric column, or text that is nearly all
    numbers), with values for at least ``min_contacts`` leads and more than one value."""
    column = events[prop]
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return False
    values = _as_numbers(column)
    filled = values.notna()
    if not filled.any() or values[filled].nunique() < 2:
        return False
    if not pd.api.types.is_numeric_dtype(column):
        text = as_text_series(column)
        if filled.sum() < 0.95 * text.notna().sum():
            return False
    return bool(events.loc[filled.to_numpy(), "contact_id"].nunique() >= min_contacts)


def _as_numbers(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype(float)
    return pd.to_numeric(as_text_series(column), errors="coerce")


def _first_segment(url: str | None) -> str | None:
    if url is None:
        return None
    path = url.split("://", 1)[-1]
    if "://" in url:
        path = "/" + path.split("/", 1)[1] if "/" in path else "/"
    path = path.split("?", 1)[0].split("#", 1)[0]
    parts = [p for p in path.split("/") if p]
    return "/" + parts[0] if parts else "/"


def _slug(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "_" for ch in text.lower()).strip("_")
    return out or "root"


def event_features(
    contact_ids: pd.Series,
    snapshot_at: pd.Series,
    events: pd.DataFrame,
    *,
    groups: Sequence[EventGroup] | None = None,
    windows: Sequence[float] = (7, 30, 90),
    half_life_days: float = 30.0,
) -> tuple[pd.DataFrame, dict[str, FeatureInfo]]:
    """Event features for each lead as of its own snapshot (events after it are ignored).

    ``events`` needs ``contact_id``, ``type`` and ``timestamp``; other columns are
    properties that ``where`` filters can test.
    """
    _require(events, ["contact_id", "type", "timestamp"], "events")
    n = len(contact_ids)
    index = pd.Index(contact_ids.astype(str).to_numpy(), name="contact_id")
    position = pd.Series(np.arange(n), index=index)
    if position.index.has_duplicates:
        raise TrainingSetError("contacts: contact_id values must be unique")
    ev_pos = position.reindex(events["contact_id"].astype(str).to_numpy()).to_numpy()
    known = ~np.isnan(ev_pos)
    ev = events.loc[known].reset_index(drop=True)
    ev_pos = ev_pos[known].astype(np.int64)
    ts = _ns(to_utc(ev["timestamp"], "events column 'timestamp'"))
    snap = _ns(snapshot_at)[ev_pos]
    # the point-in-time cut: an event counts only if it happened at or before the snapshot
    seen = ts <= snap
    ev, ev_pos, age = ev.loc[seen].reset_index(drop=True), ev_pos[seen], (snap - ts)[seen] / DAY_NS
    day_index = ts[seen] // DAY_NS  # UTC calendar day, for "distinct days active"
    if groups is None:
        groups = auto_event_groups(ev) if len(ev) else []
    windows = sorted(float(w) for w in windows)

    columns: dict[str, np.ndarray] = {}
    infos: dict[str, FeatureInfo] = {}
    types = ev["type"].astype(str).to_numpy()
    for group in groups:
        mask = np.isin(types, group.on)
        if group.where:
            mask &= _where_mask(ev, group.where)
        g_pos, g_age = ev_pos[mask], age[mask]
        for w in windows:
            name = f"{group.name}_count_{w:g}d"
            columns[name] = np.bincount(g_pos[g_age <= w], minlength=n).astype(float)
            infos[name] = FeatureInfo(
                name, "event_count", group.on, dict(group.where), within_days=w
            )
        w = windows[-1]
        inside = g_age <= w
        days = pd.DataFrame({"p": g_pos[inside], "d": day_index[mask][inside]}).drop_duplicates()
        name = f"{group.name}_days_{w:g}d"
        columns[name] = np.bincount(days["p"].to_numpy(), minlength=n).astype(float)
        infos[name] = FeatureInfo(name, "event_days", group.on, dict(group.where), within_days=w)
        recency = np.full(n, np.inf)
        np.minimum.at(recency, g_pos, g_age)
        name = f"{group.name}_recency_days"
        columns[name] = recency
        infos[name] = FeatureInfo(name, "recency", group.on, dict(group.where))
        name = f"{group.name}_decayed_{half_life_days:g}d"
        columns[name] = np.bincount(g_pos, weights=0.5 ** (g_age / half_life_days), minlength=n)
        infos[name] = FeatureInfo(
            name, "decay", group.on, dict(group.where), half_life_days=half_life_days
        )
        for prop in getattr(group, "numeric", ()):
            _property_features(
                ev, mask & (age <= w), ev_pos, age, n, group, prop, w, columns, infos
            )
    frame = pd.DataFrame(columns, index=index)
    return frame, infos


def _property_features(
    ev: pd.DataFrame,
    mask: np.ndarray,
    ev_pos: np.ndarray,
    age: np.ndarray,
    n: int,
    group: EventGroup,
    prop: str,
    window: float,
    columns: dict[str, np.ndarray],
    infos: dict[str, FeatureInfo],
) -> None:
    """Sum, max and last value of a numeric property over the group's events in the
    window before the snapshot (``mask`` already holds the point-in-time cut)."""
    values = (
        _as_numbers(ev[prop]).to_numpy(dtype=float)
        if prop in ev.columns
        else np.full(len(ev), np.nan)
    )
    use = mask & ~np.isnan(values)
    pos, val, agev = ev_pos[use], values[use], age[use]
    base = f"{group.name}_{_slug(prop)}"
    total = np.bincount(pos, weights=val, minlength=n)
    top = np.full(n, np.nan)
    np.fmax.at(top, pos, val)
    last = np.full(n, np.nan)
    if pos.size:
        latest = pd.DataFrame({"p": pos, "a": agev, "v": val}).sort_values("a", kind="stable")
        latest = latest.drop_duplicates("p")  # the smallest age: the latest event
        last[latest["p"].to_numpy()] = latest["v"].to_numpy()
    for stat, data in (("sum", total), ("max", top), ("last", last)):
        name = f"{base}_{stat}_{window:g}d"
        columns[name] = data
        infos[name] = FeatureInfo(
            name,
            "property",
            group.on,
            dict(group.where),
            within_days=window,
            prop=prop,
            stat=stat,
        )


def _seen_events(events: pd.DataFrame, ids: pd.Series, snap: pd.Series) -> pd.DataFrame:
    by_id = pd.Series(_ns(snap), index=ids.to_numpy())
    limit = by_id.reindex(events["contact_id"].astype(str).to_numpy()).to_numpy()
    ts = _ns(to_utc(events["timestamp"], "events column 'timestamp'")).astype(float)
    return events.loc[ts <= limit]


def features_as_of(
    contacts: pd.DataFrame,
    events: pd.DataFrame | None,
    as_of: Any,
    *,
    columns: Sequence[str],
    groups: Sequence[EventGroup],
    windows: Sequence[float] = (7, 30, 90),
    half_life_days: float = 30.0,
) -> pd.DataFrame:
    """The feature table of a trained model for contacts scored at ``as_of``.

    Same features as in training (same event groups and windows), indexed by
    ``contact_id``; columns the contacts file lacks are left empty (missing).
    """
    _require(contacts, ["contact_id"], "contacts")
    ids = contacts["contact_id"].astype(str)
    moment = pd.Timestamp(as_of)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    snap = pd.Series(moment, index=range(len(ids))).astype("datetime64[ns, UTC]")
    X = pd.DataFrame(index=pd.Index(ids.to_numpy(), name="contact_id"))
    if events is None:
        events = pd.DataFrame(columns=["contact_id", "type", "timestamp"])
    ev_frame, _ = event_features(
        ids.reset_index(drop=True),
        snap,
        events,
        groups=list(groups),
        windows=windows,
        half_life_days=half_life_days,
    )
    # One DataFrame from all columns at once: adding ~100 columns one by one costs
    # pandas about 1 ms each, which a single lead's page would pay every time.
    data = {
        col: (
            ev_frame[col].to_numpy()
            if col in ev_frame.columns
            else contacts[col].to_numpy()
            if col in contacts.columns
            else np.full(len(ids), None, dtype=object)
        )
        for col in columns
    }
    return pd.DataFrame(data, index=X.index)[list(columns)]


RATE_SHIFT_WARN = 0.03  # warn when filtering moves the positive rate by more than 3 points
HORIZON_QUANTILE = 0.99


def _data_end(
    given: Any, outcome: pd.Series, created: pd.Series | None, events: pd.DataFrame | None
) -> tuple[pd.Timestamp, str | None]:
    """The moment the data was extracted: as given, or the latest date in the data.

    Snapshots are not data: ``created+30d`` of a lead created yesterday lies in the
    future, and taking it as the data end would treat a month that has not happened
    as observed (with no conversion in it).
    """
    if given is not None:
        end = pd.Timestamp(given)
        return (end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")), None
    stamps = {"conversion": outcome.max()}
    if created is not None:
        stamps["creation date"] = created.max()
    if events is not None and len(events):
        stamps["event"] = to_utc(events["timestamp"], "events column 'timestamp'").max()
    seen = {k: v for k, v in stamps.items() if not pd.isna(v)}
    if not seen:
        raise TrainingSetError(
            "no dates to infer the end of the data from; pass data_end / --data-end"
        )
    what, end = max(seen.items(), key=lambda kv: kv[1])
    return end, (
        f"data end {end:%Y-%m-%d %H:%M} UTC: the latest {what} in the data "
        "(set it with --data-end, e.g. the extraction date)"
    )


def infer_horizon_days(
    snap: pd.Series, outcome: pd.Series, outcome_column: str = "converted_at"
) -> tuple[float, str]:
    """Days after the snapshot within which a conversion counts, read from the data.

    The 99th percentile of the delays from snapshot to conversion, rounded up to a
    whole day: a CRM whose label is "converted within 90 days of creation" gives
    76 days for ``created+14d``; a rare conversion years later does not stretch
    the window (it counts as not converted). 90 days when no lead converted after
    its snapshot.
    """
    delay = (outcome - snap).dt.total_seconds() / 86_400
    delay = delay[(delay > 0) & delay.notna()]
    if delay.empty:
        return 90.0, "horizon 90 days: no conversion after a snapshot to infer it from"
    days = float(math.ceil(float(delay.quantile(HORIZON_QUANTILE))))
    return days, (
        f"horizon {days:g} days: {HORIZON_QUANTILE:.0%} of the {len(delay):,} conversions after "
        f"a snapshot came within it ({outcome_column} minus snapshot; set it with --horizon)"
    )


def _rate_shift_warning(
    before: float | None,
    after: float | None,
    n_before: int,
    n_after: int,
    excluded: dict[str, int],
    max_shift: float,
) -> list[str]:
    if before is None or after is None or abs(after - before) <= max_shift:
        return []
    biggest = max(excluded.items(), key=lambda kv: kv[1])
    return [
        f"the positive rate moved from {before:.1%} ({n_before:,} leads with a snapshot) to "
        f"{after:.1%} ({n_after:,} kept) when leaving leads out; most left out: "
        f"{biggest[1]:,} {biggest[0]}. Leads left out for their age alone keep the kept rate "
        "honest (the open windows' conversions are not known yet), but the model learns from "
        "older leads only: check --horizon and --data-end, and that recent leads are like them"
    ]


# --------------------------------------------------------------- the label --


def build_training_set(
    contacts: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    outcome_column: str = "converted_at",
    snapshot: str = "created+14d",
    horizon_days: float | None = None,
    created_column: str = "created_at",
    data_end: Any = None,
    exclude: Sequence[str] = (),
    windows: Sequence[float] = (7, 30, 90),
    half_life_days: float = 30.0,
    groups: Sequence[EventGroup] | None = None,
    on_leak: Literal["error", "drop", "warn"] = "error",
    max_rate_shift: float = RATE_SHIFT_WARN,
) -> TrainingSet:
    """One leakage-free row per lead: profile fields and event features as of the snapshot.

    ``outcome_column`` holds when the lead converted (empty when it did not);
    ``exclude`` names columns that are not features (other stage dates, owner...).
    ``data_end`` is when the data was extracted (default: the latest event, outcome
    or creation date seen); ``horizon_days`` how long after the snapshot a conversion
    counts (default: inferred, see :func:`infer_horizon_days`). A lead whose window
    ``(snapshot, snapshot + horizon]`` ends after the data end is left out whatever
    its outcome. ``TrainingSet.choices`` says what the defaults chose, and
    ``TrainingSet.warnings`` flags a positive rate that the filtering moved by more
    than ``max_rate_shift``.
    """
    _require(contacts, ["contact_id", outcome_column], "contacts")
    contacts = contacts.reset_index(drop=True)
    ids = contacts["contact_id"].map(lambda v: None if pd.isna(v) else str(v).strip() or None)
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0]) + 1
        raise TrainingSetError(f"contacts: row {row}, column 'contact_id' is empty")
    dupes = ids[ids.duplicated()]
    if len(dupes):
        row = int(dupes.index[0]) + 1
        raise TrainingSetError(f"contacts: row {row}, duplicate contact_id '{dupes.iloc[0]}'")
    snap = snapshot_times(contacts, snapshot, created_column)
    outcome = to_utc(contacts[outcome_column], f"contacts column '{outcome_column}'")
    created = (
        to_utc(contacts[created_column], f"contacts column '{created_column}'")
        if created_column in contacts.columns
        else None
    )
    choices: list[str] = []
    end, end_choice = _data_end(data_end, outcome, created, events)
    if end_choice:
        choices.append(end_choice)
    if horizon_days is None:
        horizon_days, horizon_choice = infer_horizon_days(snap, outcome, outcome_column)
        choices.append(horizon_choice)
    horizon = pd.to_timedelta(horizon_days, unit="D")

    no_snapshot = snap.isna()
    already = outcome.notna() & (outcome <= snap)
    label = outcome.notna() & (outcome > snap) & (outcome <= snap + horizon)
    future = snap > end
    # the same rule for every lead: an open window is left out, converted or not
    censored = (snap + horizon > end) & ~future
    keep = ~(no_snapshot | already | censored | future)
    excluded = {
        "no snapshot (e.g. never reached the snapshot stage)": int(no_snapshot.sum()),
        "converted before the snapshot": int((already & ~no_snapshot).sum()),
        "horizon not over at the end of the data": int((censored & ~already & ~no_snapshot).sum()),
        "snapshot after the end of the data": int((future & ~no_snapshot & ~already).sum()),
    }
    # before filtering: every lead with a snapshot, not yet converted at it, labelled
    # with what is known at the data end (an open window counts as "not yet")
    candidates = ~(no_snapshot | already | future)
    rate_before = float(label[candidates].mean()) if candidates.any() else None
    rate_after = float(label[keep].mean()) if keep.any() else None
    warnings_out = _rate_shift_warning(
        rate_before, rate_after, int(candidates.sum()), int(keep.sum()), excluded, max_rate_shift
    )
    # the creation date is the snapshot's anchor, not a fact about the lead
    drop = {"contact_id", outcome_column, created_column, *exclude}
    if snapshot.startswith("column:"):
        drop.add(snapshot[len("column:") :])
    profile_cols = [c for c in contacts.columns if c not in drop]
    kept = contacts.loc[keep]
    order = np.argsort(_ns(snap[keep]), kind="stable")
    kept = kept.iloc[order]
    snap_kept = snap[keep].iloc[order]
    X = kept[profile_cols].copy()
    X.index = pd.Index(ids[keep].iloc[order].to_numpy(), name="contact_id")
    infos: dict[str, FeatureInfo] = {c: FeatureInfo(c) for c in profile_cols}
    property_findings: list[LeakageFinding] = []
    if events is not None and len(events):
        property_findings = _late_property_dates(events, ids, snap, max_late_share=0.01)
        if on_leak == "drop" and property_findings:
            # the property never reaches a feature: no place, no aggregate from it
            events = events.drop(columns=[f.column.split(".", 1)[1] for f in property_findings])
    if events is not None and len(events) and groups is None:
        # places are chosen from what was seen before the snapshots only
        groups = auto_event_groups(_seen_events(events, ids, snap))
    if events is not None and len(events):
        ev_frame, ev_infos = event_features(
            pd.Series(X.index),
            snap_kept.reset_index(drop=True),
            events,
            groups=groups,
            windows=windows,
            half_life_days=half_life_days,
        )
        clash = [c for c in ev_frame.columns if c in X.columns]
        if clash:
            raise TrainingSetError(f"contacts: columns {clash} clash with generated event features")
        X = pd.concat([X, ev_frame.set_axis(X.index)], axis=1)
        infos.update(ev_infos)
    y = pd.Series(label[keep].iloc[order].to_numpy().astype(int), index=X.index, name="converted")
    snapshot_at = pd.Series(snap_kept.to_numpy(), index=X.index, name="snapshot_at")
    ages = (
        pd.Series(
            ((snap - created)[keep].iloc[order].dt.total_seconds() / 86_400).to_numpy(),
            index=X.index,
            name="snapshot_age_days",
        )
        if created is not None
        else None
    )
    findings = property_findings + check_leakage(X, y, snapshot_at)
    result = TrainingSet(
        X=X,
        y=y,
        snapshot_at=snapshot_at,
        infos=infos,
        excluded=excluded,
        leakage=findings,
        groups=list(groups or []),
        windows=tuple(float(w) for w in windows),
        half_life_days=half_life_days,
        horizon_days=float(horizon_days),
        data_end=end,
        choices=choices,
        warnings=warnings_out,
        rate_before=rate_before,
        rate_after=rate_after,
        snapshot_age_days=ages,
    )
    leaks = [f for f in findings if f.severity == "leak"]
    if leaks:
        message = "possible leakage: " + "; ".join(map(str, leaks))
        if on_leak == "error":
            raise TrainingSetError(
                message + ". Exclude these columns (they look filled in after the outcome), "
                "or pass on_leak='drop' / --on-leak drop."
            )
        if on_leak == "drop":
            cols = sorted({f.column for f in leaks if f.column in X.columns})
            result.X = X.drop(columns=cols)
            result.infos = {k: v for k, v in infos.items() if k not in cols}
            result.dropped_columns = sorted({f.column for f in leaks})
        else:
            warnings.warn(message, stacklevel=2)
    return result


# ------------------------------------------------------------ leakage guard --


def check_leakage(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    snapshot_at: pd.Series | None = None,
    *,
    max_auc: float = 0.97,
    suspect_auc: float = 0.9,
    max_late_share: float = 0.01,
    max_rows: int = 200_000,
) -> list[LeakageFinding]:
    """Columns that look filled in after the outcome.

    Two signs: (1) the column alone separates converted from not converted almost
    perfectly (single-column AUC above ``max_auc``, cross-fitted so an id column does
    not look predictive, or its missing/present pattern does); (2) it holds
    timestamps later than the row's snapshot (more than ``max_late_share`` of rows).
    Columns above ``suspect_auc`` alone are reported as ``"suspect"`` for a human to
    check (X Education's sales-written ``Tags`` reaches 0.92).
    """
    from sklearn.metrics import roc_auc_score

    y_arr = np.asarray(y).astype(int)
    findings: list[LeakageFinding] = []
    if np.unique(y_arr).size < 2:
        return findings
    for col in X.columns:
        s = X[col]
        if snapshot_at is not None:
            late = _late_share(s, snapshot_at)
            if late is not None and late > max_late_share:
                findings.append(
                    LeakageFinding(
                        str(col), f"{late:.0%} of its timestamps are after the snapshot", late
                    )
                )
                continue
        score = _single_column_score(s, y_arr)
        auc = 0.5 if score is None else float(roc_auc_score(y_arr, score))
        auc = max(auc, 1 - auc)
        if auc >= max_auc:
            findings.append(
                LeakageFinding(
                    str(col),
                    f"alone it separates converted leads almost perfectly (AUC {auc:.3f})",
                    auc,
                )
            )
            continue
        present = (
            s.notna().to_numpy()
            if not pd.api.types.is_object_dtype(s)
            else as_text_series(s).notna().to_numpy()
        )
        if 0 < present.mean() < 1:
            auc_p = float(roc_auc_score(y_arr, present.astype(float)))
            auc_p = max(auc_p, 1 - auc_p)
            if auc_p >= max_auc:
                findings.append(
                    LeakageFinding(
                        str(col),
                        f"whether it is filled in separates converted leads (AUC {auc_p:.3f})",
                        auc_p,
                    )
                )
                continue
        if auc >= suspect_auc:
            findings.append(
                LeakageFinding(
                    str(col),
                    f"suspiciously strong alone (AUC {auc:.3f}): check it is known before the "
                    "snapshot, not filled in by sales afterwards",
                    auc,
                    "suspect",
                )
            )
    return findings


def _late_property_dates(
    events: pd.DataFrame, ids: pd.Series, snap: pd.Series, max_late_share: float
) -> list[LeakageFinding]:
    """Event properties holding dates after the lead's snapshot, on events seen before
    it (a ``closed_at`` written onto a visit by a later sync): a leak, named
    ``events.<property>``, even though the events themselves are on time."""
    seen = _seen_events(events, ids.astype(str), snap)
    if seen.empty:
        return []
    limit = pd.Series(_ns(snap), index=ids.astype(str).to_numpy())
    snap_of = (
        pd.Series(
            limit.reindex(seen["contact_id"].astype(str).to_numpy()).to_numpy(), index=seen.index
        )
        .astype("datetime64[ns]")
        .dt.tz_localize("UTC")
    )
    findings = []
    for prop in (c for c in seen.columns if c not in (*EVENT_FIXED, "i")):
        late = _late_share(seen[prop], snap_of)
        if late is not None and late > max_late_share:
            findings.append(
                LeakageFinding(
                    f"events.{prop}",
                    f"{late:.0%} of the events seen before the snapshot carry a {prop} after it",
                    late,
                )
            )
    return findings


def _late_share(series: pd.Series, snapshot_at: pd.Series) -> float | None:
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series
    elif pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    else:
        text = as_text_series(series).dropna()
        if text.empty:
            return None
        sample = text.iloc[:200]
        # only columns that really hold dates: ISO-like text with a year
        if not sample.str.match(r"^\d{4}-\d{2}-\d{2}").mean() > 0.9:
            return None
        # the raw text: as_text_series lower-cases, and "2026-01-05t10:00:00z" is no ISO date
        raw = (
            series.astype(object)
            .where(series.notna(), None)
            .map(lambda v: v.strip() if isinstance(v, str) else v)
        )
        stamps = pd.to_datetime(raw, errors="coerce", utc=True, format="ISO8601")
    stamps = stamps.dt.tz_localize("UTC") if getattr(stamps.dt, "tz", None) is None else stamps
    stamps = stamps.dt.tz_convert("UTC")
    filled = stamps.notna().to_numpy()
    if not filled.any():
        return None
    late = (
        stamps.to_numpy(dtype="datetime64[ns]") > snapshot_at.to_numpy(dtype="datetime64[ns]")
    ) & filled
    return float(late.sum() / len(series))


def _single_column_score(series: pd.Series, y: np.ndarray) -> np.ndarray | None:
    """A 2-fold cross-fitted conversion rate per value (numbers: per quantile bin)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        series = pd.Series(
            series.to_numpy(dtype="datetime64[ns]").astype("int64"), index=series.index
        ).where(series.notna())
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.astype(float).replace([np.inf, -np.inf], np.nan)
        if values.nunique() <= 1:
            return None
        ranks = values.rank(method="average")
        bins = np.ceil(ranks / max(len(values) / 50, 1)).fillna(-1).to_numpy()
        keys = pd.Series(bins.astype(np.int64))
    else:
        keys = as_text_series(series).fillna("__missing__").reset_index(drop=True)
        if keys.nunique() <= 1:
            return None
    n = len(keys)
    fold = np.arange(n) % 2
    rng = np.random.default_rng(0)
    rng.shuffle(fold)
    prior = y.mean()
    out = np.empty(n)
    # integer codes and bincounts: the same smoothed rates as a groupby, fast on 1M rows
    codes, uniques = pd.factorize(keys.to_numpy())
    k = len(uniques)
    for f in (0, 1):
        train = fold != f
        sums = np.bincount(codes[train], weights=y[train], minlength=k)
        counts = np.bincount(codes[train], minlength=k)
        # smoothed rate: an unseen or rare value falls back to the overall rate
        rate = (sums + prior * 10) / (counts + 10)
        out[~train] = rate[codes[~train]]
    if math.isclose(float(np.std(out)), 0.0):
        return None
    return out
