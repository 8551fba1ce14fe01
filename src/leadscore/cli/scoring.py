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
    contacts_path: Path, events_path: Path | None, unknown_contacts: str = "error"
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
                known = {c.contact_id for c in contacts}
                events = read_events(
                    events_path,
                    known_contacts=known if unknown_contacts == "error" else None,
                    progress=lambda n: progress.update(
                        task, description=f"reading {events_path.name}: {n:,} rows"
                    ),
                )
                events = _known_events(events, known)
        except InputError as exc:
            progress.stop()
            if exc.column == "contact_id" and "unknown contact_id" in str(exc):
                exc = _count_unknown(exc, events_path, {c.contact_id for c in contacts})
            raise fail(str(exc)) from None
    return contacts, group_events(events)


def _known_events(events: list[Any], known: set[str]) -> list[Any]:
    """Events of known contacts; the others (only read with --unknown-contacts skip)
    are left out and counted."""
    kept = [e for e in events if e.contact_id in known]
    if len(kept) < len(events):
        err.print(
            f"left out {len(events) - len(kept):,} event(s) of contacts not in the contacts file"
        )
    return kept


def _count_unknown(exc: Any, path: Path | None, known: set[str]) -> Any:
    """The reader's error on the first unknown contact, with how many there are in all
    (read again: only on this error path)."""
    from leadscore.engines.validate import UNKNOWN_COUNT
    from leadscore.io import InputError, read_events

    assert path is not None
    try:
        events = read_events(path)
    except InputError:
        return exc
    unknown = [e.contact_id for e in events if e.contact_id not in known]
    message = str(exc).split(": ", 1)[-1] if exc.row is None else str(exc).split("': ", 1)[-1]
    return InputError(
        exc.file,
        f"{message}; " + UNKNOWN_COUNT.format(events=len(unknown), contacts=len(set(unknown))),
        row=exc.row,
        column=exc.column,
        line=exc.line,
    )


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


SnapshotScoreOpt = Annotated[
    str | None,
    typer.Option(
        "--snapshot",
        help="Score each lead as of its own moment: 'created+30d' or a contacts column with "
        "dates (mql_at), never later than --as-of. Use the snapshot the predictive model was "
        "trained with.",
    ),
]
UnknownContactsOpt = Annotated[
    str,
    typer.Option(
        "--unknown-contacts",
        help="Events of contacts not in the contacts file: error (with their count) or skip.",
    ),
]


@with_options(FileFlags)
def score(
    contacts: ScoreContactsOpt,
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="Results: .csv, .parquet or .jsonl.")
    ],
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="Scoring-model YAML file (optional with --predictive)."),
    ] = None,
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
            "adds conversion_probability and the top positive/negative factors. Alone (no -m): "
            "only those.",
        ),
    ] = None,
    snapshot: SnapshotScoreOpt = None,
    unknown_contacts: UnknownContactsOpt = "error",
    files: FileFlags = FileFlags(),  # --preset, --mapping, --delimiter... (after the rest)
) -> None:
    """Score every contact: each score and grade, combined grade, stage, surge and top reasons.

    Every engine writes the same columns and values; see docs/batch.md.
    """
    from leadscore.io import output_format

    if model is None and predictive is None:
        raise fail("give --model (a scoring-model YAML), --predictive (a trained model), or both")
    if unknown_contacts not in ("error", "skip"):
        raise fail(f"--unknown-contacts must be error or skip, not {unknown_contacts!r}")
    if explain is not None and model is None:
        raise fail("--explain lists the rules' contributions: it needs --model")
    spec = load_model_or_exit(model) if model is not None else None
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
            predictor, engine, db, master, snapshot, unknown_contacts,
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
    snapshot: str | None,
    unknown_contacts: str,
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
    chosen = choose_engine(engine, db) if spec is not None else "predictive"
    per_lead = snapshot is not None
    if spec is not None and engine is None and db is None and per_lead:
        # only the python evaluator scores each lead at its own moment: take it rather
        # than refuse the default
        chosen = "python"
    rows: list[dict[str, Any]] | None = None
    long_rows: list[dict[str, Any]] = []
    columns = ["contact_id"]
    if spec is not None:
        if chosen != "python" and per_lead:
            raise fail(
                f"--snapshot with rule scores needs --engine python (the {chosen} engine "
                "scores every contact as of one --as-of)"
            )
        if chosen == "python":
            rows, long_rows = python_rows(
                spec,
                Path(contacts),
                Path(events) if events else None,
                moment,
                explain is not None,
                snapshot=snapshot,
                unknown_contacts=unknown_contacts,
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
                unknown_contacts=unknown_contacts,
            )
        columns = score_columns(spec.scores)

    # 2. the predictive model's probability and factors
    if predictor is not None:
        added = _add_predictive(
            rows,
            predictor,
            Path(contacts),
            Path(events) if events else None,
            moment,
            snapshot,
            unknown_contacts,
        )
        rows = added.rows
        columns += added.columns
        for note in added.notes:
            err.print(note, highlight=False)
        for warning in added.warnings:
            err.print(Text.assemble(("warning:", "yellow"), f" {warning}"))
    assert rows is not None

    # 3. write them, all files or none
    with atomic_path(out_path) as tmp:
        if explain is not None and explain_fmt is not None:
            with atomic_path(explain) as tmp_explain:
                write_table(tmp_explain, long_rows, list(CONTRIBUTION_COLUMNS), explain_fmt)
                write_table(tmp, rows, columns, fmt)
        else:
            write_table(tmp, rows, columns, fmt)
    when = f"as of {moment.isoformat()}" + (f" (each lead at {snapshot})" if snapshot else "")
    err.print(
        f"scored {len(rows):,} contact(s) {when} with {chosen} -> {out_path}"
        + (f" (contributions: {explain})" if explain else ""),
        highlight=False,
    )


