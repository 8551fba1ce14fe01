"""Event ingestion (one by one or in batches) and identification of anonymous visitors.

Each item is validated on its own, so a batch answers item by item and a
rejected item writes nothing while the others go in. Everything an accepted
batch writes (events, anonymous visitors, identity links, the contacts' dirty
markers) commits in one transaction before the answer is sent: an acknowledged
event is a durable event. Idempotency is by ``event_id``: a retried event is
reported as ``duplicate`` and never counted twice.
"""

from __future__ import annotations

import json
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import to_json
from sqlalchemy import Connection, Table, bindparam, select, update

from leadscore.clean import Key, Scalar, Text, shown, storable_message
from leadscore.service.api_mapping import ApiMapping, active_mapping
from leadscore.service.clock import now_us
from leadscore.service.errors import Conflict, Invalid, NotFound
from leadscore.store import Store
from leadscore.store.tables import anonymous_visitors, contacts, events


class EventIn(BaseModel):
    """Something a lead did: a page view, a form, an email click...

    Identify who did it with ``contact_id``, ``email`` or (before the person is
    known) ``anonymous_id``; an event with a contact *and* an anonymous id also
    links that anonymous id to the contact.
    """

    # Text without NUL, finite numbers: checked natively (leadscore.clean).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    event_id: Text = Field(min_length=1, max_length=200, description="Unique id; retries reuse it")
    type: Text = Field(min_length=1, max_length=100, examples=["page_view"])
    timestamp: AwareDatetime = Field(
        description="ISO 8601 with a zone, e.g. 2026-11-01T14:30:00Z (no zone is rejected)"
    )
    contact_id: Text | None = Field(None, min_length=1, max_length=200)
    email: Text | None = Field(None, min_length=3, max_length=320)
    anonymous_id: Text | None = Field(None, min_length=1, max_length=200)
    ip: Text | None = Field(None, max_length=64)
    properties: dict[Key, Scalar] = Field(
        default_factory=dict, examples=[{"url": "/pricing", "referrer": "google"}]
    )

    @model_validator(mode="after")
    def _who(self) -> EventIn:
        if self.contact_id is None and self.email is None and self.anonymous_id is None:
            raise ValueError("give contact_id, email or anonymous_id to say who did it")
        return self


_EVENT = TypeAdapter(EventIn)

MAX_BATCH = 10_000


class BatchIn(BaseModel):
    """The shape of a batch request; each item is validated alone afterwards."""

    model_config = ConfigDict(extra="forbid")

    events: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="Up to 10,000 events, each an EventIn; answered item by item",
        json_schema_extra={"items": {"$ref": "#/components/schemas/EventIn"}},
    )


class _ValidBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


_VALID_BATCH = TypeAdapter(_ValidBatch)
_BATCH_BODY = TypeAdapter(BatchIn)


