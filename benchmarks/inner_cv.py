"""Repeated inner cross-validation of predictive-model settings on TRAINING rows only.

Used to decide whether a change to the predictive learner's defaults is adopted before
any test figure is looked at (BENCHMARKS.md, Learning section). For each candidate the
model is fitted on the training folds of ``--repeats`` x ``--folds`` stratified splits of
the dataset's training rows (seeds 0, 1, ...) and scored on the held-out fold: ROC AUC,
PR AUC and buyers in the top 20 % (CoIL's top 800 of 4,000 is 20 %). Differences to the
first candidate are paired over the same folds, with their standard error.

    PYTHONPATH=$PWD/src python3 benchmarks/inner_cv.py --dataset coil
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import _default_datasets, load_bank, load_coil, load_olist, load_xeducation

from leadscore.learn.metrics import roc_pr
from leadscore.learn.predictive import PredictiveModel

# The study of 2026-12-01 compared against the defaults before it (15 leaves for every
# size); the learner's default is now num_leaves="auto" (7 below 1,000 conversions).
_BEFORE = {"num_leaves": 15}
CANDIDATES: dict[str, dict[str, Any]] = {
    "default": {},
    "auto": {"num_leaves": "auto"},
    "seeds5": {"n_seeds": 5},
    "extra_trees": {"extra_trees": True},
    "path_smooth10": {"path_smooth": 10.0},
    "mcs100_l2_10": {"min_child_samples": 100, "reg_lambda": 10.0},
    # round 2 (after round 1 found nothing past 2 SE): the same ideas stacked or stronger
    "combo": {"n_seeds": 5, "path_smooth": 10.0, "min_child_samples": 100, "reg_lambda": 10.0},
    "leaves7": {"num_leaves": 7},
    "lr02_seeds5": {"learning_rate": 0.02, "n_seeds": 5},
    # round 3, on fresh folds (--first-seed 5): every regularisation that pointed the
    # same small way in rounds 1-2, together, without the seed bag's cost
    "reg_small": {
        "num_leaves": 7,
        "min_child_samples": 100,
        "reg_lambda": 10.0,
        "path_smooth": 10.0,
    },
}


def training_rows(root: Path, name: str) -> tuple[Any, np.ndarray]:
    """The rows a benchmark trains on: CoIL's official training file, and for the
    time-split datasets the earliest 80 % (the later 20 % is their test side)."""
    if name == "coil":
        X, y, _, _ = load_coil(root)
        return X, y
    if name == "xeducation":
        return load_xeducation(root)
    loader = {"bank": load_bank, "olist": load_olist}[name]
    X, y = loader(root)
    cut = int(len(y) * 0.8)
    return X.iloc[:cut], y[:cut]


def top_share_hits(y: np.ndarray, score: np.ndarray, share: float = 0.2) -> int:
    k = round(len(y) * share)
    order = np.argsort(-score, kind="stable")[:k]
    return int(y[order].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="coil")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seed of the first repeat")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from sklearn.model_selection import StratifiedKFold

    X, y = training_rows(_default_datasets(), args.dataset)
    names = args.candidates.split(",")
    results: dict[str, list[tuple[float, float, int]]] = {n: [] for n in names}
    seconds: dict[str, float] = dict.fromkeys(names, 0.0)
    for rep in range(args.first_seed, args.first_seed + args.repeats):
        folds = StratifiedKFold(args.folds, shuffle=True, random_state=rep)
        for tr, te in folds.split(X, y):
            for name in names:
                start = time.perf_counter()
                model = PredictiveModel(validation="random", **{**_BEFORE, **CANDIDATES[name]})
                model.fit(X.iloc[tr], y[tr])
                seconds[name] += time.perf_counter() - start
                score = model.decision_function(X.iloc[te])
                roc, pr = roc_pr(y[te], score)
                results[name].append((roc, pr, top_share_hits(y[te], score)))
            print(
                f"rep {rep}: "
                + "  ".join(f"{n} {results[n][-1][0]:.4f}/{results[n][-1][2]}" for n in names),
                flush=True,
            )
    base = np.array(results[names[0]], dtype=float)
    n = base.shape[0]
    print(
        f"\n{args.dataset}: {len(y)} training rows, {args.repeats}x{args.folds} folds, "
        f"seeds {args.first_seed}-{args.first_seed + args.repeats - 1}"
    )
    print("candidate | AUC | dAUC (SE) | PR AUC | dPR (SE) | top-20% hits | dhits (SE) | fit s")
    for name in names:
        arr = np.array(results[name], dtype=float)
        d = arr - base
        se = d.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(3)
        m, dm = arr.mean(axis=0), d.mean(axis=0)
        print(
            f"{name} | {m[0]:.4f} | {dm[0]:+.4f} ({se[0]:.4f}) | {m[1]:.4f} | "
            f"{dm[1]:+.4f} ({se[1]:.4f}) | {m[2]:.1f} | {dm[2]:+.1f} ({se[2]:.1f}) | "
            f"{seconds[name] / n:.1f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"results": results, "seconds": seconds}))


if __name__ == "__main__":
    main()
