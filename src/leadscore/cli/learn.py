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
from leadscore.cli.files import (
    DateFormatOpt,
    DelimiterOpt,
    EncodingOpt,
    FileFlags,
    MappingOpt,
    PresetOpt,
    prepared,
)
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
UnknownContactsOpt = Annotated[
    str,
    typer.Option(
        "--unknown-contacts",
        help="Events of contacts not in the contacts file: error (with their count) or skip.",
    ),
]
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
    # How to read files from a CRM (see leadscore.cli.files.FileFlags).
    preset: PresetOpt = None
    mapping: MappingOpt = None
    delimiter: DelimiterOpt = None
    encoding: EncodingOpt = None
    date_format: DateFormatOpt = None
    unknown_contacts: UnknownContactsOpt = "error"


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise fail(f"--method must be lift, scorecard or predictive, not {method!r}")


def _training_set(opts: TrainingOptions) -> tuple[TrainingSet, Any, Any]:
    from leadscore.io import InputError
    from leadscore.learn.data import read_contacts, read_events, unknown_contacts
    from leadscore.learn.features import TrainingSetError, build_training_set

    contacts_path = opts.contacts
    if opts.on_leak not in ("error", "drop", "warn"):
        raise fail(f"--on-leak must be error, drop or warn, not {opts.on_leak!r}")
    flags = FileFlags(opts.preset, opts.mapping, opts.delimiter, opts.encoding, opts.date_format)
    try:
        with prepared(flags, None, contacts_path, opts.events) as (contacts_file, events_file):
            contacts = read_contacts(contacts_file, opts.outcome)
            events, skipped = unknown_contacts(
                read_events(events_file), contacts, opts.events, opts.unknown_contacts
            )
        if skipped:
            err.print(f"left out {skipped:,} event(s) of contacts not in {contacts_path.name}")
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


SplitOpt = Annotated[
    Path | None,
    typer.Option(
        "--split",
        help="CSV/Parquet with contact_id and split (train or test): train on the train "
        "leads, test on exactly the test leads.",
    ),
]
TestIdsOpt = Annotated[
    Path | None,
    typer.Option(
        "--test-ids",
        help="Test on exactly these leads (a file with one contact_id a line, or a CSV/Parquet "
        "with a contact_id column); the others are the training side.",
    ),
]


@dataclass
class Sides:
    """The two sides of a given split, restricted to the training set's leads."""

    train: TrainingSet | None
    test: TrainingSet
    notes: list[str]


