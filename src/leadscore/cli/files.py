"""Options for files from a CRM (dialect, encoding, dates, mapping) and `leadscore import`.

`score`, `explain` and the learning commands take :class:`FileFlags`; the files
are read through :mod:`leadscore.files`, so a HubSpot export in Excel's
semicolon CSV scores exactly as a canonical UTF-8 CSV would.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from leadscore.cli.console import err, fail, out
from leadscore.cli.options import with_options

PresetOpt = Annotated[
    str | None,
    typer.Option(
        "--preset",
        help="Read a CRM's export columns as the model's fields: hubspot, salesforce, "
        "marketo or pardot (see docs/files.md).",
    ),
]
MappingOpt = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        help="YAML renaming source columns to model fields (contacts:, events:, "
        "event_types:, preset:); on top of the model's mapping: and --preset.",
    ),
]
DelimiterOpt = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        help="CSV separator: , ; tab or | (default: detected from the first lines).",
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="Text encoding of CSV files (default: a BOM's, else UTF-8, else cp1252).",
    ),
]
DateFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        help="strptime format of non-ISO dates in timestamp/created_at/converted_at, "
        "e.g. '%d/%m/%Y %H:%M' (ISO 8601 values are still read).",
    ),
]


@dataclass(frozen=True)
class FileFlags:
    """How to read contacts/events files: the options every file-reading command shares."""

    preset: PresetOpt = None
    mapping: MappingOpt = None
    delimiter: DelimiterOpt = None
    encoding: EncodingOpt = None
    date_format: DateFormatOpt = None


def read_options(flags: FileFlags, spec: Any = None) -> Any:
    """The reader's options: the model's mapping: section, then --preset, then --mapping."""
    from leadscore.files.mapping import MappingError, build_mapping
    from leadscore.files.reader import ReadOptions, delimiter_of, encoding_of

    section = None
    if spec is not None and getattr(spec, "mapping", None) is not None:
        section = spec.mapping.model_dump()
    try:
        mapping = build_mapping(section, flags.mapping, flags.preset)
        if flags.delimiter is not None:
            delimiter_of(flags.delimiter)
        if flags.encoding is not None:
            encoding_of(flags.encoding)
    except (MappingError, ValueError) as exc:
        raise fail(str(exc)) from None
    return ReadOptions(flags.delimiter, flags.encoding, flags.date_format, mapping)


@contextmanager
def prepared(
    flags: FileFlags, spec: Any, contacts: str | Path, events: str | Path | None
) -> Iterator[tuple[str, str | None]]:
    """The files as every engine reads them (converted once when they need it).

    An input error inside the block names the original file; it is raised as is,
    for the command to report.
    """
    from leadscore.files.prepare import prepared_inputs
    from leadscore.io import InputError

    options = read_options(flags, spec)
    try:
        with prepared_inputs(
            str(contacts),
            None if events is None else str(events),
            options,
            note=lambda text: err.print(Text(text, style="dim"), highlight=False),
        ) as (c, e):
            assert c is not None
            yield c, e
    except InputError as exc:
        raise fail(str(exc)) from None


# ------------------------------------------------------------ leadscore import


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


@with_options(FileFlags)
def import_command(
    contacts: Annotated[
        Path | None,
        typer.Option("--contacts", "-c", help="Contacts: CSV (any dialect), .xlsx or Parquet."),
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option("--events", "-e", help="Events: CSV (any dialect), .xlsx or Parquet."),
    ] = None,
    db: Annotated[
        str,
        typer.Option(
            "--db",
            envvar="LEADSCORE_DB",
            help="The service's store: a SQLite file (default ./leadscore.db) or a postgresql:// URL.",
        ),
    ] = "leadscore.db",
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="A model whose mapping: section applies."),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects", help="Write every rejected row (file, row, column, reason) as CSV."
        ),
    ] = None,
    chunk: Annotated[
        int, typer.Option("--chunk", min=1, max=10_000, help="Rows per transaction.")
    ] = 5_000,
    files: FileFlags = FileFlags(),
) -> None:
    """Load contacts and events files into the service's store, as the API would.

    Rows are validated and deduplicated (by event_id) by the service's own code;
    each rejected row is listed with its file, row, column and reason and writes
    nothing. Exit code 1 when any row was rejected.
    """
    from leadscore.files.importer import ImportReport, import_contacts, import_events
    from leadscore.files.reader import Source
    from leadscore.io import InputError

    if contacts is None and events is None:
        raise fail("give --contacts and/or --events")
    spec = None
    if model is not None:
        from leadscore.cli.console import load_model_or_exit

        spec = load_model_or_exit(model)
    options = read_options(files, spec)
    try:
        # Every file is opened (and its encoding checked end to end) before any write.
        sources = [
            Source(path, kind, options, verify=True)
            for path, kind in ((contacts, "contacts"), (events, "events"))
            if path is not None
        ]
    except InputError as exc:
        raise fail(str(exc)) from None
    for source in sources:
        from leadscore.files.prepare import describe

        if not source.canonical:
            err.print(Text(describe(source), style="dim"), highlight=False)
    from leadscore.cli.service import _store

    store = _store(db)
    report = ImportReport()
    try:
        with _progress() as bar:
            for source in sources:
                task = bar.add_task(f"{source.kind} {source.path.name}", total=source.total or 1)

                def advance(done: int, task: Any = task) -> None:
                    bar.update(task, completed=done)

                if source.kind == "contacts":
                    import_contacts(store, source, report, advance, chunk=chunk)
                else:
                    import_events(store, source, report, advance, chunk=chunk)
    except InputError as exc:
        raise fail(
            f"{exc} (the rows before it are imported; importing again adds nothing twice)"
        ) from None
    finally:
        store.dispose()
    _summary(report, rejects)
    if report.rejected_count:
        raise typer.Exit(1)


def _summary(report: Any, rejects: Path | None) -> None:
    out.print(
        f"contacts: {report.contacts_created:,} created, {report.contacts_updated:,} updated; "
        f"events: {report.events_accepted:,} accepted, {report.events_duplicate:,} duplicate(s); "
        f"rejected rows: {report.rejected_count:,}",
        highlight=False,
    )
    if not report.rejected:
        return
    report.rejected.sort(key=lambda r: (r.file, r.row))
    table = Table(title="Rejected rows (nothing was written for them)")
    for column in ("file", "row", "column", "reason"):
        table.add_column(column, justify="right" if column == "row" else "left")
    for r in report.rejected[:20]:
        table.add_row(Path(r.file).name, str(r.row), r.column or "", r.reason)
    out.print(table)
    if report.rejected_count > 20 and rejects is None:
        out.print(f"... {report.rejected_count - 20:,} more: write them all with --rejects FILE")
    if rejects is not None:
        from leadscore.io import atomic_path

        with atomic_path(rejects) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "row", "column", "reason"])
            for r in report.rejected:
                writer.writerow([r.file, r.row, r.column or "", r.reason])
        out.print(f"rejected rows written to {rejects}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
