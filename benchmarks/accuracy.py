"""Accuracy of leadscore's learners against plain scikit-learn on four real datasets.

    python benchmarks/accuracy.py [--datasets ../shared/datasets] [--out benchmarks/results/accuracy.json]
                                  [--only xeducation,olist,bank,coil] [--write-benchmarks]

Respects the traps listed in the datasets' README:

* X Education: ``Tags`` and ``Lead Quality`` are filled in by sales after contact and
  are dropped ("honest" set); the stricter set also drops ``Last Activity``, ``Last
  Notable Activity``, the ``Asymmetrique`` indices and ``Lead Profile``. ``Select``
  means "not answered" and is read as missing. Ids are not features.
* Olist: only ``origin``, ``landing_page_id`` and ``first_contact_date`` are used
  (every closed-deal column exists only for won leads); time split on the date.
* Bank: ``duration`` is dropped (known only after the call); 5-fold CV and a
  first-80 % / last-20 % split in row (time) order.
* CoIL 2000: the official train/test split; the figure is buyers in the top 800.

Every model sees the same columns. Nothing is tuned on a test split: the learners'
own choices (early stopping, blend weights, regularisation) use held-out training rows
only: an inner 3-fold CV of the training side, or its latest 20 % when the protocol is
a time split. The baselines are plain scikit-learn with default settings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from leadscore.learn.lift import LiftPoints  # noqa: E402
from leadscore.learn.metrics import roc_pr, top_k_hits, top_share_lift  # noqa: E402
from leadscore.learn.predictive import PredictiveModel  # noqa: E402
from leadscore.learn.scorecard import Scorecard  # noqa: E402

# ------------------------------------------------------------------ datasets --


def load_xeducation(root: Path, strict: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    df = pd.read_csv(root / "xeducation_leads" / "Leads.csv")
    y = df.pop("Converted").to_numpy().astype(int)
    drop = ["Prospect ID", "Lead Number", "Tags", "Lead Quality"]
    if strict:
        drop += [
            "Last Activity",
            "Last Notable Activity",
            "Asymmetrique Activity Index",
            "Asymmetrique Profile Index",
            "Asymmetrique Activity Score",
            "Asymmetrique Profile Score",
            "Lead Profile",
        ]
    df = df.drop(columns=drop)
    for col in df.columns:
        if not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].astype(object).where(df[col] != "Select", None)
    return df, y


def load_olist(root: Path) -> tuple[pd.DataFrame, np.ndarray]:
    mql = pd.read_csv(
        root / "olist_marketing_funnel" / "olist_marketing_qualified_leads_dataset.csv"
    )
    deals = pd.read_csv(
        root / "olist_marketing_funnel" / "olist_closed_deals_dataset.csv", usecols=["mql_id"]
    )
    y = mql["mql_id"].isin(set(deals["mql_id"])).to_numpy().astype(int)
    X = pd.DataFrame(
        {
            "origin": mql["origin"],
            "landing_page_id": mql["landing_page_id"],
            "first_contact_date": pd.to_datetime(mql["first_contact_date"]),
        }
    )
    # rows in time order, so the time split is the last 20 % of rows
    order = np.argsort(X["first_contact_date"].to_numpy(), kind="stable")
    return X.iloc[order].reset_index(drop=True), y[order]


def load_bank(root: Path) -> tuple[pd.DataFrame, np.ndarray]:
    df = pd.read_csv(root / "uci_bank_marketing" / "bank-additional-full.csv", sep=";")
    y = (df.pop("y") == "yes").to_numpy().astype(int)
    return df.drop(columns=["duration"]), y


def load_coil(root: Path) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    base = root / "coil2000_caravan"
    train = pd.read_csv(base / "ticdata2000.txt", sep="\t", header=None)
    test = pd.read_csv(base / "ticeval2000.txt", sep="\t", header=None)
    y_test = pd.read_csv(base / "tictgts2000.txt", header=None)[0].to_numpy().astype(int)
    cols = [f"v{i + 1:02d}" for i in range(85)]
    X_train = train.iloc[:, :85].set_axis(cols, axis=1)
    y_train = train.iloc[:, 85].to_numpy().astype(int)
    return X_train, y_train, test.set_axis(cols, axis=1), y_test


# ------------------------------------------------------------------- models --


def _numeric_view(X: pd.DataFrame) -> pd.DataFrame:
    out = X.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].astype("int64") / 86_400e9
    return out


def baseline_lr(
    X: pd.DataFrame, y: np.ndarray, time_ordered: bool
) -> Callable[[pd.DataFrame], np.ndarray]:
    """One-hot logistic regression, default-ish settings."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    Xn = _numeric_view(X)
    cats = [c for c in Xn.columns if not pd.api.types.is_numeric_dtype(Xn[c])]
    nums = [c for c in Xn.columns if c not in cats]
    pre = ColumnTransformer(
        [
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                cats,
            ),
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums),
        ]
    )
    model = make_pipeline(pre, LogisticRegression(max_iter=3000)).fit(
        Xn.astype({c: object for c in cats}), y
    )
    return lambda Z: model.predict_proba(_numeric_view(Z).astype({c: object for c in cats}))[:, 1]


