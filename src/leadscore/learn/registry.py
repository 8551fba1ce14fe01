"""Model registry: versions with their training window, metrics and features;
champion/challenger retraining; population-stability drift checks.

A registry is a directory::

    models/
      registry.json          every version: method, status, window, metrics, features
      v0001/model.pkl        the fitted learner and how to rebuild its features
      v0001/model.yaml       lift and scorecard models: the scoring-model YAML
      v0001/training_ids.txt the contact ids the stored model was fit on

``model.pkl`` is a pickle: load registries you trust only (your own training runs).

Retraining (``train_and_register``): the newest ``holdout_fraction`` of leads (by
snapshot) is the holdout, and never a lead the champion was trained on (only leads
whose snapshot is after the champion's training window); the challenger is trained
on the older leads and scored on the holdout, and so is the current champion (its
features rebuilt with its own feature definitions), and so is a plain one-hot
logistic regression fitted on the same rows (:mod:`leadscore.learn.baseline`).
The challenger becomes champion only if its ROC AUC beats the champion's by more
than the noise (the lower end of a paired bootstrap 90 % interval of the gain above
``min_improvement``) and, for the predictive model, the baseline's by more than the
noise too (lift points and scorecards, readable, need only not be worse beyond
it); then it is refit on all leads. Otherwise it is kept as a ``candidate`` with
the reason in ``decision``.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadscore.learn.baseline import PlainLogistic
from leadscore.learn.features import EventGroup, TrainingSet, event_features, features_as_of
from leadscore.learn.metrics import auc_gain
from leadscore.learn.tabular import FeatureInfo

Method = Literal["lift", "scorecard", "predictive"]
REGISTRY_FILE = "registry.json"
TRAINING_IDS_FILE = "training_ids.txt"
# the bootstrap interval a promotion must clear (two-sided; the lower end is a 5 % test)
PROMOTION_LEVEL = 0.9


class RegistryError(ValueError):
    """A registry or model file that cannot be used; the message names the path."""


@dataclass
class ModelBundle:
    """A fitted learner plus everything needed to rebuild its features for new leads."""

    method: str
    learner: Any
    columns: list[str]
    infos: dict[str, FeatureInfo]
    groups: list[EventGroup]
    windows: tuple[float, ...]
    half_life_days: float
    reference_scores: np.ndarray
    reference_features: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    # -- features
    def features(
        self, contacts: pd.DataFrame, events: pd.DataFrame | None, as_of: Any
    ) -> pd.DataFrame:
        """Feature table for ``contacts`` as of one moment, or per-lead moments (a Series)."""
        if isinstance(as_of, pd.Series):
            return self._features_per_lead(contacts, events, as_of)
        return features_as_of(
            contacts,
            events,
            as_of,
            columns=self.columns,
            groups=self.groups,
            windows=self.windows,
            half_life_days=self.half_life_days,
        )

    def _features_per_lead(
        self, contacts: pd.DataFrame, events: pd.DataFrame | None, snapshot_at: pd.Series
    ) -> pd.DataFrame:
        ids = contacts["contact_id"].astype(str).reset_index(drop=True)
        snaps = pd.Series(snapshot_at.to_numpy(), index=range(len(ids))).astype(
            "datetime64[ns, UTC]"
        )
        ev = (
            events
            if events is not None
            else pd.DataFrame(columns=["contact_id", "type", "timestamp"])
        )
        ev_frame, _ = event_features(
            ids,
            snaps,
            ev,
            groups=self.groups,
            windows=self.windows,
            half_life_days=self.half_life_days,
        )
        X = pd.DataFrame(index=pd.Index(ids.to_numpy(), name="contact_id"))
        for col in self.columns:
            if col in ev_frame.columns:
                X[col] = ev_frame[col].to_numpy()
            elif col in contacts.columns:
                X[col] = contacts[col].to_numpy()
            else:
                X[col] = None
        return X

    # -- predictions
    def score(self, X: pd.DataFrame) -> np.ndarray:
        """The ranking score: points for lift/scorecard, probability for predictive."""
        if self.method == "predictive":
            return np.asarray(self.learner.predict_proba(X[self.columns])[:, 1])
        return np.asarray(self.learner.decision_function(X[self.columns]))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.method == "lift" and not hasattr(self.learner, "calibrator_"):
            raise RegistryError("lift points have no probability; use score() or a scorecard")
        return np.asarray(self.learner.predict_proba(X[self.columns]))

    def predict_with_factors(
        self, X: pd.DataFrame, n: int = 3
    ) -> tuple[np.ndarray, list[dict[str, list[dict[str, Any]]]]]:
        """``predict_proba`` and ``top_factors`` together (one pass when the learner can)."""
        if hasattr(self.learner, "predict_with_factors"):
            proba, factors = self.learner.predict_with_factors(X[self.columns], n)
            return np.asarray(proba), self._with_sentences(list(factors))
        return self.predict_proba(X), self.top_factors(X, n)

    def _with_sentences(
        self, factors: list[dict[str, list[dict[str, Any]]]]
    ) -> list[dict[str, list[dict[str, Any]]]]:
        """Each factor also says what it means in words (``sentence``), for the CLI,
        the service and the dashboard."""
        from leadscore.learn.tabular import FeatureInfo, factor_sentence

        for lead in factors:
            for side in lead.values():
                for f in side:
                    info = self.infos.get(f["feature"]) or FeatureInfo(f["feature"])
                    f["sentence"] = factor_sentence(info, f["value"])
        return factors

    def top_factors(self, X: pd.DataFrame, n: int = 3) -> list[dict[str, list[dict[str, Any]]]]:
        """Per lead, the ``n`` strongest positive and negative contributions."""
        if hasattr(self.learner, "top_factors"):
            return self._with_sentences(list(self.learner.top_factors(X[self.columns], n)))
        contrib = self.learner.contributions(X[self.columns])
        out = []
        values = X[contrib.columns]
        arr = contrib.to_numpy()
        for i in range(arr.shape[0]):
            row = arr[i]
            order = np.argsort(-row)
            pos = [j for j in order[:n] if row[j] > 0]
            neg = [j for j in order[::-1][:n] if row[j] < 0]
            out.append(
                {
                    "positive": [
                        _factor(contrib.columns[j], values.iat[i, j], row[j]) for j in pos
                    ],
                    "negative": [
                        _factor(contrib.columns[j], values.iat[i, j], row[j]) for j in neg
                    ],
                }
            )
        return self._with_sentences(out)


def _factor(name: str, value: Any, contribution: float) -> dict[str, Any]:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        value = None
    return {"feature": str(name), "value": value, "contribution": round(float(contribution), 4)}


def make_bundle(
    method: str, learner: Any, ts: TrainingSet, settings: dict[str, Any] | None = None
) -> ModelBundle:
    bundle = ModelBundle(
        method=method,
        learner=learner,
        columns=[str(c) for c in ts.X.columns],
        infos=dict(ts.infos),
        groups=list(ts.groups),
        windows=tuple(ts.windows),
        half_life_days=ts.half_life_days,
        reference_scores=np.zeros(0),
        reference_features=pd.DataFrame(),
        settings=dict(settings or {}),
    )
    ages = snapshot_age_summary(ts)
    if ages is not None:
        bundle.settings.setdefault("snapshot_age_days", ages)
    bundle.reference_scores = bundle.score(ts.X)
    # a sample of the training features, the reference for the per-feature drift check
    bundle.reference_features = ts.X.iloc[:: max(len(ts.X) // 20_000, 1)].copy()
    return bundle


def snapshot_age_summary(ts: TrainingSet) -> dict[str, float] | None:
    """Days from creation to snapshot in the training rows (5th, 50th and 95th
    percentiles): how old a lead was when the model saw it. Scoring leads at a very
    different age asks the model about a moment it never learned from."""
    ages = ts.snapshot_age_days
    if ages is None or ages.dropna().empty:
        return None
    q = ages.dropna().quantile([0.05, 0.5, 0.95])
    return {
        "p5": round(float(q.iloc[0]), 2),
        "median": round(float(q.iloc[1]), 2),
        "p95": round(float(q.iloc[2]), 2),
    }


# ------------------------------------------------------------------ predictor --


class Predictor:
    """What ``leadscore score`` needs from a trained model.

    >>> p = load_predictor("models")                       # doctest: +SKIP
    >>> X = p.features(contacts_df, events_df, as_of)      # doctest: +SKIP
    >>> p.predict_proba(X)[:, 1]; p.top_factors(X, 3)      # doctest: +SKIP
    """

    def __init__(self, bundle: ModelBundle, version: str | None = None) -> None:
        self.bundle = bundle
        self.version = version
        self.method = bundle.method
        self.feature_columns = list(bundle.columns)

    def features(
        self, contacts: pd.DataFrame, events: pd.DataFrame | None, as_of: Any
    ) -> pd.DataFrame:
        """Features for ``contacts`` (a DataFrame with ``contact_id`` and profile fields)
        and ``events`` (``event_id, contact_id, type, timestamp`` + properties) as of ``as_of``."""
        return self.bundle.features(contacts, events, as_of)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, shape ``(n, 2)``; column 1 is "converts"."""
        return self.bundle.predict_proba(features)

    def top_factors(
        self, features: pd.DataFrame, n: int = 3
    ) -> list[dict[str, list[dict[str, Any]]]]:
        """``[{"positive": [{"feature", "value", "contribution"}...], "negative": [...]}]`` per lead."""
        return self.bundle.top_factors(features, n)

    def predict_with_factors(
        self, features: pd.DataFrame, n: int = 3
    ) -> tuple[np.ndarray, list[dict[str, list[dict[str, Any]]]]]:
        """Both of the above at once: the dashboard's lead page shows both."""
        return self.bundle.predict_with_factors(features, n)


