"""The background queue of documents waiting to be ingested: one worker thread per server, fair to tenants.

The queue is only a reminder: a document's state is in the database. After a restart `resume()` queues
every document that was not finished, so an upload is never lost.

A job does one document in steps (parsing, each batch of passages embedded, indexing) and yields between
them. The worker takes the tenants in turn, one step each, so one tenant's large document does not hold
up another tenant's small one; each tenant's documents go in the order they came. A job may yield a number
of seconds: it is left alone that long (a pause before another attempt) while the others go on. A job that
raises is started again after a pause that grows up to `MAX_RESTART_PAUSE_S`: a document never stays
waiting with nobody coming back to it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

logger = logging.getLogger(__name__)

Step = float | None  # what a job yields after a step: None, or seconds to be left alone before the next
Job = Callable[[str, str], Iterator[Step]]
RESTART_PAUSE_S = 5.0
MAX_RESTART_PAUSE_S = 600.0


@dataclass
class _Task:
    tenant_id: str
    document_id: str
    steps: Iterator[Step] | None = None  # None until its first step
    not_before: float = 0.0  # monotonic time before which it is left alone
    restarts: int = 0


class IngestQueue:
    """Runs `job(tenant_id, document_id)` step by step for queued documents on one background thread."""

    def __init__(self, job: Job, restart_pause_s: float = RESTART_PAUSE_S) -> None:
        self._job = job
        self._restart_pause_s = restart_pause_s
        self._tenants: dict[str, deque[_Task]] = {}  # whose turn it is: dictionary order, first goes next
        self._wake = threading.Condition()
        self._running: _Task | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, tenant_id: str, document_id: str) -> None:
        """Queue a document (once: it is not queued again while it waits); the worker starts on first use."""
        with self._wake:
            running = self._running is not None and self._running.document_id == document_id
            waiting = any(t.document_id == document_id for t in self._tenants.get(tenant_id, ()))
            if not running and not waiting:
                self._tenants.setdefault(tenant_id, deque()).append(_Task(tenant_id, document_id))
            self._closed = False
            self._wake.notify_all()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="rathaus-ingest", daemon=True)
                self._thread.start()

    def _take(self) -> _Task | None:
        """The next task to step on (holding the lock), waiting while there is none; None when closed."""
        while not self._closed:
            now = time.monotonic()
            soonest: float | None = None
            for tenant_id, tasks in list(self._tenants.items()):
                ready = next((t for t in tasks if t.not_before <= now), None)
                if ready is not None:
                    tasks.remove(ready)
                    del self._tenants[tenant_id]  # this tenant's turn is used: it goes to the back
                    if tasks:
                        self._tenants[tenant_id] = tasks
                    return ready
                paused = min(t.not_before for t in tasks)
                soonest = paused if soonest is None else min(soonest, paused)
            self._wake.wait(None if soonest is None else soonest - now)
        return None

    def _work(self) -> None:
        while True:
            with self._wake:
                task = self._take()
                self._running = task
            if task is None:
                return
            done = self._step(task)
            with self._wake:
                self._running = None
                if not done:  # back at the head of its tenant's documents, which go to the back of the turn
                    tasks = self._tenants.pop(task.tenant_id, deque())
                    tasks.appendleft(task)
                    self._tenants[task.tenant_id] = tasks
                self._wake.notify_all()

    def _step(self, task: _Task) -> bool:
        """One step of a task; True when its document is done."""
        try:
            if task.steps is None:
                task.steps = self._job(task.tenant_id, task.document_id)
            pause = next(task.steps)
        except StopIteration:
            return True
        except Exception:  # the job stores failures itself; this is the last line of defence
            task.restarts += 1
            wait = min(self._restart_pause_s * 2 ** (task.restarts - 1), MAX_RESTART_PAUSE_S)
            logger.exception(
                "ingest job for document %s failed; starting it again in %.0f s", task.document_id, wait
            )
            task.steps, task.not_before = None, time.monotonic() + wait
            return False
        task.not_before = time.monotonic() + pause if pause else 0.0
        return False

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued document is processed (tests, shutdown); False on timeout."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._tenants and self._running is None, timeout)

    def close(self) -> None:
        """Stop the worker after its current step; unfinished documents are taken up at the next start."""
        with self._wake:
            self._closed = True
            thread = self._thread
            self._wake.notify_all()
        if thread is not None:
            thread.join(timeout=30)