def _given_split(
    ts: TrainingSet, contacts: Any, split: Path | None, test_ids: Path | None
) -> Sides | None:
    """The leads of ``--split`` / ``--test-ids`` that the training set holds, and a note
    for those it does not (not in the contacts file, or left out by the label rules)."""
    from leadscore.io import InputError
    from leadscore.learn.data import read_ids, read_split

    if split is None and test_ids is None:
        return None
    if split is not None and test_ids is not None:
        raise fail("give --split or --test-ids, not both")
    try:
        if split is not None:
            sides = read_split(split)
            train_ids, wanted = sides["train"], sides["test"]
        else:
            assert test_ids is not None
            train_ids, wanted = None, read_ids(test_ids)
    except InputError as exc:
        raise fail(str(exc)) from None
    index = ts.X.index
    in_test = index.isin(list(wanted))
    notes = []
    missing = wanted - set(index)
    if missing:
        unknown = missing - set(contacts["contact_id"].astype(str))
        notes.append(
            f"{len(missing):,} of the {len(wanted):,} test leads are not evaluated: "
            f"{len(unknown):,} not in the contacts file, {len(missing) - len(unknown):,} left "
            "out by the snapshot and horizon rules (counts above)"
        )
    train_mask = ~in_test if train_ids is None else index.isin(list(train_ids))
    if not in_test.any():
        raise fail("none of the test leads is in the training set (see the notes above)")
    return Sides(ts.subset(train_mask), ts.subset(in_test), notes)


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
        float,
        typer.Option(help="ROC AUC the challenger must gain (beyond the noise) to be promoted."),
    ] = 0.0,
    yaml_out: Annotated[
        Path | None, typer.Option("--yaml", help="Also write the YAML (lift, scorecard).")
    ] = None,
    split: Annotated[
        Path | None,
        typer.Option(
            "--split", help="CSV/Parquet with contact_id and split (train/test): train on train."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Train even when readiness says not ready.")
    ] = False,
    promote: Annotated[
        bool,
        typer.Option(
            "--promote",
            help="Make it champion whatever the comparison says (the reason is still recorded).",
        ),
    ] = False,
) -> None:
    """Train a model, compare it with the champion and a plain baseline on the newest leads,
    register it (promoted only when it beats both beyond the noise)."""
    from leadscore.learn.readiness import readiness
    from leadscore.learn.registry import Registry, RegistryError, train_and_register

    _check_method(method)
    if not 0 < holdout < 1:
        raise fail(f"--holdout must be between 0 and 1, not {holdout}")
    ts, contacts_df, events_df = _training_set(opts)
    if split is not None:
        sides = _given_split(ts, contacts_df, split, None)
        assert sides is not None and sides.train is not None
        out.print(
            f"--split: training on the {len(sides.train.y):,} train leads "
            f"({len(sides.test.y):,} test leads kept out)",
            highlight=False,
        )
        ts = sides.train
    verdict = next(m for m in readiness(ts).methods if m.method == method)
    if not verdict.ready:
        why = "; ".join(verdict.reasons)
        if not force:
            raise fail(
                f"readiness: {method} is not ready ({why}). Collect more history, choose "
                "another --method, or pass --force to train anyway"
            )
        err.print(Text.assemble(("warning:", "yellow"), f" training anyway (--force): {why}"))
    settings = {
        "outcome": opts.outcome,
        "snapshot": opts.snapshot,
        "horizon_days": ts.horizon_days,
        "data_end": str(ts.data_end),
        "created_column": opts.created_column,
    }
    try:
        with err.status(f"training {method} and comparing with the champion and a baseline"):
            result = train_and_register(
                Registry(registry),
                method,
                ts,
                contacts_df,
                events_df,
                holdout_fraction=holdout,
                min_improvement=min_improvement,
                settings=settings,
                extra_info={
                    "readiness": {"ready": verdict.ready, "reasons": verdict.reasons},
                    "forced": bool(force and not verdict.ready),
                },
                promote="always" if promote else "auto",
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
    verdict_text = (
        "promoted to champion" if result.promoted else "kept as a candidate (not promoted)"
    )
    out.print(f"{verdict_text}: {result.reason}", highlight=False)
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
    split: SplitOpt = None,
    test_ids: TestIdsOpt = None,
    html: Annotated[Path, typer.Option("--html", help="HTML report (opens offline).")] = Path(
        "evaluation.html"
    ),
    json_out: Annotated[Path, typer.Option("--json", help="JSON with the same figures.")] = Path(
        "evaluation.json"
    ),
) -> None:
    """Evaluate scores against outcomes: AUCs with CIs, lift, gains, calibration, thresholds.

    By default (no --registry, no --model) --method is trained on the earlier leads and
    tested on the newest --holdout share (temporal validation), or trained and tested on
    the sides of --split / --test-ids. A registered model is judged on --test-ids /
    --split's test leads, refused if it was trained on any of them (its recorded
    training ids), or by default on the leads it was not trained on; a rules YAML,
    which learned nothing, on the given test leads, all leads or the newest
    --test-share of them.
    """
    import numpy as np

    from leadscore.learn.metrics import evaluate_scores
    from leadscore.learn.report import roc_points, write_report

    if registry is not None and model is not None:
        raise fail("give --registry (a trained model) or --model (a scoring-model YAML), not both")
    ts, contacts_df, events_df = _training_set(opts)
    sides = _given_split(ts, contacts_df, split, test_ids)
    for note in sides.notes if sides else ():
        err.print(note, highlight=False)
    if registry is None and model is None:
        scored = _evaluate_method(ts, sides, method, holdout)
    elif registry is not None:
        scored = _evaluate_registered(ts, sides, registry, version, method, contacts_df, events_df)
    else:
        assert model is not None
        scored = _evaluate_rules(ts, sides, model, score, test_share, contacts_df, events_df)
    y, values, proba, grade, context = scored
    if sides is not None:
        context["test leads"] = f"the {len(y):,} given test leads in the training set"
    result = evaluate_scores(y, np.asarray(values, dtype=float), proba=proba, grade=grade)
    result["curves"] = roc_points(y, values)
    result["context"] = context
    write_report(result, html, json_out, title="Lead score evaluation")
    out.print(
        f"{result['leads']:,} leads, {result['conversions']:,} converted: ROC AUC {result['roc_auc']:.3f} "
        f"(95% CI {result['roc_auc_ci'][0]:.3f}-{result['roc_auc_ci'][1]:.3f}), PR AUC {result['pr_auc']:.3f}, "
        f"top-10% lift {result['top_decile_lift']:.2f}"
        + (f", Brier {result['brier']:.4f}" if "brier" in result else "")
        + f". Wrote {html} and {json_out}.",
        highlight=False,
    )