def load_predictor(path: str | Path, method: str = "predictive") -> Predictor:
    """A predictor from a registry directory (its champion of ``method``), a version
    directory, or a ``model.pkl`` file."""
    path = Path(path)
    if path.is_dir() and (path / REGISTRY_FILE).exists():
        reg = Registry(path)
        version = reg.champion(method)
        if version is None:
            latest = reg.candidates(method)[-1:] if reg.index_path.exists() else []
            hint = (
                f"; {latest[0]['version']} is a candidate, not promoted ({latest[0].get('decision')}): "
                f"pass {path / latest[0]['version']} to use it anyway"
                if latest
                else f"; run `leadscore train --method {method}`"
            )
            raise RegistryError(f"{path}: no champion {method} model{hint}")
        return Predictor(reg.load(version), version)
    if path.is_dir():
        path = path / "model.pkl"
    return Predictor(load_bundle(path), path.parent.name)


def load_bundle(path: Path) -> ModelBundle:
    if not path.exists():
        raise RegistryError(f"{path}: model file not found")
    try:
        with path.open("rb") as handle:
            bundle = pickle.load(handle)
    except (pickle.UnpicklingError, EOFError, AttributeError, ModuleNotFoundError) as exc:
        raise RegistryError(f"{path}: not a leadscore model ({exc})") from None
    if not isinstance(bundle, ModelBundle):
        raise RegistryError(f"{path}: not a leadscore model")
    return bundle


