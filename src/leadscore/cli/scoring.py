"""`leadscore validate`, `leadscore score` and `leadscore explain`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from leadscore.cli.batch import DbOpt, EngineOpt, MasterOpt, choose_engine
from leadscore.cli.console import err, fail, load_model_or_exit, out, parse_as_of
from leadscore.cli.files import FileFlags, prepared
from leadscore.cli.options import with_options
from leadscore.spec.output import CONTRIBUTION_COLUMNS, contribution_record, score_columns

ModelOpt = Annotated[Path, typer.Option("--model", "-m", help="Scoring-model YAML file.")]
ContactsOpt = Annotated[
    Path, typer.Option("--contacts", "-c", help="Contacts CSV or Parquet (contact_id + fields).")
]
EventsOpt = Annotated[
    Path | None,
    typer.Option(
        "--events", "-e", help="Events CSV or Parquet (event_id, contact_id, type, timestamp, ...)."
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Score as of this moment (ISO 8601; naive = UTC). Default: now, in UTC."
    ),
]


def load_inputs(
    contacts_path: Path, events_path: Path | None
) -> tuple[list[Any], dict[str, list[Any]]]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from leadscore.io import InputError, group_events, read_contacts, read_events

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(f"reading {contacts_path.name}")
        try:
            contacts = read_contacts(contacts_path)
            events = []
            if events_path is not None:
                progress.update(task, description=f"reading {events_path.name}")
                events = read_events(
                    events_path,
                    known_contacts={c.contact_id for c in contacts},
                    progress=lambda n: progress.update(
                        task, description=f"reading {events_path.name}: {n:,} rows"
                    ),
                )
        except InputError as exc:
            progress.stop()
            raise fail(str(exc)) from None
    return contacts, group_events(events)


def validate(model: Annotated[Path, typer.Argument(help="Scoring-model YAML file.")]) -> None:
    """Check a scoring model and list every problem with its path and line."""
    spec = load_model_or_exit(model)
    rules = sum(len(s.rules) for s in spec.scores.values())
    out.print(
        Text.assemble(
            ("ok", "green"),
            f" {model}: {len(spec.scores)} score(s) ({', '.join(spec.scores)}), "
            f"{rules} rule(s), stages: {', '.join(['lead', *spec.lifecycle])}",
        ),
        highlight=False,
    )


# Text, not Path: a Path would turn a URI such as s3a://lake/events.parquet into s3a:/lake/...
ScoreContactsOpt = Annotated[
    str,
    typer.Option(
        "--contacts",
        "-c",
        help="Contacts CSV (any dialect), .xlsx or Parquet (contact_id + fields), or a table "
        "name (postgres, spark, or duckdb with --db).",
    ),
]
ScoreEventsOpt = Annotated[
    str | None,
    typer.Option(
        "--events",
        "-e",
        help="Events CSV (any dialect), .xlsx or Parquet (event_id, contact_id, type, "
        "timestamp, ...), or a table name.",
    ),
]


@with_options(FileFlags)
def score(
    model: ModelOpt,
    contacts: ScoreContactsOpt,
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="Results: .csv, .parquet or .jsonl.")
    ],
    events: ScoreEventsOpt = None,
    as_of: AsOfOpt = None,
    explain: Annotated[
        Path | None, typer.Option("--explain", help="Also write every contribution (long format).")
    ] = None,
    engine: EngineOpt = None,
    db: DbOpt = None,
    master: MasterOpt = None,
    predictive: Annotated[
        Path | None,
        typer.Option(
            "--predictive",
            help="Also apply a trained predictive model (registry dir, version dir or model.pkl): "
            "adds conversion_probability and the top positive/negative factors.",
        ),
    ] = None,
    files: FileFlags = FileFlags(),  # --preset, --mapping, --delimiter... (after the rest)
) -> None:
    """Score every contact: each score and grade, combined grade, stage, surge and top reasons.

    Every engine writes the same columns and values; see docs/batch.md.
    """
    from leadscore.io import output_format

    spec = load_model_or_exit(model)
    moment = parse_as_of(as_of)
    try:
        fmt = output_format(out_path)
        explain_fmt = output_format(explain) if explain is not None else None
    except ValueError as exc:
        raise fail(str(exc)) from None
    predictor = _load_predictive(predictive) if predictive is not None else None
    with prepared(files, spec, contacts, events) as (contacts, events):
        _score_files(
            spec, contacts, events, moment, out_path, fmt, explain, explain_fmt,
            predictor, engine, db, master,
        )  # fmt: skip


def _score_files(
    spec: Any,
    contacts: str,
    events: str | None,
    moment: datetime,
    out_path: Path,
    fmt: str,
    explain: Path | None,
    explain_fmt: str | None,
    predictor: Any,
    engine: Any,
    db: str | None,
    master: str | None,
) -> None:
    from leadscore.io import atomic_path, write_table

    if predictor is not None:
        # the predictive features are read from files; say so before any scoring work
        for name in (contacts, events):
            if name is not None and not Path(name).is_file():
                raise fail(
                    f"--predictive reads the contacts and events files: {name} is not a file"
                )

    # 1. build the rows (one per contact) and, with --explain, the contributions
    chosen = choose_engine(engine, db)
    if chosen == "python":
        rows, long_rows = python_rows(
            spec, Path(contacts), Path(events) if events else None, moment, explain is not None
        )
    else:
        from leadscore.cli.batch import engine_rows

        rows, long_rows = engine_rows(
            chosen,
            spec,
            contacts,
            events,
            moment,
            explain is not None,
            db=db,
            master=master,
        )

    # 2. write them, all files or none
    columns = score_columns(spec.scores)
    if predictor is not None:
        columns += _add_predictive(
            rows, predictor, Path(contacts), Path(events) if events else None, moment
        )
    with atomic_path(out_path) as tmp:
        if explain is not None and explain_fmt is not None:
            with atomic_path(explain) as tmp_explain:
                write_table(tmp_explain, long_rows, list(CONTRIBUTION_COLUMNS), explain_fmt)
                write_table(tmp, rows, columns, fmt)
        else:
            write_table(tmp, rows, columns, fmt)
    err.print(
        f"scored {len(rows):,} contact(s) as of {moment.isoformat()} with {chosen} -> {out_path}"
        + (f" (contributions: {explain})" if explain else ""),
        highlight=False,
    )


def python_rows(
    spec: Any, contacts: Path, events: Path | None, moment: datetime, explain: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(score rows, contribution rows) from the online evaluator, one contact at a time."""
    from rich.progress import Progress

    from leadscore.rules import Scorer

    for path in (contacts, events):
        if path is not None and path.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise fail(f"{path}: the python engine reads CSV or Parquet files, not tables")
    leads, grouped = load_inputs(contacts, events)
    _check_fields(spec, contacts, events)
    scorer = Scorer(spec)
    rows: list[dict[str, Any]] = []
    long_rows: list[dict[str, Any]] = []
    with Progress(console=err, transient=True, disable=len(leads) < 2_000) as progress:
        task = progress.add_task("scoring", total=len(leads))
        for i, contact in enumerate(leads):
            result = scorer.score(contact, grouped.get(contact.contact_id, ()), moment)
            rows.append(result.to_row())
            if explain:
                long_rows.extend(
                    contribution_row(contact.contact_id, c) for c in result.contributions
                )
            if i % 1_000 == 0:
                progress.update(task, completed=i)
    return rows, long_rows