Scored = tuple[Any, Any, Any, Any, dict[str, Any]]


def _evaluate_method(ts: TrainingSet, sides: Sides | None, method: str, holdout: float) -> Scored:
    """Train ``method`` on one side and score the other (temporal by default)."""
    from leadscore.learn.registry import RegistryError, fit_learner, make_bundle

    _check_method(method)
    if sides is not None:
        assert sides.train is not None
        train, test = sides.train, sides.test
        if train.y.nunique() < 2 or test.y.nunique() < 2:
            raise fail("the train or the test side has only one outcome")
        where = "the given test leads"
    else:
        train, test = ts.temporal_split(holdout)
        if train.y.nunique() < 2 or test.y.nunique() < 2:
            raise fail(f"the newest {holdout:.0%} of leads or the rest has only one outcome")
        where = (
            f"newest {holdout:.0%}: {test.snapshot_at.min():%Y-%m-%d} to "
            f"{test.snapshot_at.max():%Y-%m-%d}"
        )
    try:
        with err.status(f"training {method} on {len(train.y):,} leads"):
            bundle = make_bundle(method, fit_learner(method, train), train)
    except (RegistryError, ValueError) as exc:
        raise fail(str(exc)) from None
    values = bundle.score(test.X)
    proba = bundle.predict_proba(test.X)[:, 1] if method != "lift" else None
    grade = _grades(bundle.learner, values) if method == "scorecard" else None
    context = {
        "model": f"{method}, trained on {len(train.y):,} leads with snapshots "
        f"{train.snapshot_at.min():%Y-%m-%d} to {train.snapshot_at.max():%Y-%m-%d}",
        "test leads": where,
    }
    return test.y.to_numpy(), values, proba, grade, context


