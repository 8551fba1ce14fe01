"""One running service: the store, the scoring engine and the background workers.

Workers (each a daemon thread):

* the **scorer** rescoring dirty contacts (woken right after each ingest commit)
  and, every ``clock_interval`` seconds, the contacts whose scores are due (scores
  follow the clock: see :mod:`leadscore.service.scoring`);
* the **webhook sender** posting due deliveries;
* the **rescorer** running full rescoring jobs after a model activation;
* the **CRM sync** draining the CRM outbox when a CRM config is given
  (:mod:`leadscore.crm`).

On start, the migrations run, any pending rescoring or interrupted job left by
a crash is picked up, and ``model_path`` (if given) is uploaded and activated
unless the same text is already the active model. With ``registry_path``, the
champion predictive model of that registry is loaded (and followed: see
:mod:`leadscore.service.predictive`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from leadscore.crm import outbox as crm_outbox
from leadscore.crm.config import check_addresses, load_config
from leadscore.rules.due import Freshness
from leadscore.service import clock as service_clock
from leadscore.service import models as model_service
from leadscore.service.events import Committer, IngestResult
from leadscore.service.ingest_process import EncodedResult, IngestProcess
from leadscore.service.keys import KeyChecker
from leadscore.service.predictive import ChampionWatcher
from leadscore.service.scoring import EngineOptions, ScoringEngine
from leadscore.service.settings import Settings
from leadscore.service.webhooks import WebhookSender
from leadscore.store import Store
from leadscore.store.tables import contacts, events, models, webhook_deliveries

log = logging.getLogger("leadscore.service")

SCORER_NICE = 5  # the scorer process's CPU priority below the API and ingest processes


def engine_options(settings: Settings) -> EngineOptions:
    return EngineOptions(
        freshness=Freshness(
            refresh_seconds=settings.decay_refresh_seconds, tolerance=settings.decay_tolerance
        ),
        lease_seconds=settings.due_lease_seconds,
        score_changed_throttle=settings.score_changed_throttle,
        probability_refresh=settings.probability_refresh_seconds,
    )


class Service:
    def __init__(self, settings: Settings, clock: service_clock.Clock | None = None):
        """``clock``: the service's clock (tests pass a ManualClock); see service/clock.py."""
        if clock is not None:
            service_clock.install(clock)
        self.settings = settings
        self.store = Store(settings.db_url)
        self.predictive = (
            ChampionWatcher(settings.registry_path) if settings.registry_path else None
        )
        self.engine = ScoringEngine(self.store, engine_options(settings), self.predictive)
        self.keys = KeyChecker(self.store, settings.key_cache_seconds)
        self.rescorer = model_service.Rescorer(self.store, self.engine, settings.rescore_chunk)
        self.sender = WebhookSender(
            self.store,
            timeout=settings.webhook_timeout,
            max_attempts=settings.webhook_max_attempts,
            backoff_base=settings.webhook_backoff_base,
            backoff_max=settings.webhook_backoff_max,
            allow_networks=settings.allow_private_networks,
        )
        # CRM write-back: a bad config fails here, before the service answers.
        self.crm = load_config(settings.crm_config) if settings.crm_config else None
        if self.crm is not None:
            check_addresses(self.crm, settings.allow_private_networks)
            self.engine.crm_connectors = self.crm.connectors
        self._crm_syncs: list[Any] = []
        self.committer: Committer | IngestProcess | None = None
        self._scorer_process: Any = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = False

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        self.store.upgrade()
        if self.settings.model_path:
            self.load_initial_model(Path(self.settings.model_path))
        if self.predictive is not None:
            self.predictive.load()
        self.committer = (
            IngestProcess(self.store.url) if self.settings.ingest_process else Committer(self.store)
        )
        if self.settings.run_workers:
            self.rescorer.resume()
            loops = [("webhooks", self._webhook_loop)]
            if self.crm is not None:
                from leadscore.crm.sync import CrmSync

                # Built here so a missing token fails the start, not a thread.
                allow = self.settings.allow_private_networks
                self._crm_syncs = [
                    CrmSync(self.store, self.crm, n, allow=allow) for n in self.crm.connectors
                ]
                loops.append(("crm", self._crm_loop))
            if self.settings.scorer_process:
                self._start_scorer_process()
            else:
                loops.append(("scorer", self._score_loop))
            for name, target in loops:
                thread = threading.Thread(target=target, name=name, daemon=True)
                thread.start()
                self._threads.append(thread)
        self.started = True

    def _start_scorer_process(self) -> None:
        import subprocess
        import sys

        # A plain child interpreter (not multiprocessing): nothing depends on how
        # the parent was started. The URL goes by environment, not argv, so a
        # password never shows in `ps`.
        env = {
            **os.environ,
            "LEADSCORE_DB": self.store.url,
            "LEADSCORE_SCORER_SETTINGS": json.dumps(
                {
                    "clock_interval": self.settings.clock_interval,
                    "decay_refresh_seconds": self.settings.decay_refresh_seconds,
                    "decay_tolerance": self.settings.decay_tolerance,
                    "due_lease_seconds": self.settings.due_lease_seconds,
                    "score_changed_throttle": self.settings.score_changed_throttle,
                    "probability_refresh_seconds": self.settings.probability_refresh_seconds,
                    "registry_path": self.settings.registry_path,
                }
            ),
        }
        if self.settings.crm_config:  # the scorer queues CRM updates too
            env["LEADSCORE_CRM"] = self.settings.crm_config
        self._scorer_process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leadscore.service.runtime",
                str(self.settings.rescore_chunk),
                str(self.settings.scoring_interval),
                str(os.getpid()),
            ],
            env=env,
        )

    async def ingest_async(
        self, raw_items: list[Any] | bytes, prefix: str
    ) -> IngestResult | EncodedResult:
        """:meth:`ingest` for async routes: awaits the commit without blocking the loop."""
        import asyncio

        if self.committer is None:
            from starlette.concurrency import run_in_threadpool

            return await run_in_threadpool(self.ingest, raw_items, prefix)
        return await asyncio.wrap_future(self.committer.enqueue(raw_items, prefix))

    def ingest(self, raw_items: list[Any] | bytes, prefix: str) -> IngestResult | EncodedResult:
        """Store events through the group committer (answers after the commit)."""
        if self.committer is None:
            from leadscore.service.events import ingest

            return ingest(self.store, raw_items, prefix)
        return self.committer.submit(raw_items, prefix)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self.rescorer.stop()
        if self.committer is not None:
            self.committer.close()
        if self._scorer_process is not None:
            self._scorer_process.terminate()
            try:
                self._scorer_process.wait(10)
            except Exception:
                self._scorer_process.kill()
        for thread in self._threads:
            thread.join(10)
        self.sender.close()
        self.store.dispose()

    def load_initial_model(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        with self.store.read() as conn:
            active = conn.execute(select(models.c.sha256).where(models.c.active.is_(True))).scalar()
        if active == digest:
            return
        uploaded = model_service.upload_model(self.store, text)
        self.rescorer.activate(uploaded["version"], background=self.settings.run_workers)
        log.info("activated model v%s from %s", uploaded["version"], path)

    # -- scoring -------------------------------------------------------------
    def notify(self) -> None:
        """Called after an ingest commit: wake the scorer."""
        self._wake.set()

    def rescore_now(self, contact_ids: list[str]) -> None:
        self.engine.rescore_dirty(contact_ids=contact_ids)

    def drain(self) -> int:
        """Rescore every dirty contact now (tests and tools); returns how many."""
        total = 0
        while True:
            n = self.engine.rescore_dirty(self.settings.rescore_chunk)
            total += n
            if n == 0:
                return total

    def rescore_due(self) -> int:
        """Rescore every contact whose score is due now (tests and tools); returns how many."""
        total = 0
        while True:
            n = self.engine.rescore_due(self.settings.rescore_chunk)
            total += n
            if n == 0:
                return total

    def _score_loop(self) -> None:
        scheduler = ClockScheduler(self.engine, self.settings)
        while not self._stop.is_set():
            self._wake.wait(min(1.0, self.settings.clock_interval))
            self._wake.clear()
            try:
                while not self._stop.is_set():
                    # Due contacts get their turn between chunks of dirty ones: a
                    # steady stream of events must not starve the clock.
                    scheduler.tick(self._stop)
                    if self.engine.rescore_dirty(self.settings.rescore_chunk) == 0:
                        break
            except Exception:  # keep the worker alive; the contacts stay dirty
                log.exception("rescoring failed; will retry")
                self._stop.wait(1.0)
            self._stop.wait(self.settings.scoring_interval)

    def _webhook_loop(self) -> None:
        while not self._stop.is_set():
            try:
                while self.sender.deliver_due() and not self._stop.is_set():
                    pass
            except Exception:
                log.exception("webhook delivery pass failed; will retry")
            self._stop.wait(self.settings.webhook_interval)

    def _crm_loop(self) -> None:
        assert self.crm is not None
        syncs = self._crm_syncs
        try:
            while not self._stop.is_set():
                for sync in syncs:
                    try:
                        while not self._stop.is_set() and sync.step() is not None:
                            pass
                    except Exception:  # keep the worker alive; the rows stay queued
                        log.exception("CRM sync to %s failed; will retry", sync.name)
                self._stop.wait(self.crm.sync.interval)
        finally:
            for sync in syncs:
                sync.close()

    # -- status --------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self.store.read() as conn:
            n_contacts = conn.execute(select(func.count()).select_from(contacts)).scalar_one()
            pending = conn.execute(
                select(func.count()).select_from(contacts).where(contacts.c.dirty > 0)
            ).scalar_one()
            n_events = conn.execute(select(func.count()).select_from(events)).scalar_one()
            due = conn.execute(  # scores the clock has made stale, not yet rescored
                select(func.count())
                .select_from(contacts)
                .where(contacts.c.due_us <= service_clock.now_us())
            ).scalar_one()
            webhooks_pending = conn.execute(
                select(func.count())
                .select_from(webhook_deliveries)
                .where(webhook_deliveries.c.status == "pending")
            ).scalar_one()
            active = conn.execute(
                select(models.c.version).where(models.c.active.is_(True))
            ).scalar()
        return {
            "store": self.store.dialect,
            "contacts": n_contacts,
            "events": n_events,
            "pending_rescoring": pending,
            "due_rescoring": due,
            "webhooks_pending": webhooks_pending,
            "active_model": active,
            "jobs": model_service.list_jobs(self.store, limit=5),
            **({"crm": crm_outbox.counts(self.store)} if self.crm is not None else {}),
        }


class ClockScheduler:
    """Rescores due contacts every ``clock_interval`` seconds (of real time: the
    service clock may be a test's, which does not move by itself), at most
    ``MAX_CHUNKS`` transactions per turn so that dirty contacts get theirs too."""

    MAX_CHUNKS = 10

    def __init__(self, engine: ScoringEngine, settings: Settings):
        self.engine = engine
        self.chunk = settings.rescore_chunk
        self.interval = settings.clock_interval
        self._next = 0.0

    def tick(self, stop: threading.Event | None = None) -> int:
        """Rescore what is due, if the interval has passed; returns how many."""
        if time.monotonic() < self._next:
            return 0
        total = 0
        for _ in range(self.MAX_CHUNKS):
            if stop is not None and stop.is_set():
                break
            n = self.engine.rescore_due(self.chunk)
            total += n
            if n < self.chunk:
                break
        self._next = time.monotonic() + self.interval
        return total


def scorer_process_main(db_url: str, chunk: int, interval: float, parent_pid: int) -> None:
    """The scorer in its own process (``leadscore serve``): it gets its own interpreter
    lock, so rescoring never slows request handling, and uses the second core."""
    _die_with_parent()
    # Rescoring is background work (scores follow events asynchronously): when the
    # cores are saturated, acknowledging events and answering reads come first.
    os.nice(SCORER_NICE)
    store = Store(db_url)
    settings = Settings(
        db_url=db_url,
        rescore_chunk=chunk,
        **json.loads(os.environ.get("LEADSCORE_SCORER_SETTINGS", "{}")),
    )
    predictive = ChampionWatcher(settings.registry_path) if settings.registry_path else None
    if predictive is not None:
        predictive.load()
    engine = ScoringEngine(store, engine_options(settings), predictive)
    scheduler = ClockScheduler(engine, settings)
    if os.environ.get("LEADSCORE_CRM"):  # queue CRM updates (see Service._start_scorer_process)
        engine.crm_connectors = load_config(os.environ["LEADSCORE_CRM"]).connectors
    while os.getppid() == parent_pid:  # orphaned (parent SIGKILLed): stop
        try:
            scheduler.tick()  # between chunks of dirty contacts: never starved by ingest
            n = engine.rescore_dirty(chunk)
        except Exception:
            log.exception("rescoring failed; will retry")
            time.sleep(1.0)
            continue
        if n == 0:
            time.sleep(interval)


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when its parent dies."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere the getppid() check in the loop does the job


if __name__ == "__main__":  # the scorer child of `leadscore serve`
    import sys

    logging.basicConfig(level=logging.WARNING)
    scorer_process_main(
        os.environ["LEADSCORE_DB"], int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    )
