"""`leadscore readiness`, `suggest-points`, `train`, `evaluate` and `drift`: learning from outcomes.

Heavy libraries (pandas, scikit-learn, LightGBM) are imported inside the commands so
``leadscore --help`` stays fast.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from leadscore.cli.console import err, fail, out
from leadscore.cli.options import with_options

if TYPE_CHECKING:
    from leadscore.learn.features import TrainingSet


ContactsOpt = Annotated[
    Path,
    typer.Option(
        "--contacts",
        "-c",
        help="Contacts CSV/Parquet: contact_id, fields, created_at and the outcome date.",
    ),
]
EventsOpt = Annotated[
    Path | None,
    typer.Option(
        "--events", "-e", help="Events CSV/Parquet (event_id, contact_id, type, timestamp, ...)."
    ),
]
OutcomeOpt = Annotated[
    str,
    typer.Option(
        "--outcome", help="Contacts column with the conversion date (empty: not converted)."
    ),
]
SnapshotOpt = Annotated[
    str,
    typer.Option(
        "--snapshot",
        help="When each lead's features are taken: 'created+14d', a contacts column with "
        "dates (mql_at) or an ISO date.",
    ),
]
HorizonOpt = Annotated[
    float | None,
    typer.Option(
        "--horizon",
        help="Days after the snapshot a conversion counts (default: inferred from the data, "
        "printed).",
    ),
]
CreatedOpt = Annotated[
    str, typer.Option("--created-column", help="Contacts column with the creation date.")
]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option("--exclude", "-x", help="Contacts column that is not a feature (repeatable)."),
]
OnLeakOpt = Annotated[
    str,
    typer.Option(
        "--on-leak", help="Columns that look filled in after the outcome: error, drop or warn."
    ),
]
DataEndOpt = Annotated[
    str | None,
    typer.Option(
        "--data-end",
        help="When the data was extracted (default: the latest event, conversion or creation "
        "date, printed).",
    ),
]
RegistryOpt = Annotated[Path, typer.Option("--registry", "-r", help="Model registry directory.")]
METHODS = ("lift", "scorecard", "predictive")


@dataclass(frozen=True)
class TrainingOptions:
    """How the training set is built: the options readiness, suggest-points, train and
    evaluate share (each command may give --on-leak its own default)."""

    contacts: ContactsOpt
    events: EventsOpt = None
    outcome: OutcomeOpt = "converted_at"
    snapshot: SnapshotOpt = "created+14d"
    horizon: HorizonOpt = None
    created_column: CreatedOpt = "created_at"
    exclude: ExcludeOpt = None
    on_leak: OnLeakOpt = "error"
    data_end: DataEndOpt = None


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise fail(f"--method must be lift, scorecard or predictive, not {method!r}")


def _training_set(opts: TrainingOptions) -> tuple[TrainingSet, Any, Any]:
    from leadscore.io import InputError
    from leadscore.learn.data import read_contacts, read_events
    from leadscore.learn.features import TrainingSetError, build_training_set

    contacts_path = opts.contacts
    if opts.on_leak not in ("error", "drop", "warn"):
        raise fail(f"--on-leak must be error, drop or warn, not {opts.on_leak!r}")
    try:
        contacts = read_contacts(contacts_path, opts.outcome)
        events = read_events(opts.events)
        with err.status("building the training set (features as of each snapshot)"):
            ts = build_training_set(
                contacts,
                events,
                outcome_column=opts.outcome,
                snapshot=opts.snapshot,
                horizon_days=opts.horizon,
                created_column=opts.created_column,
                exclude=tuple(opts.exclude or ()),
                on_leak=opts.on_leak,  # type: ignore[arg-type]
                data_end=opts.data_end,
            )
    except (InputError, TrainingSetError) as exc:
        raise fail(
            f"{contacts_path.name}: {exc}" if isinstance(exc, TrainingSetError) else str(exc)
        ) from None
    report_labels(ts)
    for finding in ts.leakage:
        err.print(
            Text.assemble(
                ("leakage guard:", "yellow"),
                f" {finding}" + (" (dropped)" if finding.column in ts.dropped_columns else ""),
            )
        )
    if ts.y.nunique() < 2:
        raise fail(
            f"{contacts_path.name}: after the snapshot rules {len(ts.y)} leads remain and they all have the "
            "same outcome; need converted and not converted leads"
        )
    return ts, contacts, events


def report_labels(ts: TrainingSet) -> None:
    """What the defaults chose, the positive rate before and after leaving leads out,
    and a warning when leaving them out moved it."""
    for choice in ts.choices:
        err.print(Text.assemble(("chose", "cyan"), f" {choice}"))
    if ts.rate_before is not None and ts.rate_after is not None:
        err.print(
            f"positive rate: {ts.rate_before:.1%} among leads with a snapshot (open windows "
            f"counted as not converted yet), {ts.rate_after:.1%} in the {len(ts.y):,} leads "
            f"kept (windows of {ts.horizon_days:g} days complete by the data end)",
            highlight=False,
        )
    for warning in ts.warnings:
        err.print(Text.assemble(("warning:", "yellow"), f" {warning}"))


@with_options(TrainingOptions, on_leak="drop")
def readiness_cmd(
    opts: TrainingOptions,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON.")
    ] = None,
) -> None:
    """Is there enough history to learn from, and which methods does it support?"""
    from leadscore.learn.readiness import readiness, render_text

    ts, _, _ = _training_set(opts)
    report = readiness(ts)
    out.print(render_text(report), highlight=False)
    if json_out is not None:
        json_out.write_text(json.dumps(report.to_dict(), indent=2, default=str), encoding="utf-8")


@with_options(TrainingOptions)
def suggest_points_cmd(
    opts: TrainingOptions,
    output: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the suggested scoring-model YAML.")
    ],
    points_per_lift: Annotated[
        float, typer.Option(help="Points for a trait that converts twice as often.")
    ] = 10.0,
    method: Annotated[
        str, typer.Option(help="ratio (the articles' method) or log (adds up like odds).")
    ] = "ratio",
    min_support: Annotated[
        int, typer.Option(help="Leads a value needs before it earns points.")
    ] = 30,
    significant_only: Annotated[
        bool, typer.Option(help="Only points whose 95% CI excludes the average.")
    ] = False,
) -> None:
    """Suggest points from conversion-rate ratios (lift), as an editable scoring-model YAML."""
    from leadscore.learn.lift import LiftPoints
    from leadscore.spec import ModelError, parse_model

    if method not in ("ratio", "log"):
        raise fail(f"--method must be ratio or log, not {method!r}")
    ts, _, _ = _training_set(opts)
    model = LiftPoints(
        points_per_lift=points_per_lift,
        method=method,  # type: ignore[arg-type]
        min_support=min_support,
        significant_only=significant_only,
    ).fit(ts.X, ts.y, ts.infos)
    text = model.to_yaml()
    try:
        parse_model(text, source=str(output))
    except ModelError as exc:  # a bug in the learner, never the user's fault: say so
        raise fail(f"internal error: the suggested model does not validate: {exc}") from None
    from leadscore.io import atomic_path

    with atomic_path(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    top = model.table_.sort_values("points", ascending=False)
    out.print(
        f"{len(ts.y):,} leads, {int(ts.y.sum()):,} converted ({ts.y.mean():.1%}). "
        f"Wrote {output} with {text.count('- id:')} rules.",
        highlight=False,
    )
    for row in top.head(10).itertuples():
        out.print(
            f"  {row.points:+g}  {row.feature} = {row.value}: {row.rate:.1%} "
            f"(95% CI {row.rate_low:.1%}-{row.rate_high:.1%}, {row.leads} leads)",
            highlight=False,
        )


@with_options(TrainingOptions)
def train_cmd(
    opts: TrainingOptions,
    method: Annotated[
        str, typer.Option("--method", help="lift, scorecard or predictive.")
    ] = "predictive",
    registry: RegistryOpt = Path("models"),
    holdout: Annotated[
        float, typer.Option(help="Share of the newest leads held out to compare with the champion.")
    ] = 0.2,
    min_improvement: Annotated[
        float, typer.Option(help="ROC AUC the challenger must gain to be promoted.")
    ] = 0.0,
    yaml_out: Annotated[
        Path | None, typer.Option("--yaml", help="Also write the YAML (lift, scorecard).")
    ] = None,
) -> None:
    """Train a model, compare it with the champion on the newest leads, register it."""
    from leadscore.learn.registry import Registry, RegistryError, train_and_register

    _check_method(method)
    if not 0 < holdout < 1:
        raise fail(f"--holdout must be between 0 and 1, not {holdout}")
    ts, contacts_df, events_df = _training_set(opts)
    settings = {
        "outcome": opts.outcome,
        "snapshot": opts.snapshot,
        "horizon_days": ts.horizon_days,
        "data_end": str(ts.data_end),
        "created_column": opts.created_column,
    }
    try:
        with err.status(f"training {method} and comparing with the champion"):
            result = train_and_register(
                Registry(registry),
                method,
                ts,
                contacts_df,
                events_df,
                holdout_fraction=holdout,
                min_improvement=min_improvement,
                settings=settings,
            )
    except RegistryError as exc:
        raise fail(str(exc)) from None
    m = result.challenger_metrics
    out.print(
        f"{method} {result.version}: holdout ({m['leads']:,} newest leads, {m['conversions']:,} converted) "
        f"ROC AUC {m['roc_auc']:.3f} (95% CI {m['roc_auc_ci'][0]:.3f}-{m['roc_auc_ci'][1]:.3f}), "
        f"PR AUC {m['pr_auc']:.3f}, top-10% lift {m['top_decile_lift']:.2f}",
        highlight=False,
    )
    verdict = "promoted to champion" if result.promoted else "kept as challenger (not promoted)"
    out.print(f"{verdict}: {result.reason}", highlight=False)
    if result.yaml_text is not None:
        from leadscore.spec import ModelError, parse_model

        try:
            parse_model(result.yaml_text, source=f"{registry}/{result.version}/model.yaml")
        except ModelError as exc:
            raise fail(f"internal error: the learned model does not validate: {exc}") from None
        if yaml_out is not None:
            yaml_out.write_text(result.yaml_text, encoding="utf-8")
            out.print(f"wrote {yaml_out}", highlight=False)


@with_options(TrainingOptions, on_leak="warn")
def evaluate_cmd(
    opts: TrainingOptions,
    registry: Annotated[
        Path | None, typer.Option("--registry", "-r", help="Evaluate a registered model...")
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="...this version (default: the champion of --method).")
    ] = None,
    method: Annotated[str, typer.Option(help="Champion of which method.")] = "predictive",
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="...or a scoring-model YAML (rules).")
    ] = None,
    score: Annotated[
        str | None, typer.Option(help="Which score of the YAML (default: the first).")
    ] = None,
    test_share: Annotated[
        float, typer.Option(help="YAML models: evaluate on the newest share of leads (1 = all).")
    ] = 1.0,
    holdout: Annotated[
        float, typer.Option(help="Without --registry/--model: newest share of leads to test on.")
    ] = 0.2,
    html: Annotated[Path, typer.Option("--html", help="HTML report (opens offline).")] = Path(
        "evaluation.html"
    ),
    json_out: Annotated[Path, typer.Option("--json", help="JSON with the same figures.")] = Path(
        "evaluation.json"
    ),
) -> None:
    """Evaluate scores against outcomes: AUCs with CIs, lift, gains, calibration, thresholds.

    By default (no --registry, no --model) --method is trained on the earlier leads and
    tested on the newest --holdout share (temporal validation). A registered model is
    judged on leads whose snapshot is after its training window; a rules YAML, which
    learned nothing, on all leads or the newest --test-share of them.
    """
    import numpy as np

    from leadscore.learn.metrics import evaluate_scores
    from leadscore.learn.report import roc_points, write_report

    if registry is not None and model is not None:
        raise fail("give --registry (a trained model) or --model (a scoring-model YAML), not both")
    ts, contacts_df, events_df = _training_set(opts)
    proba = grade = None
    context: dict[str, Any] = {}
    if registry is None and model is None:
        # temporal validation of a method: train on the earlier leads, test on the newest
        from leadscore.learn.registry import RegistryError, fit_learner, make_bundle

        _check_method(method)
        train, test = ts.temporal_split(holdout)
        if train.y.nunique() < 2 or test.y.nunique() < 2:
            raise fail(f"the newest {holdout:.0%} of leads or the rest has only one outcome")
        try:
            with err.status(f"training {method} on the earlier {len(train.y):,} leads"):
                bundle = make_bundle(method, fit_learner(method, train), train)
        except (RegistryError, ValueError) as exc:
            raise fail(str(exc)) from None
        values = bundle.score(test.X)
        if method != "lift":
            proba = bundle.predict_proba(test.X)[:, 1]
        if method == "scorecard":
            grade = _grades(bundle.learner, values)
        y = test.y.to_numpy()
        context = {
            "model": f"{method}, trained on leads with snapshots {train.snapshot_at.min():%Y-%m-%d} to "
            f"{train.snapshot_at.max():%Y-%m-%d}",
            "test leads": f"newest {holdout:.0%}: {test.snapshot_at.min():%Y-%m-%d} to {test.snapshot_at.max():%Y-%m-%d}",
        }
    elif registry is not None:
        import pandas as pd

        from leadscore.learn.registry import Registry, RegistryError

        reg = Registry(registry)
        try:
            chosen = version or reg.champion(method)
            if chosen is None:
                raise RegistryError(f"{registry}: no champion {method} model")
            entry = reg.entry(chosen)
            bundle = reg.load(chosen)
        except RegistryError as exc:
            raise fail(str(exc)) from None
        trained_until = pd.Timestamp(entry["training_window"]["last_snapshot"])
        later = ts.snapshot_at > trained_until
        if later.sum() < 10 or ts.y[later].nunique() < 2:
            raise fail(
                f"only {int(later.sum())} leads have a snapshot after {chosen}'s training window "
                f"(ends {trained_until}); evaluating on leads it was trained on would flatter it. "
                "Wait for newer outcomes, or retrain with `leadscore train` (it reports a holdout)."
            )
        ids = pd.Series(ts.X.index[later.to_numpy()])
        rows = (
            contacts_df.set_index(contacts_df["contact_id"].astype(str))
            .loc[ids]
            .reset_index(drop=True)
        )
        X = bundle.features(rows, events_df, ts.snapshot_at[later].reset_index(drop=True))
        y = ts.y[later].to_numpy()
        values = bundle.score(X)
        if bundle.method != "lift":
            proba = bundle.predict_proba(X)[:, 1]
        if bundle.method == "scorecard":
            grade = _grades(bundle.learner, values)
        context = {
            "model": f"{registry}/{chosen} ({bundle.method})",
            "test leads": "snapshots after the training window",
        }
    else:
        import pandas as pd

        from leadscore.learn.parity import rule_scores
        from leadscore.spec import ModelError, load_model

        assert model is not None
        try:
            spec = load_model(model)
        except ModelError as exc:
            raise fail(str(exc)) from None
        name = score or next(iter(spec.scores))
        if name not in spec.scores:
            raise fail(f"{model}: no score named {name!r}; it has {', '.join(spec.scores)}")
        n = len(ts.y)
        start = n - max(round(n * test_share), 1) if test_share < 1 else 0
        ids = pd.Series(ts.X.index[start:])
        rows = (
            contacts_df.set_index(contacts_df["contact_id"].astype(str))
            .loc[ids]
            .reset_index(drop=True)
        )
        with err.status(f"scoring {len(rows):,} leads with {model.name} as of their snapshots"):
            values = rule_scores(
                model.read_text(encoding="utf-8"),
                rows,
                events_df,
                ts.snapshot_at.iloc[start:].reset_index(drop=True),
                name,
                grades=True,
            )
        values, grade = values
        y = ts.y.iloc[start:].to_numpy()
        context = {"model": f"{model} (score {name})", "test leads": f"newest {test_share:.0%}"}
    result = evaluate_scores(y, np.asarray(values, dtype=float), proba=proba, grade=grade)
    result["curves"] = roc_points(y, values)
    result["context"] = context
    write_report(result, html, json_out, title="Lead score evaluation")
    out.print(
        f"{result['leads']:,} leads, {result['conversions']:,} converted: ROC AUC {result['roc_auc']:.3f} "
        f"(95% CI {result['roc_auc_ci'][0]:.3f}-{result['roc_auc_ci'][1]:.3f}), PR AUC {result['pr_auc']:.3f}, "
        f"top-10% lift {result['top_decile_lift']:.2f}. Wrote {html} and {json_out}.",
        highlight=False,
    )


def _grades(learner: Any, values: Any) -> Any:
    import numpy as np

    labels = np.full(len(values), None, dtype=object)
    for label, threshold in reversed(learner.grade_thresholds_):
        labels[np.asarray(values) >= (threshold if threshold is not None else -np.inf)] = label
    return labels


def drift_cmd(
    contacts: ContactsOpt,
    events: EventsOpt = None,
    registry: RegistryOpt = Path("models"),
    method: Annotated[str, typer.Option(help="Check the champion of this method.")] = "predictive",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Features as of this moment (default: now).")
    ] = None,
) -> None:
    """Has the population moved since training? PSI of the score and the top features."""
    from datetime import UTC, datetime

    from leadscore.io import InputError
    from leadscore.learn.data import read_contacts, read_events
    from leadscore.learn.registry import RegistryError, drift_report, load_predictor

    try:
        predictor = load_predictor(registry, method)
        contacts_df = read_contacts(contacts)
        events_df = read_events(events)
    except (RegistryError, InputError) as exc:
        raise fail(str(exc)) from None
    moment = as_of or datetime.now(UTC).isoformat()
    X = predictor.features(contacts_df, events_df, moment)
    report = drift_report(predictor.bundle, X)
    out.print(
        f"score PSI {report['score_psi']:.3f}; "
        + ", ".join(f"{k} {v:.3f}" for k, v in report["feature_psi"].items()),
        highlight=False,
    )
    out.print(report["verdict"], highlight=False)
    if report["retrain"]:
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    app.command("readiness")(readiness_cmd)
    app.command("suggest-points")(suggest_points_cmd)
    app.command("train")(train_cmd)
    app.command("evaluate")(evaluate_cmd)
    app.command("drift")(drift_cmd)