# ------------------------------------------------------------------- registry --


class Registry:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def index_path(self) -> Path:
        return self.root / REGISTRY_FILE

    def entries(self) -> list[dict[str, Any]]:
        if not self.index_path.exists():
            return []
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RegistryError(
                f"{self.index_path}: not valid JSON ({exc.msg}, line {exc.lineno})"
            ) from None
        return list(data.get("models", []))

    def _write(self, entries: list[dict[str, Any]]) -> None:
        from leadscore.io import atomic_path

        with atomic_path(self.index_path) as tmp:
            tmp.write_text(json.dumps({"models": entries}, indent=2, default=str), encoding="utf-8")

    def champion(self, method: str) -> str | None:
        for e in self.entries():
            if e["method"] == method and e["status"] == "champion":
                return str(e["version"])
        return None

    def entry(self, version: str) -> dict[str, Any]:
        for e in self.entries():
            if e["version"] == version:
                return e
        raise RegistryError(f"{self.root}: no version {version}")

    def training_ids(self, version: str) -> set[str] | None:
        """The contact ids the version was fit on, or None when not recorded (older
        registries): then only its training window is known."""
        path = self.root / version / TRAINING_IDS_FILE
        if not path.exists():
            return None
        return set(path.read_text(encoding="utf-8").split())

    def candidates(self, method: str) -> list[dict[str, Any]]:
        return [e for e in self.entries() if e["method"] == method and e["status"] == "candidate"]

    def load(self, version: str) -> ModelBundle:
        return load_bundle(self.root / version / "model.pkl")

    def add(
        self,
        bundle: ModelBundle,
        info: dict[str, Any],
        yaml_text: str | None,
        promote: bool,
        training_ids: Sequence[str] | None = None,
    ) -> str:
        from leadscore.io import atomic_path

        entries = self.entries()
        version = f"v{len(entries) + 1:04d}"
        folder = self.root / version
        folder.mkdir(parents=True, exist_ok=False)
        with atomic_path(folder / "model.pkl") as tmp, tmp.open("wb") as handle:
            pickle.dump(bundle, handle, protocol=pickle.HIGHEST_PROTOCOL)
        if yaml_text is not None:
            (folder / "model.yaml").write_text(yaml_text, encoding="utf-8")
        if training_ids is not None:
            # the leads the stored model was fit on: `evaluate` refuses to judge it on them
            with atomic_path(folder / TRAINING_IDS_FILE) as tmp:
                tmp.write_text("".join(f"{i}\n" for i in training_ids), encoding="utf-8")
        if promote:
            for e in entries:
                if e["method"] == bundle.method and e["status"] == "champion":
                    e["status"] = "retired"
        entries.append(
            {
                "version": version,
                "method": bundle.method,
                "status": "champion" if promote else "candidate",
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "features": bundle.columns,
                **info,
            }
        )
        self._write(entries)
        return version


