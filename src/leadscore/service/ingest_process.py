"""Event ingestion in a process of its own (``leadscore serve``).

Parsing, validating and committing a 1,000-event batch is CPU work in Python:
done in the API process it holds that interpreter's lock, and a score read that
arrives meanwhile waits behind it (a p99 of 100-300 ms on two cores). So under
``serve`` the API process only receives the request body and forwards the raw
bytes over a pipe to this child process, which runs the group
:class:`~leadscore.service.events.Committer` exactly as before and answers with
the encoded result once the transaction has committed. The API process stays
nearly idle and answers reads at once; the kernel's scheduler favours it for
the same reason (it sleeps most of the time).

Guarantees are unchanged: one committer, so group commit and idempotency work as
in one process; a request is acknowledged only after the child reports its
commit. If the child dies, the requests in flight fail (never acknowledged) and
the next request starts a new child. The child dies with the API process
(``PR_SET_PDEATHSIG``), so a SIGKILLed server leaves no writer behind.

Frames on the pipes: a header (payload length, request id, kind) then the payload.
Requests: kind ``B`` a batch body, ``E`` one event (JSON). Answers: ``R`` a result
(contacts JSON, newline, summary JSON), ``V`` a body that is not a batch (pydantic-style
errors as JSON), ``X`` any other failure (its text).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import os
import queue
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from typing import IO, Any

from leadscore.service.events import BodyInvalid, IngestResult, ItemResult

log = logging.getLogger("leadscore.service")

HEADER = struct.Struct("!IQc")  # payload length, request id, kind

# How long a thread may hold the interpreter lock while another waits (Python's
# default is 5 ms). Each request crosses several threads (event loop, pipe
# writer and reader, committer); at 5 ms per hand-over a busy thread adds tens of
# milliseconds to a score read or a single event. 1 ms bounds that wait.
SWITCH_INTERVAL = 0.001


class EncodedResult:
    """An ingest result as the child encoded it: the summary stays bytes until asked."""

    def __init__(self, contacts: list[str], summary_json: bytes):
        self.contacts = contacts
        self._json = summary_json

    def summary_json(self) -> bytes:
        return self._json

    def summary(self) -> dict[str, Any]:
        return dict(json.loads(self._json))

    @property
    def items(self) -> list[ItemResult]:
        return [
            ItemResult(
                r["index"], r["event_id"], r["status"], r.get("contact_id"), r.get("errors", [])
            )
            for r in self.summary()["results"]
        ]


def _read_exactly(stream: IO[bytes], n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _read_frame(stream: IO[bytes]) -> tuple[int, bytes, bytes] | None:
    header = _read_exactly(stream, HEADER.size)
    if header is None:
        return None
    size, rid, kind = HEADER.unpack(header)
    payload = _read_exactly(stream, size) if size else b""
    if payload is None:
        return None
    return rid, kind, payload


class IngestProcess:
    """The API process's side: forwards bodies, resolves futures with the answers.

    A supervisor thread owns the child: it starts it, reads its answers and, when
    it dies, fails the requests it had not answered and starts a new one. (The
    child is started from that long-lived thread on purpose: ``PR_SET_PDEATHSIG``
    fires when the *thread* that started a child ends.)
    """

    def __init__(self, db_url: str):
        self.db_url = db_url
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[Any]] = {}
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self._proc: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._supervisor = threading.Thread(target=self._supervise, name="ingest", daemon=True)
        self._supervisor.start()

    def enqueue(self, raw_items: list[Any] | bytes, prefix: str) -> Future[Any]:
        """Like :meth:`Committer.enqueue`: the future resolves after the commit."""
        if isinstance(raw_items, bytes):
            kind, payload = b"B", raw_items
        else:
            (event,) = raw_items  # the single-event route, already validated
            kind, payload = b"E", event.model_dump_json().encode()
        done: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the service is stopping")
            rid = next(self._ids)
            self._pending[rid] = done
            # The writer thread does the (possibly blocking) pipe write, never the
            # event loop; frames wait here while a child is (re)starting.
            self._outbox.put(HEADER.pack(len(payload), rid, kind) + payload)
        return done

    def submit(self, raw_items: list[Any] | bytes, prefix: str) -> Any:
        return self.enqueue(raw_items, prefix).result()

    def _supervise(self) -> None:
        while not self._closed:
            # A plain child interpreter, as for the scorer; the URL goes by environment.
            env = {**os.environ, "LEADSCORE_DB": self.db_url}
            started = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "-m", "leadscore.service.ingest_process", str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            with self._lock:
                self._proc = proc
                outbox = self._outbox
            threading.Thread(target=self._write_loop, args=(proc, outbox), daemon=True).start()
            self._read_loop(proc)
            proc.wait()
            # The child is gone: whatever it had not answered was never acknowledged.
            with self._lock:
                self._proc = None
                self._outbox.put(None)  # its writer stops; frames not written are failed
                self._outbox = queue.Queue()
                failed = list(self._pending.values())
                self._pending.clear()
            if failed and not self._closed:
                log.error(
                    "ingest process exited with %s; %d requests failed",
                    proc.returncode,
                    len(failed),
                )
            for done in failed:
                done.set_exception(RuntimeError("the ingest process stopped before committing"))
            if not self._closed and time.monotonic() - started < 1.0:
                time.sleep(1.0)  # do not spin when the child cannot start

    def _write_loop(self, proc: subprocess.Popen[bytes], outbox: queue.Queue[bytes | None]) -> None:
        assert proc.stdin is not None
        while True:
            frame = outbox.get()
            if frame is None:
                break
            try:
                proc.stdin.write(frame)
                proc.stdin.flush()
            except OSError:
                break  # the supervisor sees the child gone and fails what is pending
        with contextlib.suppress(OSError):
            proc.stdin.close()

    def _read_loop(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        while True:
            frame = _read_frame(proc.stdout)
            if frame is None:
                return
            rid, kind, payload = frame
            with self._lock:
                done = self._pending.pop(rid, None)
            if done is None:
                continue
            if kind == b"R":
                contacts, _, summary = payload.partition(b"\n")
                done.set_result(EncodedResult(json.loads(contacts), summary))
            elif kind == b"V":
                done.set_exception(BodyInvalid(json.loads(payload)))
            else:
                done.set_exception(RuntimeError(payload.decode("utf-8", "replace")))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._outbox.put(None)  # closing its stdin makes the child commit, answer, exit
            proc = self._proc
        self._supervisor.join(15)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)


# -- the child ------------------------------------------------------------------


def _encode(result: IngestResult) -> bytes:
    return json.dumps(result.contacts).encode() + b"\n" + json.dumps(result.summary()).encode()


def child_main(db_url: str, parent_pid: int) -> None:
    from leadscore.service.events import _EVENT, Committer
    from leadscore.service.runtime import _die_with_parent
    from leadscore.store import Store

    _die_with_parent()
    sys.setswitchinterval(SWITCH_INTERVAL)
    # The protocol owns the original stdin/stdout; anything printed goes to stderr.
    inp = os.fdopen(os.dup(0), "rb", buffering=0)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    write_lock = threading.Lock()

    def answer(rid: int, kind: bytes, payload: bytes) -> None:
        with write_lock:
            out.write(HEADER.pack(len(payload), rid, kind) + payload)
            out.flush()

    def on_done(rid: int, done: Future[IngestResult]) -> None:
        exc = done.exception()
        if exc is None:
            answer(rid, b"R", _encode(done.result()))
        elif isinstance(exc, BodyInvalid):
            answer(rid, b"V", json.dumps(exc.errors, default=str).encode())
        else:
            log.error("ingest failed", exc_info=exc)
            answer(rid, b"X", f"{type(exc).__name__}: {exc}".encode())

    store = Store(db_url)
    committer = Committer(store)
    try:
        while os.getppid() == parent_pid:
            frame = _read_frame(inp)
            if frame is None:
                break  # the API process closed the pipe (stopping) or died
            rid, kind, payload = frame
            try:
                items: list[Any] | bytes = (
                    payload if kind == b"B" else [_EVENT.validate_json(payload)]
                )
            except Exception as exc:
                answer(rid, b"X", f"{type(exc).__name__}: {exc}".encode())
                continue
            done = committer.enqueue(items, "events" if kind == b"B" else "event")
            done.add_done_callback(functools.partial(on_done, rid))
    finally:
        committer.close()  # commits what is queued; its answers still go out
        store.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    child_main(os.environ["LEADSCORE_DB"], int(sys.argv[1]))
