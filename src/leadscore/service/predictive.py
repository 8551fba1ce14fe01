"""The champion predictive model a running service serves, read from a model registry.

``leadscore serve --registry DIR`` points the service at the directory that
``leadscore train -r DIR`` writes. Why the registry and not a store table: the
registry already holds every version with its training window, metrics, feature
list and champion/challenger status, and its pickles are written atomically
before ``registry.json`` names them. Copying them into the store would keep two
sources of truth and put multi-megabyte blobs in a database every request
reads. The service loads the champion at start and, at most every few seconds,
looks at ``registry.json`` again: when a training run promotes a new champion
(or retires it) the next request sees it, with no restart.

Features for a stored lead come from the scorer's own view of it (the profile
and account fields the rules read, the full event history) turned into the
tables the learner was trained on, and built by the model's own feature code
(:meth:`leadscore.learn.registry.Predictor.features`) as of one moment.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from leadscore.learn.registry import Predictor
    from leadscore.rules.evaluate import Contact, Event

log = logging.getLogger("leadscore.service")

METHOD = "predictive"


@dataclass(frozen=True)
class Champion:
    """The loaded champion: its predictor and its registry entry (window, metrics)."""

    version: str
    predictor: Predictor
    entry: dict[str, Any]
    registry: Path


class ChampionWatcher:
    """The champion ``predictive`` model of one registry directory, kept current.

    ``current()`` is cheap: it stats ``registry.json`` at most every
    ``check_seconds`` and reloads only when the file changed and names another
    champion. A registry that cannot be read keeps the last good champion in
    service and records the problem (shown on the dashboard and in the log).
    """

    def __init__(self, root: str | Path, check_seconds: float = 2.0) -> None:
        self.root = Path(root)
        self.check_seconds = check_seconds
        self.problem: str | None = None
        self.broken = False  # the registry exists but cannot be read or loaded
        self._champion: Champion | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def load(self) -> Champion | None:
        """Read the registry now (at start, and whenever it changed)."""
        with self._lock:
            self._refresh(force=True)
            return self._champion

    def current(self) -> Champion | None:
        if time.monotonic() - self._checked >= self.check_seconds:
            with self._lock:
                self._refresh(force=False)
        return self._champion

    def _refresh(self, force: bool) -> None:
        from leadscore.learn.registry import REGISTRY_FILE, Predictor, Registry, RegistryError

        self._checked = time.monotonic()
        index = self.root / REGISTRY_FILE
        try:
            st = os.stat(index)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp and not force:
            return
        if stamp is None:
            self._stamp, self._champion = None, None
            self.problem = f"{index}: not found (no model trained into {self.root} yet)"
            return
        registry = Registry(self.root)
        self.broken = False
        try:
            version = registry.champion(METHOD)
            if version is None:
                self._champion = None
                self.problem = (
                    f"{self.root}: no champion predictive model yet "
                    "(run `leadscore train --method predictive -r` on it)"
                )
            elif self._champion is None or self._champion.version != version:
                bundle = registry.load(version)
                self._champion = Champion(
                    version, Predictor(bundle, version), registry.entry(version), self.root
                )
                self.problem = None
                log.info("serving predictive model %s from %s", version, self.root)
            else:
                self.problem = None
        except (RegistryError, OSError, KeyError, ValueError) as exc:
            # Keep the last good champion serving; say what is wrong.
            self.problem, self.broken = str(exc), True
            log.warning("model registry: %s", exc)
        self._stamp = stamp


# ------------------------------------------------------------------ features --


def lead_frames(
    leads: Sequence[tuple[Contact, Sequence[Event]]], predictor: Predictor
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stored leads as the learner's contacts and events tables.

    Profile fields arrive as the store keeps them (JSON: text or numbers); a
    contacts file read for training has one type per column. Each profile column
    the model uses is read the way it was in training: numbers where the
    training column was numeric, text otherwise, so ``"250"`` and ``250`` mean
    the same.
    """
    import pandas as pd

    from leadscore.learn.tabular import is_numeric_column

    rows = [{**dict(c.fields), "contact_id": c.contact_id} for c, _ in leads]
    people = pd.DataFrame(rows) if rows else pd.DataFrame({"contact_id": []})
    reference = predictor.bundle.reference_features
    for col in predictor.feature_columns:
        if col not in people.columns or col not in reference.columns:
            continue
        raw = people[col].astype(object)
        if is_numeric_column(reference[col]):
            people[col] = pd.to_numeric(raw, errors="coerce").astype(float)
        else:
            people[col] = raw.map(lambda v: None if v is None or v != v else str(v))
    events = [
        {
            **dict(e.properties or {}),
            "event_id": e.event_id,
            "contact_id": e.contact_id,
            "type": e.type,
            "timestamp": e.timestamp,
        }
        for _, history in leads
        for e in history
    ]
    frame = (
        pd.DataFrame(events)
        if events
        else pd.DataFrame(columns=["event_id", "contact_id", "type", "timestamp"])
    )
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return people, frame


@dataclass
class Prediction:
    """One lead's probability and factors, as the predictor computed them."""

    contact_id: str
    probability: float
    positive: list[dict[str, Any]]
    negative: list[dict[str, Any]]
    version: str = ""  # the registry version that computed it


def predict(
    champion: Champion,
    leads: Sequence[tuple[Contact, Sequence[Event]]],
    as_of: datetime | Sequence[datetime],
    factors: int = 0,
    snapshot: str | None = None,
) -> list[Prediction]:
    """Probabilities (and the ``factors`` strongest factors each way) for stored leads,
    with features as of ``as_of`` (one moment, or one per lead), or, with ``snapshot``
    (``"created+30d"``, a profile field holding a date), as of each lead's snapshot
    when it is before ``as_of`` (see :func:`leadscore.learn.apply.scoring_moments`)."""
    import pandas as pd

    if not leads:
        return []
    people, events = lead_frames(leads, champion.predictor)
    moment: Any = as_of
    if not isinstance(as_of, datetime):
        moment = pd.Series(pd.to_datetime(list(as_of), utc=True))
    elif snapshot is not None:
        from leadscore.learn.apply import scoring_moments

        created = str(champion.predictor.bundle.settings.get("created_column", "created_at"))
        moment, _ = scoring_moments(people, as_of, snapshot, created)
    X = champion.predictor.features(people, events, moment)
    if factors:
        both, tops = champion.predictor.predict_with_factors(X, factors)
        proba = both[:, 1]
    else:
        proba, tops = champion.predictor.predict_proba(X)[:, 1], [{}] * len(X)
    return [
        Prediction(
            str(cid),
            float(p),
            list(t.get("positive", [])),
            list(t.get("negative", [])),
            champion.version,
        )
        for cid, p, t in zip(X.index, proba, tops, strict=True)
    ]