@dataclass
class TrainResult:
    version: str
    promoted: bool
    challenger_metrics: dict[str, Any]
    champion_version: str | None
    champion_metrics: dict[str, Any] | None
    reason: str
    yaml_text: str | None


def fit_learner(method: str, ts: TrainingSet, params: dict[str, Any] | None = None) -> Any:
    from leadscore.learn.lift import LiftPoints
    from leadscore.learn.predictive import PredictiveModel
    from leadscore.learn.scorecard import Scorecard

    params = dict(params or {})
    if method == "lift":
        return LiftPoints(**params).fit(ts.X, ts.y, ts.infos).fit_calibration(ts.X, ts.y)
    if method == "scorecard":
        return Scorecard(**params).fit(ts.X, ts.y, ts.infos)
    if method == "predictive":
        return PredictiveModel(**params).fit(ts.X, ts.y)
    raise RegistryError(f"unknown method {method!r}; use lift, scorecard or predictive")


def train_and_register(
    registry: Registry,
    method: str,
    ts: TrainingSet,
    contacts: pd.DataFrame,
    events: pd.DataFrame | None,
    *,
    holdout_fraction: float = 0.2,
    min_improvement: float = 0.0,
    params: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    extra_info: dict[str, Any] | None = None,
    promote: Literal["auto", "always"] = "auto",
) -> TrainResult:
    """Train a challenger, compare it with the champion on the newest leads, register it."""
    from leadscore.learn.metrics import evaluate_scores

    champ_version = registry.champion(method)
    train, hold = ts.temporal_split(holdout_fraction)
    fair = True
    if champ_version is not None:
        # A fair comparison needs leads neither model was trained on: the champion saw
        # everything up to the end of its training window, so the holdout may only hold
        # leads whose snapshot is later than that.
        trained_until = pd.Timestamp(
            registry.entry(champ_version)["training_window"]["last_snapshot"]
        )
        first_new = int((ts.snapshot_at <= trained_until).sum())  # rows are sorted by snapshot
        cut = max(first_new, len(ts.y) - max(round(len(ts.y) * holdout_fraction), 1))
        train, hold = ts._rows(slice(0, cut)), ts._rows(slice(cut, len(ts.y)))
        fair = len(hold.y) >= 30 and hold.y.nunique() == 2
    if hold.y.nunique() < 2 or train.y.nunique() < 2:
        if champ_version is None:
            raise RegistryError(
                f"the holdout (newest {holdout_fraction:.0%} of leads) or the rest has only one outcome; "
                "need conversions in both"
            )
        fair = False
    if not fair:
        raise RegistryError(
            f"only {len(hold.y)} leads with known outcomes arrived after champion {champ_version}'s "
            "training window (need at least 30, converted and not); nothing new to compare on yet"
        )
    challenger = fit_learner(method, train, params)
    bundle = make_bundle(method, challenger, train, settings)
    ch_scores = bundle.score(hold.X)
    ch_metrics = _summary(evaluate_scores(hold.y, ch_scores, n_boot=100))
    base_scores = PlainLogistic().fit(train.X, train.y).score(hold.X)
    vs_base = auc_gain(hold.y, ch_scores, base_scores, level=PROMOTION_LEVEL)
    ch_metrics["baseline_roc_auc"] = round(ch_metrics["roc_auc"] - vs_base["gain"], 4)
    ch_metrics["vs_baseline"] = vs_base
    # A predictive model must earn its opacity: beat the plain baseline beyond the
    # noise. Lift points and scorecards are readable: as good as it within the noise
    # (not worse beyond it) is enough.
    if method == "predictive":
        beats_base = vs_base["low"] > 0
        base_rule = "must beat it beyond the noise"
    else:
        beats_base = vs_base["high"] > 0
        base_rule = "must not be worse beyond the noise"
    reasons = [
        f"challenger ROC AUC {ch_metrics['roc_auc']:.4f} on the newest {len(hold.y):,} leads",
        f"plain logistic regression {ch_metrics['baseline_roc_auc']:.4f}: "
        f"{_gain_words(vs_base)} ({base_rule})",
    ]
    promoted = beats_base

    champ_metrics = None
    if champ_version is not None:
        champ = registry.load(champ_version)
        ids = pd.Series(hold.X.index)
        rows = (
            contacts.set_index(contacts["contact_id"].astype(str)).loc[ids].reset_index(drop=True)
        )
        champ_X = champ.features(rows, events, hold.snapshot_at.reset_index(drop=True))
        champ_scores = champ.score(champ_X)
        champ_metrics = _summary(evaluate_scores(hold.y, champ_scores, n_boot=100))
        vs_champ = auc_gain(hold.y, ch_scores, champ_scores, level=PROMOTION_LEVEL)
        champ_metrics["vs_challenger"] = vs_champ
        beats_champ = vs_champ["low"] > min_improvement
        promoted = promoted and beats_champ
        reasons.append(
            f"champion {champ_version} {champ_metrics['roc_auc']:.4f}: {_gain_words(vs_champ)} "
            f"(must beat it beyond the noise"
            + (f" and by {min_improvement:g}" if min_improvement else "")
            + ")"
        )
    else:
        reasons.append("no champion yet")
    if promote == "always" and not promoted:
        promoted = True
        reasons.append("promoted by hand (--promote) regardless")
    reason = "; ".join(reasons)
    if promoted:
        # the newest outcomes matter most: the promoted model is refit on every lead
        final = fit_learner(method, ts, params)
        bundle = make_bundle(method, final, ts, settings)
        window = ts.snapshot_at
    else:
        window = train.snapshot_at
    yaml_text = bundle.learner.to_yaml() if hasattr(bundle.learner, "to_yaml") else None
    info = {
        "training_window": {
            "first_snapshot": str(window.min()),
            "last_snapshot": str(window.max()),
            "leads": len(window),
        },
        "holdout": {
            "first_snapshot": str(hold.snapshot_at.min()),
            "last_snapshot": str(hold.snapshot_at.max()),
            "leads": len(hold.y),
        },
        "metrics": ch_metrics,
        "champion_metrics": champ_metrics,
        "decision": reason,
        "snapshot_age_days": bundle.settings.get("snapshot_age_days"),
        "training_ids": {"file": f"{TRAINING_IDS_FILE}", "leads": len(window)},
        "settings": dict(settings or {}),
        "params": dict(params or {}),
    }
    info.update(extra_info or {})
    version = registry.add(bundle, info, yaml_text, promoted, training_ids=list(window.index))
    return TrainResult(
        version, promoted, ch_metrics, champ_version, champ_metrics, reason, yaml_text
    )