class BodyInvalid(Exception):
    """The request body as a whole is unusable (malformed JSON, not a batch, too many
    items): answered 422 naming the field, nothing written. ``errors`` are pydantic-style
    error dicts located in the body."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(errors[0]["msg"] if errors else "invalid body")
        self.errors = errors


def parse_batch(body: bytes) -> list[Any]:
    """A raw batch body -> its items: validated ``EventIn`` when the whole batch is good
    (the common case, one pass of pydantic's Rust JSON parser and validator with no
    intermediate Python objects), else the raw items, validated one by one later so
    that the answer is per item."""
    try:
        return list(_VALID_BATCH.validate_json(body).events)
    except ValidationError:
        pass
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise BodyInvalid(
            [{"type": "json_invalid", "loc": (), "msg": reason, "ctx": {"error": reason}}]
        ) from None
    try:
        return list(_BATCH_BODY.validate_python(payload).events)
    except ValidationError as exc:
        # Without the offending input: for a too-long batch that is the whole body.
        raise BodyInvalid(
            [dict(e) for e in exc.errors(include_url=False, include_input=False)]
        ) from None


@dataclass
class ItemResult:
    index: int
    event_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    contact_id: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "event_id": self.event_id,
            "status": self.status,
        }
        if self.contact_id is not None:
            out["contact_id"] = self.contact_id
        if self.errors:
            out["errors"] = self.errors
        return out


@dataclass
class IngestResult:
    items: list[ItemResult]
    contacts: list[str]  # contacts whose scores the accepted events change

    def summary(self) -> dict[str, Any]:
        count = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for item in self.items:
            count[item.status] += 1
        return {
            "accepted": count["accepted"],
            "duplicates": count["duplicate"],
            "rejected": count["rejected"],
            "results": [i.as_dict() for i in self.items],
        }

    def summary_json(self) -> bytes:
        return json.dumps(self.summary()).encode()


# Pydantic adds the member type of a failed union to the error location; the
# user knows the field, not our union, so those parts are dropped.
_UNION_TAGS = frozenset(
    {"str", "int", "float", "bool", "constrained-str", "constrained-int", "none", "dict", "list"}
)


def error_field(loc: tuple[Any, ...], prefix: str = "") -> str:
    """``('events', 3, 'timestamp')`` -> ``events[3].timestamp``."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _UNION_TAGS:
            continue
        else:
            part = shown(str(part))  # a key with a NUL is named, escaped
            out += f".{part}" if out else part
    return out


def clean_errors(errors: list[Any], prefix: str = "") -> list[dict[str, str]]:
    """Pydantic errors as ``{field, message}``, one per field."""
    out: dict[str, str] = {}
    said: set[str] = set()  # fields whose message is a specific one
    for e in errors:
        field = error_field(tuple(e["loc"]), prefix)
        tagged = any(p in _UNION_TAGS for p in e["loc"] if isinstance(p, str))
        specific = storable_message(e)  # NUL, NaN, a lone surrogate: said plainly
        if specific is not None:
            if field not in said:
                out[field] = specific
                said.add(field)
            continue
        message = "must be text, a number, true/false or null" if tagged else e["msg"]
        message = message.removeprefix("Value error, ")
        out.setdefault(field, message)
    return [{"field": f, "message": m} for f, m in out.items()]


def validate_items(
    raw: list[Any], prefix: str
) -> tuple[list[tuple[int, EventIn]], list[ItemResult]]:
    good: list[tuple[int, EventIn]] = []
    bad: list[ItemResult] = []
    for i, item in enumerate(raw):
        if isinstance(item, EventIn):  # already validated by the route
            good.append((i, item))
            continue
        try:
            good.append((i, _EVENT.validate_python(item)))
        except ValidationError as exc:
            event_id = item.get("event_id") if isinstance(item, dict) else None
            bad.append(
                ItemResult(
                    i,
                    event_id if isinstance(event_id, str) else None,
                    "rejected",
                    errors=clean_errors(exc.errors(), f"{prefix}[{i}]"),
                )
            )
    return good, bad


