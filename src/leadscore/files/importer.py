"""`leadscore import`: contacts and events files into the service's store.

Rows go through the service's own code: contacts through the API's ``ContactIn``
and :func:`leadscore.service.contacts.upsert_contact`, events through
:func:`leadscore.service.events.ingest`, so a file row is validated, deduplicated
(by ``event_id``: importing a file twice adds nothing) and committed exactly as
the same data sent to ``POST /v1/contacts`` and ``/v1/events/batch``. Events are
written in chunks of one transaction each; a rejected row writes nothing and is
reported with its file, row, column and reason, and the other rows go in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from leadscore.files.reader import Row, Source
from leadscore.io import InputError, parse_timestamp
from leadscore.store import Store

CHUNK = 5_000
KEEP_REJECTED = 100_000  # reported rows kept in memory; the count goes on
# Columns that say who a row is about or what it is, not profile fields/properties.
CONTACT_KEYS = ("contact_id", "email", "account_id", "owner")
EVENT_KEYS = ("event_id", "type", "timestamp", "contact_id", "email", "anonymous_id", "ip")

Progress = Callable[[int], None]


@dataclass
class Rejected:
    file: str
    row: int
    column: str | None
    reason: str


@dataclass
class ImportReport:
    contacts_created: int = 0
    contacts_updated: int = 0
    events_accepted: int = 0
    events_duplicate: int = 0
    rejected_count: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def reject(self, source: Source, row: int, column: str | None, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < KEEP_REJECTED:
            self.rejected.append(
                Rejected(str(source.path), row, source.column_name(column), reason)
            )


def _values(record: dict[str, str]) -> dict[str, str]:
    """A row's non-empty cells: an empty cell is a missing value, as in file scoring."""
    return {k: v.strip() for k, v in record.items() if v is not None and v.strip() != ""}


def _rows(source: Source, report: ImportReport, progress: Progress | None) -> Iterator[Row]:
    """The rows to import; structure problems (a short row, a bad date) are rejected."""
    for i, row in enumerate(source.rows()):
        if progress is not None and i % 1_000 == 0:
            progress(source.done())
        if row.problem is not None:
            report.reject(source, row.number, row.problem[0], row.problem[1])
            continue
        if row.record:
            yield row
    if progress is not None:
        progress(source.total)


def import_contacts(
    store: Store,
    source: Source,
    report: ImportReport,
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> None:
    """Upsert every contact row, ``chunk`` rows a transaction, as ``POST /v1/contacts`` does."""
    from leadscore.api.routes import ContactIn  # the API's own validation

    if "contact_id" not in source.header and "email" not in source.header:
        raise InputError(
            source.path,
            "a contacts file needs a contact_id or an email column; "
            f"found {', '.join(source.file_header)} (use --preset or --mapping)",
        )
    batch: list[tuple[int, Any]] = []
    for row in _rows(source, report, progress):
        values = _values(row.record)
        body: dict[str, Any] = {k: values.pop(k) for k in CONTACT_KEYS if k in values}
        body["fields"] = values
        try:
            batch.append((row.number, ContactIn.model_validate(body)))
        except ValidationError as exc:
            error = exc.errors()[0]
            names = [str(p) for p in error["loc"] if isinstance(p, str)]
            column = (
                names[1]
                if names[:1] == ["fields"] and len(names) > 1
                else names[0]
                if names
                else None
            )
            report.reject(source, row.number, column, error["msg"])
            continue
        if len(batch) >= chunk:
            _upsert(store, source, batch, report)
    _upsert(store, source, batch, report)


def _upsert(
    store: Store, source: Source, batch: list[tuple[int, Any]], report: ImportReport
) -> None:
    """One transaction for the batch; a contact the service refuses is skipped (its checks
    run before it writes anything) and reported."""
    from leadscore.service.contacts import upsert_contact_in
    from leadscore.service.errors import Conflict, Invalid, NotFound
    from leadscore.store import now_us

    if not batch:
        return
    stamp = now_us()
    with store.write() as conn:
        for number, c in batch:
            try:
                _, created = upsert_contact_in(
                    conn, stamp, c.contact_id, c.email, c.account_id, c.owner, c.fields
                )
            except (Invalid, Conflict, NotFound) as exc:
                report.reject(source, number, getattr(exc, "field", None), str(exc))
                continue
            if created:
                report.contacts_created += 1
            else:
                report.contacts_updated += 1
    batch.clear()


_ITEM_FIELD = re.compile(r"^\w*\[(\d+)\]\.?(?:properties\.)?([^.\[]*)")


def import_events(
    store: Store,
    source: Source,
    report: ImportReport,
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> None:
    """Ingest every event row in chunks (one transaction each, as a batch request)."""
    from leadscore.service.events import ingest

    source.require(("event_id", "type", "timestamp"))
    items: list[dict[str, Any]] = []
    numbers: list[int] = []

    def flush() -> None:
        if not items:
            return
        result = ingest(store, items, prefix="events")
        for item in result.items:
            number = numbers[item.index]
            if item.status == "accepted":
                report.events_accepted += 1
            elif item.status == "duplicate":
                report.events_duplicate += 1
            else:
                for error in item.errors or [{"field": "", "message": "rejected"}]:
                    match = _ITEM_FIELD.match(error.get("field", ""))
                    column = match.group(2) if match and match.group(2) else None
                    report.reject(source, number, column, error["message"])
                    break
        items.clear()
        numbers.clear()

    for row in _rows(source, report, progress):
        values = _values(row.record)
        item: dict[str, Any] = {k: values.pop(k) for k in EVENT_KEYS if k in values}
        if "timestamp" in item:
            try:
                item["timestamp"] = parse_timestamp(item["timestamp"])
            except ValueError as exc:
                report.reject(source, row.number, "timestamp", str(exc))
                continue
        item["properties"] = values
        items.append(item)
        numbers.append(row.number)
        if len(items) >= chunk:
            flush()
    flush()