def _gain_words(gain: dict[str, float]) -> str:
    level = f"{gain['level']:.0%}"
    where = (
        "beyond the noise"
        if gain["low"] > 0
        else "worse beyond the noise"
        if gain["high"] < 0
        else "within the noise"
    )
    return (
        f"{gain['gain']:+.4f} ({level} interval {gain['low']:+.4f} to {gain['high']:+.4f}, {where})"
    )


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "leads",
        "conversions",
        "roc_auc",
        "roc_auc_ci",
        "pr_auc",
        "pr_auc_ci",
        "top_decile_lift",
    )
    return {k: result[k] for k in keys}


# ---------------------------------------------------------------------- drift --


def psi(
    reference: Sequence[float] | np.ndarray, current: Sequence[float] | np.ndarray, bins: int = 10
) -> float:
    """Population stability index of ``current`` against ``reference`` (decile bins of the
    reference; 0.1 is a moderate shift, 0.25 a large one)."""
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    if ref.size == 0 or cur.size == 0:
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1) / ref.size
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1) / cur.size
    r, c = np.clip(r, 1e-4, None), np.clip(c, 1e-4, None)
    return float(np.sum((c - r) * np.log(c / r)))


def _category_psi(reference: pd.Series, current: pd.Series) -> float:
    from leadscore.learn.tabular import as_text_series

    ref = as_text_series(reference).fillna("(missing)")
    cur = as_text_series(current).fillna("(missing)")
    levels = sorted(set(ref) | set(cur))
    r = ref.value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()
    c = cur.value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()
    r, c = np.clip(r, 1e-4, None), np.clip(c, 1e-4, None)
    return float(np.sum((c - r) * np.log(c / r)))