def python_rows(
    spec: Any,
    contacts: Path,
    events: Path | None,
    moment: datetime,
    explain: bool,
    *,
    snapshot: str | None = None,
    unknown_contacts: str = "error",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(score rows, contribution rows) from the online evaluator, one contact at a time;
    with ``snapshot``, each contact as of its own snapshot (never after ``moment``)."""
    from rich.progress import Progress

    from leadscore.rules import Scorer

    for path in (contacts, events):
        if path is not None and path.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise fail(f"{path}: the python engine reads CSV or Parquet files, not tables")
    leads, grouped = load_inputs(contacts, events, unknown_contacts)
    _check_fields(spec, contacts, events)
    moments = _lead_moments(contacts, moment, snapshot) if snapshot is not None else {}
    scorer = Scorer(spec)
    rows: list[dict[str, Any]] = []
    long_rows: list[dict[str, Any]] = []
    with Progress(console=err, transient=True, disable=len(leads) < 2_000) as progress:
        task = progress.add_task("scoring", total=len(leads))
        for i, contact in enumerate(leads):
            at = moments.get(contact.contact_id, moment)
            result = scorer.score(contact, grouped.get(contact.contact_id, ()), at)
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


def _lead_moments(contacts: Path, moment: datetime, snapshot: str) -> dict[str, datetime]:
    """contact_id -> its scoring moment, by the same rule as the predictive columns."""
    from leadscore.io import InputError
    from leadscore.learn.apply import PredictiveScoreError, scoring_moments
    from leadscore.learn.data import read_contacts

    try:
        frame = read_contacts(contacts)
        moments, _ = scoring_moments(frame, moment, snapshot)
    except (InputError, PredictiveScoreError) as exc:
        raise fail(str(exc)) from None
    return {
        str(cid): at.to_pydatetime() for cid, at in zip(frame["contact_id"], moments, strict=True)
    }


def _load_predictive(path: Path) -> Any:
    from leadscore.learn.apply import PredictiveScoreError, load_for_scoring

    try:
        return load_for_scoring(path)
    except PredictiveScoreError as exc:
        raise fail(str(exc)) from None


def _add_predictive(
    rows: list[dict[str, Any]] | None,
    predictor: Any,
    contacts: Path,
    events: Path | None,
    moment: Any,
    snapshot: str | None,
    unknown_contacts: str,
) -> Any:
    from leadscore.learn.apply import PredictiveScoreError, add_predictive_columns

    try:
        return add_predictive_columns(
            rows,
            predictor,
            contacts,
            events,
            moment,
            snapshot=snapshot,
            unknown_contacts=unknown_contacts,
        )
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
