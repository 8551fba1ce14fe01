"""Event ingestion (one by one or in batches) and identification of anonymous visitors.

Each item is validated on its own, so a batch answers item by item and a
rejected item writes nothing while the others go in. Everything an accepted
batch writes (events, anonymous visitors, identity links, the contacts' dirty
markers) commits in one transaction before the answer is sent: an acknowledged
event is a durable event. Idempotency is by ``event_id``: a retried event is
reported as ``duplicate`` and never counted twice.
"""

from __future__ import annotations

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
from sqlalchemy import Connection, Table, bindparam, select, update

from leadscore.service.errors import Conflict, Invalid, NotFound
from leadscore.store import Store, now_us
from leadscore.store.tables import anonymous_visitors, contacts, events

Scalar = str | int | float | bool | None


class EventIn(BaseModel):
    """Something a lead did: a page view, a form, an email click...

    Identify who did it with ``contact_id``, ``email`` or (before the person is
    known) ``anonymous_id``; an event with a contact *and* an anonymous id also
    links that anonymous id to the contact.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: str = Field(min_length=1, max_length=200, description="Unique id; retries reuse it")
    type: str = Field(min_length=1, max_length=100, examples=["page_view"])
    timestamp: AwareDatetime = Field(
        description="ISO 8601 with a zone, e.g. 2026-11-01T14:30:00Z (no zone is rejected)"
    )
    contact_id: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, min_length=3, max_length=320)
    anonymous_id: str | None = Field(None, min_length=1, max_length=200)
    ip: str | None = Field(None, max_length=64)
    properties: dict[str, Scalar] = Field(
        default_factory=dict, examples=[{"url": "/pricing", "referrer": "google"}]
    )

    @model_validator(mode="after")
    def _who(self) -> EventIn:
        if self.contact_id is None and self.email is None and self.anonymous_id is None:
            raise ValueError("give contact_id, email or anonymous_id to say who did it")
        return self


_EVENT = TypeAdapter(EventIn)


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


# Pydantic adds the member type of a failed union to the error location; the
# user knows the field, not our union, so those parts are dropped.
_UNION_TAGS = frozenset({"str", "int", "float", "bool", "constrained-str", "none", "dict", "list"})


def error_field(loc: tuple[Any, ...], prefix: str = "") -> str:
    """``('events', 3, 'timestamp')`` -> ``events[3].timestamp``."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _UNION_TAGS:
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def clean_errors(errors: list[Any], prefix: str = "") -> list[dict[str, str]]:
    """Pydantic errors as ``{field, message}``, one per field."""
    out: dict[str, str] = {}
    for e in errors:
        field = error_field(tuple(e["loc"]), prefix)
        tagged = any(p in _UNION_TAGS for p in e["loc"] if isinstance(p, str))
        message = "must be text, a number, true/false or null" if tagged else e["msg"]
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


def ingest(store: Store, raw_items: list[Any], prefix: str = "events") -> IngestResult:
    """Validate and store events; see the module docstring for the guarantees."""
    return ingest_groups(store, [(raw_items, prefix)])[0]


def ingest_groups(store: Store, groups: list[tuple[list[Any], str]]) -> list[IngestResult]:
    """Several requests' events in ONE transaction (group commit), answered per request.

    Items are processed in order, so an event id seen twice is ``duplicate`` the
    second time whether the first was in the same request or an earlier one.
    """
    validated = [validate_items(raw, prefix) for raw, prefix in groups]
    outcome = [(results, set()) for _, results in validated]  # type: ignore[var-annotated]
    good = [(g, i, ev, groups[g][1]) for g, (items, _) in enumerate(validated) for i, ev in items]
    stamp = now_us()
    event_rows: list[dict[str, Any]] = []
    affected: set[str] = set()
    with store.write() as conn:
        known = _lookup(
            conn,
            contacts.c.contact_id,
            contacts.c.contact_id,
            {e.contact_id for _, _, e, _ in good if e.contact_id},
        )
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
        existing = set(
            _lookup(conn, events.c.event_id, events.c.event_id, {e.event_id for _, _, e, _ in good})
        )
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
                {
                    "event_id": ev.event_id,
                    "contact_id": who,
                    "anonymous_id": ev.anonymous_id,
                    "type": ev.type,
                    "ts_us": ts_us,
                    "properties": ev.properties,
                    "received_us": stamp,
                }
            )
            if who is not None:
                affected.add(who)
                touched.add(who)
            results.append(ItemResult(i, ev.event_id, "accepted", who))
        if visitors:
            _save_visitors(store, conn, visitors, stored_anon, new_links, stamp)
        if new_links:
            linked_now = _attach_history(conn, new_links)
            affected.update(linked_now)
            for g, _i, ev, _ in good:
                if ev.anonymous_id in new_links:
                    outcome[g][1].add(new_links[ev.anonymous_id])
        if event_rows:
            conn.execute(
                dialect_insert(store, events).on_conflict_do_nothing(index_elements=["event_id"]),
                event_rows,
            )
        _mark_dirty(conn, affected)
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
    """

    def __init__(self, store: Store, max_items: int = 20_000):
        import queue
        import threading

        self.store = store
        self.max_items = max_items
        self._queue: queue.Queue[tuple[list[Any], str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="committer", daemon=True)
        self._thread.start()

    def enqueue(self, raw_items: list[Any], prefix: str) -> Future[IngestResult]:
        """Queue a request; the future resolves once its events are committed."""
        done: Future[IngestResult] = Future()
        self._queue.put((raw_items, prefix, done))
        return done

    def submit(self, raw_items: list[Any], prefix: str) -> IngestResult:
        return self.enqueue(raw_items, prefix).result()

    def _run(self) -> None:
        import queue

        while True:
            first = self._queue.get()
            if first is None:
                return
            taken = [first]
            size = len(first[0])
            while size < self.max_items:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this group
                    break
                taken.append(more)
                size += len(more[0])
            self._commit(taken)

    def _commit(self, taken: list[tuple[list[Any], str, Any]]) -> None:
        try:
            results = ingest_groups(self.store, [(items, prefix) for items, prefix, _ in taken])
        except Exception as exc:
            if len(taken) == 1:
                taken[0][2].set_exception(exc)
                return
            # Never let one request's failure fail its neighbours: retry alone.
            for one in taken:
                self._commit([one])
            return
        for (_, _, done), result in zip(taken, results, strict=True):
            done.set_result(result)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(10)


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
        for aid, v in visitors.items()
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


def _attach_history(conn: Connection, links: dict[str, str]) -> set[str]:
    """Give a newly identified visitor's earlier anonymous events to the contact."""
    conn.execute(
        update(events)
        .where(events.c.anonymous_id == bindparam("aid"), events.c.contact_id.is_(None))
        .values(contact_id=bindparam("cid")),
        [{"aid": aid, "cid": cid} for aid, cid in links.items()],
    )
    return set(links.values())


def _mark_dirty(conn: Connection, contact_ids: set[str]) -> None:
    if not contact_ids:
        return
    # executemany of one small statement: cheaper to build than a 1,000-item IN list.
    conn.execute(
        update(contacts)
        .where(contacts.c.contact_id == bindparam("cid"))
        .values(dirty=contacts.c.dirty + 1),
        [{"cid": cid} for cid in sorted(contact_ids)],
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
            _mark_dirty(conn, {who})
    return {"anonymous_id": anonymous_id, "contact_id": who, "events_linked": moved}