def baseline_hgb(
    X: pd.DataFrame, y: np.ndarray, time_ordered: bool
) -> Callable[[pd.DataFrame], np.ndarray]:
    """HistGradientBoosting with native categorical support, default settings."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    Xn = _numeric_view(X)
    cats = [c for c in Xn.columns if not pd.api.types.is_numeric_dtype(Xn[c])]
    levels = {c: sorted(Xn[c].dropna().astype(str).unique()) for c in cats}

    def prep(Z: pd.DataFrame) -> pd.DataFrame:
        Z = _numeric_view(Z)
        for c in cats:
            known = Z[c].astype(object).where(Z[c].notna(), None)
            known = known.where(known.isin(levels[c]), None)  # unseen levels: missing
            Z[c] = pd.Categorical(known, categories=levels[c])
        return Z

    big = [c for c in cats if len(levels[c]) > 250]  # HGB caps categorical cardinality
    data = prep(X)
    for c in big:
        data[c] = data[c].cat.codes.astype(float)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0).fit(
        data, y
    )

    def predict(Z: pd.DataFrame) -> np.ndarray:
        z = prep(Z)
        for c in big:
            z[c] = z[c].cat.codes.astype(float)
        return model.predict_proba(z)[:, 1]

    return predict


def ours_predictive(
    X: pd.DataFrame, y: np.ndarray, time_ordered: bool
) -> Callable[[pd.DataFrame], np.ndarray]:
    model = PredictiveModel(validation="temporal" if time_ordered else "random").fit(X, y)
    return lambda Z: model.predict_proba(Z)[:, 1]


def ours_scorecard(
    X: pd.DataFrame, y: np.ndarray, time_ordered: bool
) -> Callable[[pd.DataFrame], np.ndarray]:
    # the score is the YAML's points total; the tests prove it equals the rule engine's
    model = Scorecard(validation="temporal" if time_ordered else "random").fit(X, y)
    return model.decision_function


def ours_lift(
    X: pd.DataFrame, y: np.ndarray, time_ordered: bool
) -> Callable[[pd.DataFrame], np.ndarray]:
    model = LiftPoints().fit(X, y)
    return model.decision_function


def ours_lift_log(
    X: pd.DataFrame, y: np.ndarray, time_ordered: bool
) -> Callable[[pd.DataFrame], np.ndarray]:
    model = LiftPoints(method="log").fit(X, y)
    return model.decision_function


MODELS: dict[str, Callable[..., Callable[[pd.DataFrame], np.ndarray]]] = {
    "baseline: one-hot LR": baseline_lr,
    "baseline: HistGradientBoosting": baseline_hgb,
    "leadscore predictive": ours_predictive,
    "leadscore scorecard (YAML points)": ours_scorecard,
    "leadscore lift points (ratio)": ours_lift,
    "leadscore lift points (log)": ours_lift_log,
}


# ---------------------------------------------------------------- protocols --


def run_split(
    name: str,
    Xtr: pd.DataFrame,
    ytr: np.ndarray,
    Xte: pd.DataFrame,
    yte: np.ndarray,
    time_ordered: bool,
    top_k: int | None = None,
) -> dict[str, Any]:
    fit = MODELS[name]
    start = time.perf_counter()
    predict = fit(Xtr, ytr, time_ordered)
    seconds = time.perf_counter() - start
    score = predict(Xte)
    roc, pr = roc_pr(yte, score)
    out = {
        "roc_auc": roc,
        "pr_auc": pr,
        "top_decile_lift": top_share_lift(yte, score, 0.1),
        "train_seconds": seconds,
    }
    if top_k:
        out[f"hits_top_{top_k}"] = top_k_hits(yte, score, top_k)
    return out


def cross_validate(name: str, X: pd.DataFrame, y: np.ndarray, folds: int = 5) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold

    results = []
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y):
        results.append(run_split(name, X.iloc[tr], y[tr], X.iloc[te], y[te], time_ordered=False))
    keys = results[0].keys()
    return {k: float(np.mean([r[k] for r in results])) for k in keys}


def time_split(name: str, X: pd.DataFrame, y: np.ndarray, share: float = 0.2) -> dict[str, Any]:
    cut = int(len(y) * (1 - share))
    return run_split(name, X.iloc[:cut], y[:cut], X.iloc[cut:], y[cut:], time_ordered=True)


def experiments(
    root: Path, only: set[str]
) -> list[tuple[str, str, Callable[[str], dict[str, Any]]]]:
    out: list[tuple[str, str, Callable[[str], dict[str, Any]]]] = []
    if "xeducation" in only:
        xe, ye = load_xeducation(root)
        xs, ys = load_xeducation(root, strict=True)
        out.append(
            (
                "X Education, honest (no Tags, Lead Quality)",
                "5-fold CV",
                lambda m: cross_validate(m, xe, ye),
            )
        )
        out.append(
            (
                "X Education, strict (also no Last*Activity, Asymmetrique*, Lead Profile)",
                "5-fold CV",
                lambda m: cross_validate(m, xs, ys),
            )
        )
    if "olist" in only:
        xo, yo = load_olist(root)
        out.append(
            (
                "Olist MQLs (origin, landing page, date)",
                "first 80 % / last 20 % by date",
                lambda m: time_split(m, xo, yo),
            )
        )
        out.append(
            (
                "Olist MQLs (origin, landing page, date)",
                "5-fold CV",
                lambda m: cross_validate(m, xo, yo),
            )
        )
    if "bank" in only:
        xb, yb = load_bank(root)
        out.append(
            ("Bank marketing, without duration", "5-fold CV", lambda m: cross_validate(m, xb, yb))
        )
        out.append(
            (
                "Bank marketing, without duration",
                "first 80 % / last 20 % by row order",
                lambda m: time_split(m, xb, yb),
            )
        )
    if "coil" in only:
        xc, yc, xct, yct = load_coil(root)
        out.append(
            (
                "CoIL 2000 caravan",
                "official split (buyers of 238 in top 800)",
                lambda m: run_split(m, xc, yc, xct, yct, time_ordered=False, top_k=800),
            )
        )
    return out


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "## Learning",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']}; machine: {meta['machine']}.  ",
        "ROC AUC, PR AUC and top-decile lift on the test side of each protocol (CV: mean of 5 folds,",
        "stratified, seed 0); training time is seconds per fit. The scorecard and lift rows score",
        "leads with their YAML points (the tests prove the rule engine gives the same totals).",
        "",
        "| Dataset | Protocol | Model | ROC AUC | PR AUC | Top-10% lift | Train s | Extra |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        extra = ", ".join(f"{k} = {v}" for k, v in r["metrics"].items() if k.startswith("hits_"))
        m = r["metrics"]
        lines.append(
            f"| {r['dataset']} | {r['protocol']} | {r['model']} | {m['roc_auc']:.3f} | {m['pr_auc']:.3f} | "
            f"{m['top_decile_lift']:.2f} | {m['train_seconds']:.2f} | {extra} |"
        )
    return "\n".join(lines) + "\n"


def scale_markdown(path: Path) -> str:
    """The table of ``benchmarks/learning_scale.py``'s last run, if there is one."""
    if not path.exists():
        return ""
    data = json.loads(path.read_text(encoding="utf-8"))
    meta = data["meta"]
    load = ", ".join(f"{x:.1f}" for x in meta["load_before"])
    load_after = ", ".join(f"{x:.1f}" for x in meta["load_after"])
    lines = [
        "",
        "### Training on 1,000,000 leads",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']}; machine: {meta['machine']}; load average before {load}, "
        f"after {load_after}.  ",
        "Generated leads (`leadscore.learn.synthetic`, about 4 events each; generating them is not "
        "timed). Timed as `leadscore train` does it: the training set (features as of each "
        "lead's snapshot and the leakage guard), the fit with its own validation, and the "
        "reference scores stored with the model.",
        "",
        "| Method | Leads | Events | Features | Training set s | Fit s | Bundle s | Total s | ROC AUC on 100k fresh leads |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["results"]:
        lines.append(
            f"| {r['method']} | {r['leads']:,} | {r['events']:,} | {r['features']} | "
            f"{r['training_set_s']:.1f} | {r['fit_s']:.1f} | {r['bundle_s']:.1f} | {r['total_s']:.1f} | "
            f"{r.get('holdout_roc_auc', float('nan')):.3f} |"
        )
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace (or add) the ``## Learning`` section of BENCHMARKS.md, leaving the rest alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find("## Learning")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + 1)
        text = text[:start] + section + ("" if nxt == -1 else "\n" + text[nxt + 1 :])
    path.write_text(text, encoding="utf-8")


def _default_datasets() -> Path:
    # ../shared/datasets next to the checkout; a worktree in /work/wt/NAME has it two up
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared" / "datasets").exists():
            return base / "shared" / "datasets"
    return REPO.parent / "shared" / "datasets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=_default_datasets())
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "accuracy.json"
    )
    parser.add_argument("--only", default="xeducation,olist,bank,coil")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument(
        "--write-benchmarks",
        action="store_true",
        help="update the Learning section of BENCHMARKS.md",
    )
    parser.add_argument(
        "--scale-json",
        type=Path,
        default=REPO / "benchmarks" / "results" / "learning_scale.json",
        help="results of benchmarks/learning_scale.py to include in the section",
    )
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    only = set(args.only.split(","))
    models = [m for m in MODELS if m in set(args.models.split(","))]
    results = []
    for dataset, protocol, run in experiments(args.datasets, only):
        for model in models:
            metrics = run(model)
            results.append(
                {"dataset": dataset, "protocol": protocol, "model": model, "metrics": metrics}
            )
            extra = {k: v for k, v in metrics.items() if k.startswith("hits_")}
            print(
                f"{dataset} | {protocol} | {model}: ROC {metrics['roc_auc']:.4f} PR {metrics['pr_auc']:.4f} "
                f"lift {metrics['top_decile_lift']:.2f} {metrics['train_seconds']:.2f}s {extra}",
                flush=True,
            )
    meta = {
        "command": "python benchmarks/accuracy.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
    section = markdown(results, meta) + scale_markdown(args.scale_json)
    print(section)
    if args.write_benchmarks:
        write_section(REPO / "BENCHMARKS.md", section)


if __name__ == "__main__":
    main()