def drift_report(
    bundle: ModelBundle, current: pd.DataFrame, top_features: int = 5
) -> dict[str, Any]:
    """PSI of the score and of the most important features between training and now."""
    from leadscore.learn.tabular import as_number_series, is_numeric_column

    score_psi = psi(bundle.reference_scores, bundle.score(current))
    learner = bundle.learner
    if hasattr(learner, "importance_"):
        ranked = list(learner.importance_.index)
    else:
        contrib = learner.contributions(bundle.reference_features[bundle.columns]).abs().mean()
        ranked = list(contrib.sort_values(ascending=False).index)
    features = {}
    for col in ranked[:top_features]:
        ref, cur = bundle.reference_features[col], current[col]
        if is_numeric_column(ref):
            value = psi(
                as_number_series(ref).replace([np.inf], 1e12),
                as_number_series(cur).replace([np.inf], 1e12),
            )
        else:
            value = _category_psi(ref, cur)
        features[col] = round(value, 4)
    worst = max([score_psi, *features.values()], default=0.0)
    verdict = (
        "retrain: the score distribution or a top feature moved a lot (PSI >= 0.25)"
        if worst >= 0.25
        else "watch: moderate shift (PSI 0.1-0.25)"
        if worst >= 0.1
        else "stable (PSI < 0.1)"
    )
    return {
        "score_psi": round(score_psi, 4),
        "feature_psi": features,
        "verdict": verdict,
        "retrain": bool(worst >= 0.25),
    }