def dialect_insert(store: Store, table: Table) -> Any:
    if store.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _lookup(conn: Connection, key: Any, value: Any, wanted: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if not wanted:
        return found
    items = sorted(wanted)
    for start in range(0, len(items), 5_000):
        part = items[start : start + 5_000]
        found.update({r[0]: r[1] for r in conn.execute(select(key, value).where(key.in_(part)))})
    return found


def _pg_lookup(
    conn: Connection, contact_ids: set[str], event_ids: set[str]
) -> tuple[set[str], set[str]]:
    """Which of these contacts exist and which of these events are stored already."""
    rows = conn.exec_driver_sql(
        "SELECT true, contact_id FROM contacts WHERE contact_id = ANY(%s::text[]) "
        "UNION ALL SELECT false, event_id FROM events WHERE event_id = ANY(%s::text[])",
        (sorted(contact_ids), sorted(event_ids)),
    )
    known: set[str] = set()
    existing: set[str] = set()
    for is_contact, value in rows:
        (known if is_contact else existing).add(value)
    return known, existing


def ingest(store: Store, raw_items: list[Any] | bytes, prefix: str = "events") -> IngestResult:
    """Validate and store events (a list, or a batch request's raw body); see the module
    docstring for the guarantees."""
    items = parse_batch(raw_items) if isinstance(raw_items, bytes) else raw_items
    return ingest_groups(store, [(items, prefix)])[0]


def _mapped(mapping: ApiMapping, ev: EventIn) -> EventIn:
    """The event with its type and property names as the active model calls them."""
    kind = mapping.event_type(ev.type)
    properties = mapping.event_properties(ev.properties)
    if kind == ev.type and properties is ev.properties:
        return ev
    return ev.model_copy(update={"type": kind, "properties": properties})


def ingest_groups(store: Store, groups: list[tuple[list[Any], str]]) -> list[IngestResult]:
    """Several requests' events in ONE transaction (group commit), answered per request.

    Items are processed in order, so an event id seen twice is ``duplicate`` the
    second time whether the first was in the same request or an earlier one.
    """
    validated = [validate_items(raw, prefix) for raw, prefix in groups]
    outcome = [(results, set()) for _, results in validated]  # type: ignore[var-annotated]
    good = [(g, i, ev, groups[g][1]) for g, (items, _) in enumerate(validated) for i, ev in items]
    stamp = now_us()
    event_rows: list[tuple[Any, ...]] = []
    affected: set[str] = set()
    with store.write() as conn:
        mapping = active_mapping(conn)
        if mapping is not None:
            good = [(g, i, _mapped(mapping, ev), p) for g, i, ev, p in good]
        wanted_contacts = {e.contact_id for _, _, e, _ in good if e.contact_id}
        wanted_events = {e.event_id for _, _, e, _ in good}
        if store.dialect == "postgresql":
            # One round trip for both lookups: on a busy machine each round trip
            # is a wake-up of the server process, and the commit waits for all.
            known, existing = _pg_lookup(conn, wanted_contacts, wanted_events)
        else:
            known = set(
                _lookup(conn, contacts.c.contact_id, contacts.c.contact_id, wanted_contacts)
            )
            existing = set(_lookup(conn, events.c.event_id, events.c.event_id, wanted_events))
        by_email = _lookup(
            conn,
            contacts.c.email,
            contacts.c.contact_id,
            {e.email.lower() for _, _, e, _ in good if e.email and not e.contact_id},
        )
        anon_ids = {e.anonymous_id for _, _, e, _ in good if e.anonymous_id}
        anon = _lookup(
            conn, anonymous_visitors.c.anonymous_id, anonymous_visitors.c.contact_id, anon_ids
        )
        stored_anon = set(anon)
        new_links: dict[str, str] = {}
        visitors: dict[str, dict[str, Any]] = {}
        in_batch: set[str] = set()
        for g, i, ev, prefix in good:
            results, touched = outcome[g]
            who: str | None = None
            problem: tuple[str, str] | None = None
            if ev.contact_id is not None:
                who = ev.contact_id if ev.contact_id in known else None
                if who is None:
                    problem = ("contact_id", f"unknown contact '{ev.contact_id}' (upsert it first)")
            elif ev.email is not None:
                who = by_email.get(ev.email.lower())
                if who is None:
                    problem = ("email", f"no contact has email '{ev.email}' (upsert it first)")
            if problem is None and ev.anonymous_id is not None:
                linked = anon.get(ev.anonymous_id)
                if who is None:
                    who = linked
                elif linked is not None and linked != who:
                    problem = (
                        "anonymous_id",
                        f"anonymous id '{ev.anonymous_id}' is already linked to another contact",
                    )
            if problem is not None:
                results.append(
                    ItemResult(
                        i,
                        ev.event_id,
                        "rejected",
                        errors=[{"field": f"{prefix}[{i}].{problem[0]}", "message": problem[1]}],
                    )
                )
                continue
            if ev.event_id in existing or ev.event_id in in_batch:
                results.append(ItemResult(i, ev.event_id, "duplicate", who))
                continue
            in_batch.add(ev.event_id)
            ts_us = int(ev.timestamp.timestamp() * 1_000_000)
            if ev.anonymous_id is not None:
                if who is not None and anon.get(ev.anonymous_id) is None:
                    anon[ev.anonymous_id] = who  # later items follow the new link
                    new_links[ev.anonymous_id] = who
                v = visitors.setdefault(
                    ev.anonymous_id, {"first": ts_us, "last": ts_us, "ip": ev.ip}
                )
                v["first"], v["last"] = min(v["first"], ts_us), max(v["last"], ts_us)
                v["ip"] = ev.ip or v["ip"]
            event_rows.append(
                (
                    ev.event_id,
                    who,
                    ev.anonymous_id,
                    ev.type,
                    ts_us,
                    to_json(ev.properties).decode(),
                    stamp,
                )
            )
            if who is not None:
                affected.add(who)
                touched.add(who)
            results.append(ItemResult(i, ev.event_id, "accepted", who))
        affected.update(new_links.values())
        # Lock the contacts first, in contact-id order, before anything that checks a
        # foreign key to them: PostgreSQL writers (the scorer, other workers) then
        # always meet in the same order and cannot deadlock.
        _mark_dirty(store, conn, affected)
        if visitors:
            _save_visitors(store, conn, visitors, stored_anon, new_links, stamp)
        if new_links:
            _attach_history(conn, new_links)
            for g, _i, ev, _ in good:
                if ev.anonymous_id in new_links:
                    outcome[g][1].add(new_links[ev.anonymous_id])
        if event_rows:
            stored = _insert_events(store, conn, event_rows)
            if stored is not None and len(stored) < len(event_rows):
                # Another worker process committed some of these ids first (PostgreSQL
                # runs several ingest transactions at once): they are duplicates here.
                for results, _ in outcome:
                    for r in results:
                        if r.status == "accepted" and r.event_id not in stored:
                            r.status = "duplicate"
    out = []
    for results, touched in outcome:
        results.sort(key=lambda r: r.index)
        out.append(IngestResult(results, sorted(touched)))
    return out


class Committer:
    """Group commit: concurrent ingest requests share one transaction.

    Each commit costs an fsync and (on SQLite) the single write lock, so with many
    small requests in flight the commit, not the work, is the limit. Requests
    queue here; one thread takes everything queued (up to ``max_items`` events),
    writes it in one transaction and answers each request with its own results
    once that transaction has committed.

    On PostgreSQL two such threads run: while one waits for the server (a round
    trip, the commit's WAL flush), the other prepares and sends the next group.
    Concurrent transactions are safe there (exact duplicates by ``RETURNING``, one
    lock order). SQLite has one writer at a time, so one thread.
    """

    def __init__(self, store: Store, max_items: int = 20_000, threads: int | None = None):
        import queue
        import threading

        self.store = store
        self.max_items = max_items
        if threads is None:
            threads = 2 if store.dialect == "postgresql" else 1
        self._queue: queue.Queue[tuple[list[Any] | bytes, str, Any] | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._run, name=f"committer-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def enqueue(self, raw_items: list[Any] | bytes, prefix: str) -> Future[IngestResult]:
        """Queue a request; the future resolves once its events are committed.

        ``raw_items`` may be a batch request's raw body: it is then parsed here, in
        the committer thread, not on the event loop that answers score reads. A body
        that is not a batch fails its future with :class:`BodyInvalid`.
        """
        done: Future[IngestResult] = Future()
        self._queue.put((raw_items, prefix, done))
        return done

    def submit(self, raw_items: list[Any] | bytes, prefix: str) -> IngestResult:
        return self.enqueue(raw_items, prefix).result()

    def _run(self) -> None:
        import queue

        while True:
            first = self._queue.get()
            if first is None:
                return
            taken = [first]
            size = _size(first[0])
            while size < self.max_items:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this group
                    break
                taken.append(more)
                size += _size(more[0])
            self._commit(self._parse(taken))

    @staticmethod
    def _parse(taken: list[tuple[Any, str, Any]]) -> list[tuple[list[Any], str, Any]]:
        parsed = []
        for items, prefix, done in taken:
            if isinstance(items, bytes):
                try:
                    items = parse_batch(items)
                except Exception as exc:  # BodyInvalid, or anything unexpected
                    done.set_exception(exc)
                    continue
            parsed.append((items, prefix, done))
        return parsed

    def _commit(self, taken: list[tuple[list[Any], str, Any]], attempt: int = 1) -> None:
        if not taken:
            return
        try:
            results = ingest_groups(self.store, [(items, prefix) for items, prefix, _ in taken])
        except Exception as exc:
            if len(taken) == 1:
                if attempt < 3 and _transient(exc):
                    self._commit(taken, attempt + 1)  # rolled back whole: safe to redo
                else:
                    taken[0][2].set_exception(exc)
                return
            # Never let one request's failure fail its neighbours: retry alone.
            for one in taken:
                self._commit([one])
            return
        for (_, _, done), result in zip(taken, results, strict=True):
            done.set_result(result)

    def close(self) -> None:
        """Commit what is queued, then stop (one stop mark per thread)."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(10)


def _transient(exc: BaseException) -> bool:
    """A PostgreSQL deadlock or serialisation failure: the transaction was rolled back
    and running it again is the documented remedy."""
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40P01", "40001")


def _size(items: list[Any] | bytes) -> int:
    """Events in a queued request (for a raw body, counted without parsing it)."""
    return max(1, items.count(b'"event_id"')) if isinstance(items, bytes) else len(items)


def _save_visitors(
    store: Store,
    conn: Connection,
    visitors: dict[str, dict[str, Any]],
    known: set[str],
    links: dict[str, str],
    stamp: int,
) -> None:
    rows = [
        {
            "anonymous_id": aid,
            "contact_id": links.get(aid),
            "first_seen_us": v["first"],
            "last_seen_us": v["last"],
            "ip": v["ip"],
            "fields": {},
            "identified_us": stamp if aid in links else None,
        }
        for aid, v in sorted(visitors.items())  # one lock order for every writer
    ]
    conn.execute(
        dialect_insert(store, anonymous_visitors).on_conflict_do_nothing(
            index_elements=["anonymous_id"]
        ),
        rows,
    )
    seen_before = [r for r in rows if r["anonymous_id"] in known]
    if seen_before:
        conn.execute(
            update(anonymous_visitors)
            .where(anonymous_visitors.c.anonymous_id == bindparam("aid"))
            .values(last_seen_us=bindparam("last")),
            [{"aid": r["anonymous_id"], "last": r["last_seen_us"]} for r in seen_before],
        )
    linked_before = [r for r in rows if r["anonymous_id"] in known and r["contact_id"]]
    if linked_before:
        conn.execute(
            update(anonymous_visitors)
            .where(
                anonymous_visitors.c.anonymous_id == bindparam("aid"),
                anonymous_visitors.c.contact_id.is_(None),
            )
            .values(contact_id=bindparam("cid"), identified_us=stamp),
            [{"aid": r["anonymous_id"], "cid": r["contact_id"]} for r in linked_before],
        )


def _attach_history(conn: Connection, links: dict[str, str]) -> None:
    """Give a newly identified visitor's earlier anonymous events to the contact."""
    conn.execute(
        update(events)
        .where(events.c.anonymous_id == bindparam("aid"), events.c.contact_id.is_(None))
        .values(contact_id=bindparam("cid")),
        [{"aid": aid, "cid": cid} for aid, cid in sorted(links.items())],
    )


_EVENT_COLUMNS = "event_id, contact_id, anonymous_id, type, ts_us, properties, received_us"


def _insert_events(store: Store, conn: Connection, rows: list[tuple[Any, ...]]) -> set[str] | None:
    """Insert event rows (ignoring ids already stored). On PostgreSQL, returns the ids
    this transaction actually inserted; on SQLite (one writer at a time, so the earlier
    lookup is exact) returns None.

    The statements are written by hand because SQLAlchemy's per-row parameter
    processing was the largest cost of a 1,000-event batch; values still go only as
    bound parameters. Rows go in event-id order so that concurrent transactions take
    the unique-index locks in the same order (no deadlock).
    """
    rows.sort(key=lambda r: r[0])
    if store.dialect == "postgresql":
        columns = list(zip(*rows, strict=True))
        found = conn.exec_driver_sql(
            f"INSERT INTO events ({_EVENT_COLUMNS}) "
            "SELECT e, c, a, t, ts, p::json, r FROM unnest("
            "%s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[], "
            "%s::bigint[]) AS u(e, c, a, t, ts, p, r) "
            "ORDER BY e ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            tuple(list(c) for c in columns),
        )
        return {r[0] for r in found}
    conn.exec_driver_sql(
        f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (event_id) DO NOTHING",
        rows,
    )
    return None


def _mark_dirty(store: Store, conn: Connection, contact_ids: set[str]) -> None:
    """Bump the contacts' ``dirty`` counters: one statement per 5,000 contacts, rows
    locked in contact-id order (the order every writer uses)."""
    if not contact_ids:
        return
    ids = sorted(contact_ids)
    for start in range(0, len(ids), 5_000):
        part = ids[start : start + 5_000]
        if store.dialect == "postgresql":
            conn.exec_driver_sql(
                "UPDATE contacts SET dirty = contacts.dirty + 1 FROM ("
                "SELECT contact_id FROM contacts WHERE contact_id = ANY(%s::text[]) "
                "ORDER BY contact_id FOR UPDATE) AS locked "
                "WHERE contacts.contact_id = locked.contact_id",
                (part,),
            )
        else:
            marks = ", ".join("?" * len(part))
            conn.exec_driver_sql(
                f"UPDATE contacts SET dirty = dirty + 1 WHERE contact_id IN ({marks})",
                tuple(part),
            )


def identify(
    store: Store, anonymous_id: str, contact_id: str | None = None, email: str | None = None
) -> dict[str, Any]:
    """Link an anonymous visitor to a known contact; its earlier activity then scores."""
    if contact_id is None and email is None:
        raise Invalid("give contact_id or email", "contact_id")
    stamp = now_us()
    with store.write() as conn:
        if contact_id is not None:
            who = conn.execute(
                select(contacts.c.contact_id).where(contacts.c.contact_id == contact_id)
            ).scalar()
            if who is None:
                raise NotFound(f"no contact '{contact_id}'", "contact_id")
        else:
            assert email is not None
            who = conn.execute(
                select(contacts.c.contact_id).where(contacts.c.email == email.strip().lower())
            ).scalar()
            if who is None:
                raise NotFound(f"no contact has email '{email}'", "email")
        visitor = conn.execute(
            select(anonymous_visitors).where(anonymous_visitors.c.anonymous_id == anonymous_id)
        ).first()
        if visitor is not None and visitor.contact_id not in (None, who):
            raise Conflict(
                f"anonymous id '{anonymous_id}' is already linked to another contact",
                "anonymous_id",
            )
        if visitor is None:
            conn.execute(
                dialect_insert(store, anonymous_visitors).values(
                    anonymous_id=anonymous_id,
                    contact_id=who,
                    first_seen_us=stamp,
                    last_seen_us=stamp,
                    fields={},
                    identified_us=stamp,
                )
            )
        elif visitor.contact_id is None:
            conn.execute(
                update(anonymous_visitors)
                .where(anonymous_visitors.c.anonymous_id == anonymous_id)
                .values(contact_id=who, identified_us=stamp)
            )
        moved = conn.execute(
            update(events)
            .where(events.c.anonymous_id == anonymous_id, events.c.contact_id.is_(None))
            .values(contact_id=who)
        ).rowcount
        if moved:
            _mark_dirty(store, conn, {who})
    return {"anonymous_id": anonymous_id, "contact_id": who, "events_linked": moved}
