"""Fair-share CPU time per request for in-process model runtimes.

A local model's threads belong to the whole process, so the operating system cannot say which request
used which CPU second. The meter splits the process CPU time evenly between the requests active at
each moment: between two events (a request starting or ending) every active request is charged
`cpu_delta / n_active`. With one request at a time this is exactly the process CPU time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CpuMeter:
    """Tracks a running integral of process CPU seconds per active request."""

    def __init__(self, clock: Callable[[], float] = time.process_time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._active = 0
        self._last_cpu = clock()
        self._share = 0.0  # CPU seconds one request active since the start would have been charged

    def _advance(self) -> None:
        now = self._clock()
        if self._active:
            self._share += (now - self._last_cpu) / self._active
        self._last_cpu = now

    def start(self) -> float:
        """Mark a request as started; returns a token for `stop`."""
        with self._lock:
            self._advance()
            self._active += 1
            return self._share

    def stop(self, token: float) -> float:
        """Mark the request as finished; returns its CPU seconds."""
        with self._lock:
            self._advance()
            self._active = max(0, self._active - 1)
            return self._share - token


PROCESS_METER = CpuMeter()
"""The meter shared by all in-process runtimes of this process."""
