"""An in-memory index of the columns the lead queue filters and sorts on.

Why: the queue sorts by grade priority then score and filters on any mix of grade,
stage, owner, surge and a score threshold. With 100,000 leads no single index in
the store's schema covers that mix, and every fallback reads the wide ``contacts``
rows (profile and explanation JSON, ~2 kB each): about a second per page view on
the benchmark machine. This index keeps only the narrow columns (a few bytes per
lead, ~10 MB for 100,000 leads) as numpy arrays, so a filtered, sorted page costs
milliseconds; the page's 50 rows are then read from the store by primary key.

Freshness: every change the queue can see leaves a row in an append-only table of
the store: a rescoring that changes anything (grade, scores, surge, predictive
probability) writes ``score_snapshots``, a stage change or a new contact writes
``transitions``. Before each query the index reads the highest id of both
(primary-key lookups) and re-reads only the contacts named by newer rows. Changes that leave no such row (an erasure, an owner change with no
model active) are caught by a row-count check on each query and a full reload every
``max_age`` seconds.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from sqlalchemy import func, select

from leadscore.store import Store
from leadscore.store.tables import contact_scores, contacts, score_snapshots, transitions

_IN = 5_000  # ids per IN (...) list, below SQLite's variable limit


class _Vocab:
    """Strings as small integer codes (code 0 is None)."""

    def __init__(self) -> None:
        self.values: list[str | None] = [None]
        self.codes: dict[str | None, int] = {None: 0}

    def code(self, value: str | None) -> int:
        found = self.codes.get(value)
        if found is None:
            found = self.codes[value] = len(self.values)
            self.values.append(value)
        return found

    def lookup(self, value: str | None) -> int | None:
        return self.codes.get(value)


@dataclass(frozen=True)
class Match:
    ids: list[str]
    total: int


class QueueIndex:
    """Narrow columns of every contact, refreshed incrementally from the store."""

    _by_store: ClassVar[weakref.WeakKeyDictionary[Store, QueueIndex]] = weakref.WeakKeyDictionary()
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, store: Store, max_age: float = 600.0, reload_share: float = 0.25):
        self.store = store
        self.max_age = max_age
        self.reload_share = reload_share
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._snap_id = self._move_id = -1
        self.grades, self.stages, self.owners = _Vocab(), _Vocab(), _Vocab()
        self.score_names: list[str] = []
        self._empty()

    @classmethod
    def for_store(cls, store: Store) -> QueueIndex:
        with cls._registry_lock:
            index = cls._by_store.get(store)
            if index is None:
                index = cls._by_store[store] = cls(store)
            return index

    # -- storage ---------------------------------------------------------------
    def _empty(self) -> None:
        self.ids = np.empty(0, dtype=object)
        self.grade = np.empty(0, dtype=np.int32)
        self.stage = np.empty(0, dtype=np.int32)
        self.owner = np.empty(0, dtype=np.int32)
        self.surging = np.empty(0, dtype=bool)
        # The champion predictive model's stored probability (NaN: none stored).
        self.probability = np.empty(0, dtype=float)
        self.alive = np.empty(0, dtype=bool)
        self.scores: dict[str, np.ndarray] = {}
        self.pos: dict[str, int] = {}

    def _score_array(self, name: str) -> np.ndarray:
        arr = self.scores.get(name)
        if arr is None:
            arr = self.scores[name] = np.full(len(self.ids), np.nan)
        return arr

    def _grow(self, new_ids: Sequence[str]) -> None:
        n = len(new_ids)
        if not n:
            return
        start = len(self.ids)
        self.ids = np.concatenate([self.ids, np.array(list(new_ids), dtype=object)])
        self.grade = np.concatenate([self.grade, np.zeros(n, np.int32)])
        self.stage = np.concatenate([self.stage, np.zeros(n, np.int32)])
        self.owner = np.concatenate([self.owner, np.zeros(n, np.int32)])
        self.surging = np.concatenate([self.surging, np.zeros(n, bool)])
        self.probability = np.concatenate([self.probability, np.full(n, np.nan)])
        self.alive = np.concatenate([self.alive, np.zeros(n, bool)])
        for name in list(self.scores):
            self.scores[name] = np.concatenate([self.scores[name], np.full(n, np.nan)])
        for i, cid in enumerate(new_ids):
            self.pos[cid] = start + i

    # -- loading ---------------------------------------------------------------
    def _marks(self, conn: Any) -> tuple[int, int, int]:
        snap = conn.execute(select(func.max(score_snapshots.c.id))).scalar() or 0
        move = conn.execute(select(func.max(transitions.c.id))).scalar() or 0
        count = conn.execute(select(func.count()).select_from(contacts)).scalar_one()
        return int(snap), int(move), int(count)

    def _apply(self, conn: Any, rows: Iterable[Any], seen: set[str] | None) -> None:
        rows = list(rows)
        self._grow([r[0] for r in rows if r[0] not in self.pos])
        for cid, grade, stage, owner, surging, probability in rows:
            i = self.pos[cid]
            self.probability[i] = np.nan if probability is None else probability
            self.grade[i] = self.grades.code(grade)
            self.stage[i] = self.stages.code(stage)
            self.owner[i] = self.owners.code(owner)
            self.surging[i] = bool(surging)
            self.alive[i] = True
        if seen is not None:
            # Contacts asked for but not found were erased.
            for cid in seen.difference(r[0] for r in rows):
                if cid in self.pos:
                    self.alive[self.pos[cid]] = False

    def _apply_scores(self, rows: Iterable[Any], cleared: Sequence[str] = ()) -> None:
        # A rescoring replaces all of a contact's scores: clear, then set.
        positions = [self.pos[cid] for cid in cleared if cid in self.pos]
        for arr in self.scores.values():
            arr[positions] = np.nan
        for cid, name, value in rows:
            i = self.pos.get(cid)
            if i is not None:
                self._score_array(name)[i] = value

    def _full(self, conn: Any, marks: tuple[int, int, int]) -> None:
        self._empty()
        c = contacts.c
        self._apply(
            conn,
            conn.execute(
                select(c.contact_id, c.grade, c.stage, c.owner, c.surging, c.probability).order_by(
                    c.contact_id
                )
            ),
            None,
        )
        self._apply_scores(
            conn.execute(
                select(contact_scores.c.contact_id, contact_scores.c.score, contact_scores.c.value)
            )
        )
        self._snap_id, self._move_id, _ = marks
        self._loaded_at = time.monotonic()

    def _incremental(self, conn: Any, marks: tuple[int, int, int]) -> bool:
        """Re-read the contacts changed since the last refresh; False if a reload is due."""
        snap, move, _ = marks
        changed: set[str] = set()
        if snap > self._snap_id:
            changed.update(
                conn.execute(
                    select(score_snapshots.c.contact_id)
                    .where(score_snapshots.c.id > self._snap_id)
                    .distinct()
                ).scalars()
            )
        if move > self._move_id:
            changed.update(
                conn.execute(
                    select(transitions.c.contact_id)
                    .where(transitions.c.id > self._move_id)
                    .distinct()
                ).scalars()
            )
        if len(changed) > self.reload_share * max(len(self.pos), 1):
            return False
        c = contacts.c
        ids = sorted(changed)
        for start in range(0, len(ids), _IN):
            part = ids[start : start + _IN]
            self._apply(
                conn,
                conn.execute(
                    select(c.contact_id, c.grade, c.stage, c.owner, c.surging, c.probability).where(
                        c.contact_id.in_(part)
                    )
                ),
                set(part),
            )
            self._apply_scores(
                conn.execute(
                    select(
                        contact_scores.c.contact_id, contact_scores.c.score, contact_scores.c.value
                    ).where(contact_scores.c.contact_id.in_(part))
                ),
                cleared=part,
            )
        self._snap_id, self._move_id = snap, move
        return True

    def refresh(self) -> None:
        with self._lock, self.store.read() as conn:
            marks = self._marks(conn)
            stale = time.monotonic() - self._loaded_at > self.max_age
            if stale or self._snap_id < 0 or not self._incremental(conn, marks):
                self._full(conn, marks)
            elif int(self.alive.sum()) != marks[2]:
                # A contact vanished (erasure) or appeared without a trace row.
                self._full(conn, marks)

    # -- queries ---------------------------------------------------------------
    def match(
        self,
        *,
        priority: Sequence[str],
        sort_score: str | None,
        grade: str | None = None,
        stages: Sequence[str] | None = None,
        exclude_stages: Sequence[str] = (),
        owner: str | None = None,
        unassigned: bool = False,
        surging: bool = False,
        score: str | None = None,
        min_score: float | None = None,
        by_probability: bool = False,
        min_probability: float | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Match:
        """Ids of one page of matching leads in priority order, and how many match.

        Priority: the position of the grade in ``priority`` (unknown grades after
        known ones, ungraded last), then ``sort_score`` descending (leads without
        it last), then contact id. With ``by_probability``: the stored probability
        descending (leads without one last), then contact id.
        """
        self.refresh()
        with self._lock:
            mask = self.alive.copy()
            if grade is not None:
                code = self.grades.lookup(grade)
                mask &= self.grade == (code if code is not None else -1)
            if stages is not None:
                codes = [c for s in stages if (c := self.stages.lookup(s)) is not None]
                mask &= np.isin(self.stage, codes)
            if exclude_stages:
                codes = [c for s in exclude_stages if (c := self.stages.lookup(s)) is not None]
                mask &= ~np.isin(self.stage, codes)
            if unassigned:
                mask &= self.owner == 0
            elif owner is not None:
                code = self.owners.lookup(owner)
                mask &= self.owner == (code if code is not None else -1)
            if surging:
                mask &= self.surging
            if score is not None and min_score is not None:
                values = self.scores.get(score)
                if values is None:
                    mask &= False
                else:
                    with np.errstate(invalid="ignore"):
                        mask &= values >= min_score
            if min_probability is not None:
                with np.errstate(invalid="ignore"):
                    mask &= self.probability >= min_probability
            idx = np.flatnonzero(mask)
            total = len(idx)
            if total == 0 or offset >= total:
                return Match([], total)
            # Rank of each grade code: its place in the priority list; grades the
            # model does not list come next (alphabetically), ungraded (code 0) last.
            known = {g: i for i, g in enumerate(priority)}
            others = sorted(v for v in self.grades.values[1:] if v is not None and v not in known)
            lut = np.empty(len(self.grades.values), dtype=np.int64)
            for code, value in enumerate(self.grades.values):
                if value is None:
                    lut[code] = len(known) + len(others)
                elif value in known:
                    lut[code] = known[value]
                else:
                    lut[code] = len(known) + others.index(value)
            rank = lut[self.grade[idx]]
            if by_probability:
                rank = np.zeros(total, dtype=np.int64)
                values = self.probability
            else:
                values = self.scores.get(sort_score) if sort_score else None
            key = -values[idx] if values is not None else np.zeros(total)
            key = np.where(np.isnan(key), np.inf, key)
            # Stable sort by (rank, -score); ties keep the load order (contact id).
            order = np.lexsort((key, rank))
            page = idx[order[offset : offset + limit]]
            return Match([str(x) for x in self.ids[page]], total)

    def grade_counts(self) -> dict[str | None, int]:
        """Leads per combined grade (None: not graded)."""
        self.refresh()
        with self._lock:
            counts = np.bincount(self.grade[self.alive], minlength=len(self.grades.values))
            return {self.grades.values[c]: int(n) for c, n in enumerate(counts) if n}

    def warm(self) -> None:
        """Load in the background if never loaded (the first full load reads every row)."""
        if self._snap_id >= 0 or self._warming:
            return
        self._warming = True
        threading.Thread(target=self.refresh, name="queue-index-warm", daemon=True).start()

    _warming = False

    def any_probability(self) -> bool:
        """Whether any stored lead has a predictive probability (the queue shows the column)."""
        self.refresh()
        with self._lock:
            return bool(np.any(~np.isnan(self.probability[self.alive])))

    def present(self) -> tuple[list[str], list[str]]:
        """Stages and owners that occur among the stored leads (for the filter menus)."""
        self.refresh()
        with self._lock:
            live_stages = set(np.unique(self.stage[self.alive]).tolist())
            live_owners = set(np.unique(self.owner[self.alive]).tolist())
            stages = [v for c, v in enumerate(self.stages.values) if c in live_stages and v]
            owners = [v for c, v in enumerate(self.owners.values) if c in live_owners and v]
        return stages, owners
