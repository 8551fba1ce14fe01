"""A trained predictive model applied next to the rule scores (``leadscore score --predictive``).

The features are rebuilt as of the scoring moment by the same point-in-time code the
model was trained with (:meth:`ModelBundle.features`, the event groups, windows and
half-life saved in the model), from the same contacts and events files the rule
scorer reads, read the way training reads them (:mod:`leadscore.learn.data`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadscore.learn.features import TrainingSetError, snapshot_times, to_utc
from leadscore.learn.registry import ModelBundle, Predictor, RegistryError, load_predictor

PROBABILITY = "conversion_probability"
POSITIVE = "top_positive_factors"
NEGATIVE = "top_negative_factors"
COLUMNS = [PROBABILITY, POSITIVE, NEGATIVE]
# warn when more than this share of leads is scored far from the trained snapshot age
FAR_AGE_SHARE = 0.1


class PredictiveScoreError(ValueError):
    """A predictive model that cannot be applied to these leads; the message names the file."""


def load_for_scoring(path: str | Path) -> Predictor:
    """The predictive model at ``path`` (a registry directory, a version directory or a
    ``model.pkl``); a clear error when it is missing or not a predictive model."""
    try:
        predictor = load_predictor(path, method="predictive")
    except RegistryError as exc:
        raise PredictiveScoreError(f"--predictive: {exc}") from None
    if predictor.method != "predictive":
        raise PredictiveScoreError(
            f"--predictive: {path} is a {predictor.method} model; its points are a scoring-model "
            "YAML (score it with --model), --predictive takes a model trained with "
            "`leadscore train --method predictive`"
        )
    return predictor


@dataclass
class PredictiveColumns:
    """What ``add_predictive_columns`` added, and what the user should be told."""

    columns: list[str]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def scoring_moments(
    contacts: pd.DataFrame,
    as_of: Any,
    snapshot: str | None,
    created_column: str = "created_at",
) -> tuple[pd.Series, list[str]]:
    """Each lead's scoring moment: its own snapshot (``created+30d``, a column of
    dates), never later than ``as_of`` (what is not known yet cannot be a feature),
    or ``as_of`` for every lead when there is no snapshot."""
    moment = pd.Timestamp(as_of)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    everyone = pd.Series(moment, index=contacts.index).astype("datetime64[ns, UTC]")
    if snapshot is None:
        return everyone.reset_index(drop=True), []
    try:
        snap = snapshot_times(contacts, snapshot, created_column)
    except TrainingSetError as exc:
        raise PredictiveScoreError(f"--snapshot: {exc}") from None
    notes = []
    missing, later = snap.isna(), snap > moment
    if missing.any():
        notes.append(
            f"{int(missing.sum()):,} lead(s) have no snapshot ({snapshot} is empty): "
            f"scored as of {moment:%Y-%m-%d %H:%M} UTC"
        )
    if later.any():
        notes.append(
            f"{int(later.sum()):,} lead(s) reach their snapshot ({snapshot}) after "
            f"{moment:%Y-%m-%d %H:%M} UTC: scored with what is known then"
        )
    return snap.where(~(missing | later), everyone).reset_index(drop=True), notes


def snapshot_age_warning(
    bundle: ModelBundle, contacts: pd.DataFrame, moments: pd.Series
) -> str | None:
    """A warning when many leads are scored at an age (days since creation) far from
    the ages the model was trained at: its probabilities answer "converts within the
    horizon after a snapshot at that age", not after any moment."""
    ages = bundle.settings.get("snapshot_age_days")
    created_column = str(bundle.settings.get("created_column", "created_at"))
    if not ages or created_column not in contacts.columns or not len(contacts):
        return None
    try:
        created = to_utc(contacts[created_column], f"contacts column '{created_column}'")
    except TrainingSetError:
        return None
    delta = moments.reset_index(drop=True) - created.reset_index(drop=True)
    age = (delta.dt.total_seconds() / 86_400).dropna().to_numpy()
    if not age.size:
        return None
    tolerance = max(7.0, 0.5 * float(ages["median"]))
    low, high = float(ages["p5"]) - tolerance, float(ages["p95"]) + tolerance
    far = (age < low) | (age > high)
    if far.mean() <= FAR_AGE_SHARE:
        return None
    trained = str(bundle.settings.get("snapshot", "its snapshot"))
    return (
        f"{int(far.sum()):,} of {age.size:,} leads ({far.mean():.0%}) are scored "
        f"{np.median(age[far]):.0f} days after creation (median of those), far from the "
        f"{ages['median']:g} days at which the model saw its training leads "
        f"({ages['p5']:g}-{ages['p95']:g}; trained with --snapshot {trained}): its "
        f"probabilities are for that age. Score with --snapshot {trained}, or retrain "
        "with the snapshot you score at"
    )