def _check_fields(spec: Any, contacts: Path, events: Path | None) -> None:
    """The columns the model reads must be in the files (as the SQL engines check)."""
    from leadscore.engines.base import file_header
    from leadscore.files.fields import check_model_fields
    from leadscore.io import InputError

    try:
        check_model_fields(
            spec,
            file_header(contacts),
            file_header(events) if events is not None else None,
            contacts,
            events,
        )
    except InputError as exc:
        raise fail(str(exc)) from None


def _load_predictive(path: Path) -> Any:
    from leadscore.learn.apply import PredictiveScoreError, load_for_scoring

    try:
        return load_for_scoring(path)
    except PredictiveScoreError as exc:
        raise fail(str(exc)) from None


def _add_predictive(
    rows: list[dict[str, Any]], predictor: Any, contacts: Path, events: Path | None, moment: Any
) -> list[str]:
    from leadscore.learn.apply import PredictiveScoreError, add_predictive_columns

    try:
        return add_predictive_columns(rows, predictor, contacts, events, moment)
    except PredictiveScoreError as exc:
        raise fail(str(exc)) from None


def contribution_row(contact_id: str, c: Any) -> dict[str, Any]:
    """An online evaluator's Contribution as the row ``--explain`` writes."""
    return contribution_record(contact_id, c.score, c.rule_id, c.description, c.points, c.evidence)


@with_options(FileFlags)
def explain_command(
    contact: Annotated[str, typer.Option("--contact", help="The contact_id to explain.")],
    model: ModelOpt,
    contacts: ContactsOpt,
    events: EventsOpt = None,
    as_of: AsOfOpt = None,
    files: FileFlags = FileFlags(),
) -> None:
    """Show one contact's score breakdown: every rule that fired, its points and evidence."""
    from leadscore.rules import Scorer

    spec = load_model_or_exit(model)
    moment = parse_as_of(as_of)
    with prepared(files, spec, contacts, events) as (contacts_path, events_path):
        leads, grouped = load_inputs(
            Path(contacts_path), Path(events_path) if events_path else None
        )
        _check_fields(spec, Path(contacts_path), Path(events_path) if events_path else None)
    lead = next((c for c in leads if c.contact_id == contact), None)
    if lead is None:
        raise fail(f"contact '{contact}' is not in {contacts}")
    result = Scorer(spec).score(lead, grouped.get(contact, ()), moment)

    table = Table(title=f"Why {contact} scores what it does (as of {moment:%Y-%m-%d %H:%M} UTC)")
    for column, justify in (
        ("score", "left"),
        ("rule", "left"),
        ("description", "left"),
        ("points", "right"),
        ("evidence", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for c in result.contributions:
        style = "green" if c.points > 0 else "red"
        table.add_row(
            c.score,
            c.rule_id,
            c.description,
            Text(f"{c.points:+.2f}", style=style),
            _evidence(c.evidence),
        )
    out.print(table)
    for name, s in result.scores.items():
        line = Text.assemble((name, "bold"), f": {s.value:.2f}  grade {s.grade or '-'}")
        out.print(line, highlight=False)
    out.print(
        Text.assemble(
            "combined grade ",
            (result.grade or "-", "bold"),
            ", stage ",
            (result.stage, "bold"),
            f", surging: {'yes' if result.surging else 'no'} "
            f"({result.surge_points:.1f} recent points)",
        ),
        highlight=False,
    )


def _evidence(evidence: Any) -> str:
    if isinstance(evidence, dict):
        return ", ".join(f"{k}={_short(v)}" for k, v in evidence.items())
    if isinstance(evidence, tuple):
        shown = ", ".join(evidence[:5])
        return shown + (f" (+{len(evidence) - 5} more)" if len(evidence) > 5 else "")
    return "" if evidence is None else str(evidence)


def _short(value: Any) -> str:
    if isinstance(value, tuple):
        return f"{len(value)} events"
    return str(value)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("score")(score)
    app.command("explain")(explain_command)
