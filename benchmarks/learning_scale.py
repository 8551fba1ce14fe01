"""Training on many leads: time of ``leadscore train`` end to end on generated data.

    python benchmarks/learning_scale.py [--leads 1000000] [--methods predictive,scorecard]
                                        [--out benchmarks/results/learning_scale.json]

The leads come from :func:`leadscore.learn.synthetic.make_leads` (known generating
process, about 4 events per lead). Timed, for each method, as ``leadscore train``
does it: the leakage-free training set (features as of each lead's snapshot, the
leakage guard), the fit with its own validation, and the reference scores saved with
the model (``make_bundle``). Generating the data is not timed, nor is the ROC AUC on
``--holdout`` fresh leads from the same process (another seed), which shows the speed
is not bought with a worse model. The figures are read
by ``benchmarks/accuracy.py --write-benchmarks`` into the Learning section of
BENCHMARKS.md. Target (issue 5): under 2 minutes for 1,000,000 leads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sklearn.metrics import roc_auc_score  # noqa: E402

from leadscore.learn.features import build_training_set  # noqa: E402
from leadscore.learn.registry import fit_learner, make_bundle  # noqa: E402
from leadscore.learn.synthetic import make_leads  # noqa: E402

DEFAULT_OUT = REPO / "benchmarks" / "results" / "learning_scale.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--methods", default="predictive,scorecard")
    parser.add_argument("--holdout", type=int, default=100_000, help="fresh leads to score")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    load_before = os.getloadavg()
    start = time.perf_counter()
    contacts, events = make_leads(args.leads, seed=0)
    generate_s = time.perf_counter() - start
    print(f"generated {len(contacts):,} leads, {len(events):,} events in {generate_s:.1f}s")

    # fresh leads from the same process (another seed), never trained on: the quality at this size
    fresh_contacts, fresh_events = make_leads(args.holdout, seed=1)
    fresh = build_training_set(fresh_contacts, fresh_events)

    results = []
    for method in args.methods.split(","):
        t0 = time.perf_counter()
        ts = build_training_set(contacts, events)
        t1 = time.perf_counter()
        learner = fit_learner(method, ts)
        t2 = time.perf_counter()
        bundle = make_bundle(method, learner, ts)
        t3 = time.perf_counter()
        holdout_auc = roc_auc_score(fresh.y, bundle.score(fresh.X))
        row = {
            "method": method,
            "leads": len(ts.y),
            "events": len(events),
            "features": int(ts.X.shape[1]),
            "training_set_s": round(t1 - t0, 1),
            "fit_s": round(t2 - t1, 1),
            "bundle_s": round(t3 - t2, 1),
            "total_s": round(t3 - t0, 1),
            "holdout_roc_auc": round(float(holdout_auc), 4),
        }
        if method == "predictive":
            row["blend"] = learner.weights_
            row["trees"] = learner.best_iteration_
        results.append(row)
        print(json.dumps(row), flush=True)

    meta = {
        "command": "python benchmarks/learning_scale.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_before": load_before,
        "generate_s": round(generate_s, 1),
    }
    meta["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
