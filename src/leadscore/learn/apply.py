"""A trained predictive model applied next to the rule scores (``leadscore score --predictive``).

The features are rebuilt as of the scoring moment by the same point-in-time code the
model was trained with (:meth:`ModelBundle.features`, the event groups, windows and
half-life saved in the model), from the same contacts and events files the rule
scorer reads, read the way training reads them (:mod:`leadscore.learn.data`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from leadscore.learn.registry import Predictor, RegistryError, load_predictor

PROBABILITY = "conversion_probability"
POSITIVE = "top_positive_factors"
NEGATIVE = "top_negative_factors"
COLUMNS = [PROBABILITY, POSITIVE, NEGATIVE]


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


def add_predictive_columns(
    rows: list[dict[str, Any]],
    predictor: Predictor,
    contacts_path: Path,
    events_path: Path | None,
    as_of: datetime,
    n_factors: int = 3,
) -> list[str]:
    """Add the probability and the top factors to every row (matched on ``contact_id``).

    Returns the names of the added columns. Factors are written as
    ``feature=value (+0.42); ...`` with their log-odds contributions.
    """
    from leadscore.io import InputError
    from leadscore.learn.data import read_contacts, read_events

    try:
        contacts = read_contacts(contacts_path)
        events = read_events(events_path)
    except InputError as exc:
        raise PredictiveScoreError(str(exc)) from None
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
    X = predictor.features(contacts, events, as_of)
    proba = predictor.predict_proba(X)[:, 1]
    factors = predictor.top_factors(X, n_factors)
    by_id = {str(cid): (float(p), f) for cid, p, f in zip(X.index, proba, factors, strict=True)}
    for row in rows:
        p, f = by_id[str(row["contact_id"])]
        row[PROBABILITY] = p
        row[POSITIVE] = _factor_text(f["positive"])
        row[NEGATIVE] = _factor_text(f["negative"])
    return list(COLUMNS)


def _factor_text(factors: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{f['feature']}={'' if f['value'] is None else f['value']} ({f['contribution']:+.2f})"
        for f in factors
    )
