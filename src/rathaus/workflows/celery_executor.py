"""The Celery executor (`RATHAUS_EXECUTOR=celery`): workers on any number of machines advance the runs.

The broker (Redis or RabbitMQ) carries only nudges — "run X is due" — never a run's state, which stays in
the database exactly as with the in-process executor; a worker claims the run's lease before it touches it,
so a nudge delivered twice does nothing twice. A run paused before a retry is nudged again with the pause
as countdown. What a dead process left behind (a run whose lease ran out) is found by the server's sweeper,
which nudges due runs that were not nudged recently.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from celery import Celery

from rathaus.workflows.approvals import expire_overdue
from rathaus.workflows.engine import LEASE_SECONDS, Engine
from rathaus.workflows.inbox import poll_inboxes
from rathaus.workflows.schedule import start_scheduled

if TYPE_CHECKING:
    from rathaus.settings import Settings

logger = logging.getLogger(__name__)

ADVANCE = "rathaus.workflows.advance"
SWEEP_SECONDS = 2.0  # how often the server looks for runs nobody works on
NUDGE_AGAIN_SECONDS = LEASE_SECONDS  # a due run nudged this long ago without effect is nudged again
APPROVALS_EVERY = 10  # sweeps between looks for overdue approvals, due schedules and new mail


def celery_app(settings: Settings, engine: Engine | None = None) -> Celery:
    """The Celery app on the configured broker; with an engine (in a worker) it also runs the task."""
    app = Celery("rathaus", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.celery_queue,
        task_acks_late=True,  # a worker that dies mid-task leaves the nudge for another
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 2 * LEASE_SECONDS},
        worker_hijack_root_logger=False,
    )
    if engine is not None:

        @app.task(name=ADVANCE, ignore_result=True, shared=False)  # type: ignore[untyped-decorator]
        def advance(run_id: str) -> str:
            status = engine.advance(run_id)
            if status == "queued":  # paused before a retry: come back when the pause is over
                pause = engine.pause_left(run_id)
                app.send_task(ADVANCE, args=[run_id], countdown=pause)
            return status

    return app


class CeleryExecutor:
    """Sends nudges to the Celery workers; in the server it also sweeps for runs left behind."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.app = celery_app(settings)
        self._nudged: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, run_id: str) -> None:
        """Nudge the workers: the run is due now."""
        self._nudged[run_id] = time.monotonic()
        self.app.send_task(ADVANCE, args=[run_id])

    def start(self) -> None:
        """Start the sweeper (once): it nudges due runs nobody works on, and expires overdue approvals."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._sweep, name="rathaus-workflow-sweeper", daemon=True)
            self._thread.start()

    def _sweep(self) -> None:
        rounds = 0
        while not self._stop.is_set():
            try:
                if rounds % APPROVALS_EVERY == 0:
                    expire_overdue(self.engine.services.db)
                    start_scheduled(self.engine.services)
                    poll_inboxes(self.engine.services)
                self.sweep_once()
            except Exception:  # broker or database away for a moment: the next round tries again
                logger.exception("workflow sweeper failed; retrying")
            rounds += 1
            self._stop.wait(SWEEP_SECONDS)

    def sweep_once(self) -> int:
        """Nudge every due run not nudged within NUDGE_AGAIN_SECONDS; returns how many were nudged."""
        now = time.monotonic()
        sent = 0
        for run_id in self.engine.due(limit=500):
            if now - self._nudged.get(run_id, -NUDGE_AGAIN_SECONDS) >= NUDGE_AGAIN_SECONDS:
                self.submit(run_id)
                sent += 1
        for run_id, when in list(self._nudged.items()):
            if now - when > 10 * NUDGE_AGAIN_SECONDS:
                del self._nudged[run_id]
        return sent

    def close(self) -> None:
        """Stop sweeping; runs go on in the workers."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.engine.stop()


def run_worker(engine: Engine, settings: Settings, concurrency: int, extra: list[str] | None = None) -> Any:
    """Run a Celery worker in this process (threads share the loaded models); blocks until stopped."""
    app = celery_app(settings, engine)
    arguments = ["worker", "--pool=threads", f"--concurrency={concurrency}", "--loglevel=INFO"]
    arguments.append(f"--hostname=rathaus-{os.getpid()}@%h")
    return app.worker_main([*arguments, *(extra or [])])
