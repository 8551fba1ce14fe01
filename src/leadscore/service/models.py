"""Scoring models in the store: validate, upload, list, activate (with a rescoring job)."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from sqlalchemy import func, insert, select, update

from leadscore.service.clock import now_us
from leadscore.service.errors import Invalid, NotFound, TooLarge
from leadscore.service.scoring import ScoringEngine
from leadscore.spec import ModelError, ModelTooLarge, parse_model
from leadscore.store import Store
from leadscore.store.tables import contacts, models, rescore_jobs


def validate_model(text: str) -> dict[str, Any]:
    """Problems with their path and line, or a summary of a valid model.

    Text over the size limit is not a model with problems but a request too
    large: TooLarge (413), answered before anything is parsed."""
    try:
        model = parse_model(text, source="upload")
    except ModelTooLarge as exc:
        raise TooLarge(exc.problems[0].message, "yaml") from None
    except ModelError as exc:
        return {
            "valid": False,
            "problems": [
                {"path": p.where, "line": p.line, "message": p.message} for p in exc.problems
            ],
        }
    return {
        "valid": True,
        "name": model.name,
        "scores": list(model.scores),
        "rules": sum(len(s.rules) for s in model.scores.values()),
        "stages": ["lead", *model.lifecycle],
    }


def upload_model(store: Store, text: str) -> dict[str, Any]:
    """Store a new model version (not active until activated). Invalid -> Invalid with problems."""
    report = validate_model(text)
    if not report["valid"]:
        first = report["problems"][0]
        error = Invalid(f"the model has {len(report['problems'])} problem(s)", first["path"])
        error.problems = report["problems"]  # type: ignore[attr-defined]
        raise error
    with store.write() as conn:
        version = conn.execute(
            insert(models)
            .values(
                name=report["name"],
                yaml=text,
                sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                created_us=now_us(),
                active=False,
            )
            .returning(models.c.version)
        ).scalar_one()
    return get_model(store, version)


def _model_row(r: Any, with_yaml: bool = False) -> dict[str, Any]:
    out = {
        "version": r.version,
        "name": r.name,
        "sha256": r.sha256,
        "active": r.active,
        "created_us": r.created_us,
        "activated_us": r.activated_us,
    }
    if with_yaml:
        out["yaml"] = r.yaml
    return out


def list_models(store: Store) -> list[dict[str, Any]]:
    with store.read() as conn:
        return [_model_row(r) for r in conn.execute(select(models).order_by(models.c.version))]


def get_model(store: Store, version: int) -> dict[str, Any]:
    with store.read() as conn:
        row = conn.execute(select(models).where(models.c.version == version)).first()
    if row is None:
        raise NotFound(f"no model version {version}", "version")
    return _model_row(row, with_yaml=True)


def active_model(store: Store) -> dict[str, Any] | None:
    with store.read() as conn:
        row = conn.execute(select(models).where(models.c.active.is_(True))).first()
    return None if row is None else _model_row(row, with_yaml=True)


def _job_row(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "model_version": r.model_version,
        "status": r.status,
        "total": r.total,
        "done": r.done,
        "progress": (r.done / r.total) if r.total else 1.0,
        "started_us": r.started_us,
        "finished_us": r.finished_us,
        "error": r.error,
    }


def get_job(store: Store, job_id: int) -> dict[str, Any]:
    with store.read() as conn:
        row = conn.execute(select(rescore_jobs).where(rescore_jobs.c.id == job_id)).first()
    if row is None:
        raise NotFound(f"no rescoring job {job_id}", "job_id")
    return _job_row(row)


def list_jobs(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    with store.read() as conn:
        rows = conn.execute(
            select(rescore_jobs).order_by(rescore_jobs.c.id.desc()).limit(limit)
        ).all()
    return [_job_row(r) for r in rows]


class Rescorer:
    """Runs full rescoring jobs in a background thread, one at a time."""

    def __init__(self, store: Store, engine: ScoringEngine, chunk: int = 500):
        self.store = store
        self.engine = engine
        self.chunk = chunk
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def activate(self, version: int, background: bool = True) -> dict[str, Any]:
        """Make ``version`` the active model and rescore every contact with it."""
        stamp = now_us()
        with self.store.write() as conn:
            if (
                conn.execute(select(models.c.version).where(models.c.version == version)).first()
                is None
            ):
                raise NotFound(f"no model version {version}", "version")
            conn.execute(update(models).where(models.c.active.is_(True)).values(active=False))
            conn.execute(
                update(models)
                .where(models.c.version == version)
                .values(active=True, activated_us=stamp)
            )
            # A job still running for an older model is pointless now.
            conn.execute(
                update(rescore_jobs)
                .where(rescore_jobs.c.status == "running")
                .values(status="superseded", finished_us=stamp)
            )
            total = conn.execute(select(func.count()).select_from(contacts)).scalar_one()
            job_id = conn.execute(
                insert(rescore_jobs)
                .values(
                    model_version=version,
                    status="running",
                    total=total,
                    done=0,
                    started_us=stamp,
                )
                .returning(rescore_jobs.c.id)
            ).scalar_one()
        self.start(job_id, background)
        return get_job(self.store, job_id)

    def resume(self) -> None:
        """After a restart, rerun the job that was interrupted (rescoring is idempotent)."""
        with self.store.read() as conn:
            job_id = conn.execute(
                select(rescore_jobs.c.id)
                .where(rescore_jobs.c.status == "running")
                .order_by(rescore_jobs.c.id.desc())
            ).scalar()
        if job_id is not None:
            self.start(job_id, background=True)

    def start(self, job_id: int, background: bool) -> None:
        if not background:
            self.run(job_id)
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                # The running thread notices the job it runs was superseded and
                # picks this one up when it finishes (see run()).
                self._queued = job_id
                return
            self._queued = None
            self._thread = threading.Thread(
                target=self._run_queue, args=(job_id,), name="rescore-job", daemon=True
            )
            self._thread.start()

    _queued: int | None = None

    def _run_queue(self, job_id: int) -> None:
        next_job: int | None = job_id
        while next_job is not None and not self._stop.is_set():
            self.run(next_job)
            with self._lock:
                next_job, self._queued = self._queued, None

    def run(self, job_id: int) -> None:
        try:
            after = ""
            done = 0
            while not self._stop.is_set():
                with self.store.read() as conn:
                    status = conn.execute(
                        select(rescore_jobs.c.status).where(rescore_jobs.c.id == job_id)
                    ).scalar()
                    if status != "running":
                        return
                    ids = list(
                        conn.execute(
                            select(contacts.c.contact_id)
                            .where(contacts.c.contact_id > after)
                            .order_by(contacts.c.contact_id)
                            .limit(self.chunk)
                        ).scalars()
                    )
                if not ids:
                    break
                self.engine.rescore_all(ids, cause="model_activated")
                done += len(ids)
                after = ids[-1]
                with self.store.write() as conn:
                    conn.execute(
                        update(rescore_jobs)
                        .where(rescore_jobs.c.id == job_id, rescore_jobs.c.status == "running")
                        .values(
                            done=done,
                            total=func.max(rescore_jobs.c.total, done)
                            if self.store.dialect == "sqlite"
                            else func.greatest(rescore_jobs.c.total, done),
                        )
                    )
            if self._stop.is_set():
                return
            with self.store.write() as conn:
                conn.execute(
                    update(rescore_jobs)
                    .where(rescore_jobs.c.id == job_id, rescore_jobs.c.status == "running")
                    .values(status="done", finished_us=now_us())
                )
        except Exception as exc:  # a job must end visibly, never hang as "running"
            with self.store.write() as conn:
                conn.execute(
                    update(rescore_jobs)
                    .where(rescore_jobs.c.id == job_id)
                    .values(status="failed", error=repr(exc)[:1000], finished_us=now_us())
                )
            raise

    def wait(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self._thread is not None and self._thread.is_alive():
            if time.monotonic() > deadline:
                raise TimeoutError("rescoring job still running")
            self._thread.join(0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
