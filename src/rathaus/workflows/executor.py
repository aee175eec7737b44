"""Executors: who runs the engine's steps. In-process (default): worker threads in the server.

The executor holds no state of its own: it asks the engine which runs are due, so after a restart it
simply finds the runs a crashed process left (once their leases have run out) and continues them.
A submitted run is started at once; every `POLL_SECONDS` the workers look for runs woken after a pause;
every `SWEEP_SECONDS` approvals past their deadline are expired, due schedules start and inboxes are read.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from rathaus.workflows.approvals import expire_overdue
from rathaus.workflows.engine import Engine
from rathaus.workflows.inbox import poll_inboxes
from rathaus.workflows.schedule import start_scheduled

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
SWEEP_SECONDS = 20.0  # how often overdue approvals, due schedules and new mail are looked for


class Executor(Protocol):
    """Runs the engine's due runs somewhere."""

    def submit(self, run_id: str) -> None:
        """A run is queued: start it soon."""

    def start(self) -> None:
        """Begin working (and pick up whatever a previous process left)."""

    def close(self) -> None:
        """Stop working; runs under way are continued by the next process."""


class InProcessExecutor:
    """Worker threads in this process, polling the database for due runs."""

    def __init__(self, engine: Engine, workers: int) -> None:
        self.engine = engine
        self.workers = workers
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._swept = 0.0

    def submit(self, run_id: str) -> None:
        """Wake a worker for the run (it is in the database already)."""
        self._wake.set()

    def start(self) -> None:
        """Start the worker threads (once)."""
        with self._lock:
            if self._threads or self.workers == 0:
                return
            for number in range(self.workers):
                thread = threading.Thread(
                    target=self._work, args=(number,), name=f"rathaus-workflow-{number}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _work(self, number: int) -> None:
        while not self._stop.is_set():
            try:
                worked = self._work_once(number)
            except Exception:  # the database may be away for a moment: try again after a pause
                logger.exception("workflow worker failed; retrying")
                worked = False
            if not worked:
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()

    def _work_once(self, number: int = 0) -> bool:
        """Advance one due run no other worker has taken; False when there is none. Each worker starts at
        its own place in the list, so that workers do not all reach for the oldest run at once."""
        if time.monotonic() - self._swept > SWEEP_SECONDS:
            self._swept = time.monotonic()
            expire_overdue(self.engine.services.db)
            start_scheduled(self.engine.services)
            poll_inboxes(self.engine.services)
        due = self.engine.due(limit=self.workers * 4)
        start = number % len(due) if due else 0
        for run_id in due[start:] + due[:start]:
            with self._lock:
                if run_id in self._busy:
                    continue
                self._busy.add(run_id)
            try:
                if self.engine.advance(run_id):
                    return True
            finally:
                with self._lock:
                    self._busy.discard(run_id)
        return False

    def close(self) -> None:
        """Stop after the steps under way; their runs continue in the next process."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.engine.stop()
