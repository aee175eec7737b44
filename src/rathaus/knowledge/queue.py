"""The background queue of documents waiting to be ingested, one worker thread per server.

The queue is only a reminder: a document's state is in the database. After a restart `resume()` queues
every document that was not finished, so an upload is never lost.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)
Job = Callable[[str, str], object]


class IngestQueue:
    """Runs `job(tenant_id, document_id)` for queued documents on one background thread."""

    def __init__(self, job: Job) -> None:
        self._job = job
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()

    def submit(self, tenant_id: str, document_id: str) -> None:
        """Queue a document; the worker starts on first use."""
        with self._lock:
            self._idle.clear()
            self._queue.put((tenant_id, document_id))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="rathaus-ingest", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._job(*item)
            except Exception:  # the job stores failures itself; this is a last line of defence
                logger.exception("ingest job for document %s failed", item[1])
            finally:
                with self._lock:
                    if self._queue.empty():
                        self._idle.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued document is processed (tests, shutdown); False on timeout."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop the worker after the document it is working on."""
        with self._lock:
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join(timeout=30)