def _evaluate_registered(
    ts: TrainingSet,
    sides: Sides | None,
    registry: Path,
    version: str | None,
    method: str,
    contacts_df: Any,
    events_df: Any,
) -> Scored:
    """A registered model on leads it was not trained on (its recorded training ids)."""
    import pandas as pd

    from leadscore.learn.registry import Registry, RegistryError

    reg = Registry(registry)
    try:
        chosen = version or reg.champion(method)
        if chosen is None:
            raise RegistryError(f"{registry}: no champion {method} model (pass --version)")
        entry = reg.entry(chosen)
        bundle = reg.load(chosen)
        trained_ids = reg.training_ids(chosen)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    trained_until = pd.Timestamp(entry["training_window"]["last_snapshot"])
    index = ts.X.index
    if trained_ids is not None:
        seen = index.isin(list(trained_ids))
        source = f"{registry}/{chosen}/training_ids.txt"
    else:  # an older registry: only the window is known
        seen = (ts.snapshot_at <= trained_until).to_numpy()
        source = f"its training window, ending {trained_until}"
    if sides is not None:
        test = sides.test
        overlap = int(test.X.index.isin(index[seen]).sum())
        if overlap:
            raise fail(
                f"{overlap:,} of the {len(test.y):,} test leads were in {chosen}'s training set "
                f"({source}); evaluating on them would flatter it. Give test leads it was not "
                "trained on."
            )
        what = "the given test leads"
    else:
        test = ts.subset(~seen)
        what = "leads it was not trained on" + (
            "" if trained_ids is not None else " (snapshots after its training window)"
        )
    if len(test.y) < 10 or test.y.nunique() < 2:
        raise fail(
            f"only {len(test.y)} leads with known outcomes that {chosen} was not trained on "
            f"(by {source}); evaluating on leads it was trained on would flatter it. "
            "Wait for newer outcomes, pass --test-ids, or retrain with `leadscore train` "
            "(it reports a holdout)."
        )
    ids = pd.Series(test.X.index)
    rows = (
        contacts_df.set_index(contacts_df["contact_id"].astype(str)).loc[ids].reset_index(drop=True)
    )
    X = bundle.features(rows, events_df, test.snapshot_at.reset_index(drop=True))
    values = bundle.score(X)
    proba = bundle.predict_proba(X)[:, 1] if bundle.method != "lift" else None
    grade = _grades(bundle.learner, values) if bundle.method == "scorecard" else None
    context = {"model": f"{registry}/{chosen} ({bundle.method})", "test leads": what}
    return test.y.to_numpy(), values, proba, grade, context


def _evaluate_rules(
    ts: TrainingSet,
    sides: Sides | None,
    model: Path,
    score: str | None,
    test_share: float,
    contacts_df: Any,
    events_df: Any,
) -> Scored:
    """A scoring-model YAML on the given test leads, or the newest share of leads."""
    import pandas as pd

    from leadscore.learn.parity import rule_scores
    from leadscore.spec import ModelError, load_model

    try:
        spec = load_model(model)
    except ModelError as exc:
        raise fail(str(exc)) from None
    name = score or next(iter(spec.scores))
    if name not in spec.scores:
        raise fail(f"{model}: no score named {name!r}; it has {', '.join(spec.scores)}")
    if sides is not None:
        test = sides.test
        what = "the given test leads"
    else:
        n = len(ts.y)
        start = n - max(round(n * test_share), 1) if test_share < 1 else 0
        test = ts._rows(slice(start, n))
        what = f"newest {test_share:.0%}"
    ids = pd.Series(test.X.index)
    rows = (
        contacts_df.set_index(contacts_df["contact_id"].astype(str)).loc[ids].reset_index(drop=True)
    )
    with err.status(f"scoring {len(rows):,} leads with {model.name} as of their snapshots"):
        values, grade = rule_scores(
            model.read_text(encoding="utf-8"),
            rows,
            events_df,
            test.snapshot_at.reset_index(drop=True),
            name,
            grades=True,
        )
    return (
        test.y.to_numpy(),
        values,
        None,
        grade,
        {"model": f"{model} (score {name})", "test leads": what},
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
    unknown_contacts: UnknownContactsOpt = "error",
) -> None:
    """Has the population moved since training? PSI of the score and the top features."""
    from datetime import UTC, datetime

    from leadscore.io import InputError
    from leadscore.learn.data import read_contacts, read_events
    from leadscore.learn.data import unknown_contacts as check
    from leadscore.learn.registry import RegistryError, drift_report, load_predictor

    try:
        predictor = load_predictor(registry, method)
        contacts_df = read_contacts(contacts)
        events_df, _ = check(read_events(events), contacts_df, events, unknown_contacts)
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