def add_predictive_columns(
    rows: list[dict[str, Any]] | None,
    predictor: Predictor,
    contacts_path: Path,
    events_path: Path | None,
    as_of: datetime,
    n_factors: int = 3,
    *,
    snapshot: str | None = None,
    unknown_contacts: str = "error",
) -> PredictiveColumns:
    """Add the probability and the top factors to every row (matched on ``contact_id``);
    ``rows=None`` makes one row per contact (``score --predictive`` without rules).

    Each lead's features are taken as of its ``snapshot`` (capped at ``as_of``) or as
    of ``as_of``. Factors are written as sentences with their log-odds contributions:
    ``Viewed /pricing pages 5 times in the last 90 days (+0.42); ...``.
    """
    from leadscore.io import InputError
    from leadscore.learn.data import read_contacts, read_events
    from leadscore.learn.data import unknown_contacts as check

    result = PredictiveColumns(list(COLUMNS), [])
    try:
        contacts = read_contacts(contacts_path)
        events, skipped = check(read_events(events_path), contacts, events_path, unknown_contacts)
    except InputError as exc:
        raise PredictiveScoreError(str(exc)) from None
    if skipped:
        result.notes.append(f"left out {skipped:,} event(s) of contacts not in {contacts_path}")
    bundle = predictor.bundle
    # a profile field the model learned from must be in the contacts file: silently
    # scoring every lead as "unknown" would be a wrong probability, not a missing one
    fields = [
        c for c in bundle.columns if bundle.infos.get(c) is None or bundle.infos[c].kind == "field"
    ]
    absent = [c for c in fields if c not in contacts.columns]
    if absent:
        raise PredictiveScoreError(
            f"--predictive: the model was trained on contact field(s) {', '.join(absent)}, "
            f"which {contacts_path} lacks; score with the contacts file the model was trained for"
        )
    created_column = str(bundle.settings.get("created_column", "created_at"))
    moments, notes = scoring_moments(contacts, as_of, snapshot, created_column)
    result.notes.extend(notes)
    warning = snapshot_age_warning(bundle, contacts.reset_index(drop=True), moments)
    if warning:
        result.warnings.append(warning)
    X = predictor.features(contacts, events, moments if snapshot is not None else as_of)
    proba, factors = predictor.predict_with_factors(X, n_factors)
    by_id = {
        str(cid): (float(p), f) for cid, p, f in zip(X.index, proba[:, 1], factors, strict=True)
    }
    if rows is None:
        rows = [{"contact_id": str(cid)} for cid in X.index]
    for row in rows:
        p, f = by_id[str(row["contact_id"])]
        row[PROBABILITY] = p
        row[POSITIVE] = factor_text(f["positive"])
        row[NEGATIVE] = factor_text(f["negative"])
    result.rows = rows
    return result


def factor_text(factors: list[dict[str, Any]]) -> str:
    """``Viewed /pricing pages 5 times in the last 90 days (+0.42); ...``."""
    return "; ".join(f"{f.get('sentence') or _raw(f)} ({f['contribution']:+.2f})" for f in factors)


def _raw(f: dict[str, Any]) -> str:
    return f"{f['feature']}={'' if f['value'] is None else f['value']}"
