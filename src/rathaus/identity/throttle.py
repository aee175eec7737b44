"""Login throttling: failed attempts per e-mail address and per client address, in a sliding window.

Kept in memory per process: an installation with several API replicas limits each replica separately,
which still bounds guessing to a small multiple of the limit.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

WINDOW_S = 15 * 60
MAX_PER_EMAIL = 10
MAX_PER_CLIENT = 50
CONCURRENT_CHECKS = 4  # argon2 uses 64 MiB per check: bound memory and CPU under attack


class LoginThrottle:
    """Counts failures; `retry_after` tells how long a blocked caller must wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self.checks = threading.BoundedSemaphore(CONCURRENT_CHECKS)

    @staticmethod
    def _limits(email: str, client: str) -> list[tuple[str, int]]:
        return [(f"email:{email.strip().lower()}", MAX_PER_EMAIL), (f"client:{client}", MAX_PER_CLIENT)]

    def _recent(self, key: str, now: float) -> deque[float]:
        entries = self._failures[key]
        while entries and entries[0] <= now - WINDOW_S:
            entries.popleft()
        return entries

    def retry_after(self, email: str, client: str) -> int | None:
        """Seconds until the next attempt is allowed, or None when it is allowed now."""
        now = self._clock()
        with self._lock:
            waits = [
                int(entries[0] + WINDOW_S - now) + 1
                for key, limit in self._limits(email, client)
                if len(entries := self._recent(key, now)) >= limit
            ]
        return max(waits) if waits else None

    def failed(self, email: str, client: str) -> None:
        """Count a failed attempt."""
        now = self._clock()
        with self._lock:
            for key, _limit in self._limits(email, client):
                self._recent(key, now).append(now)

    def succeeded(self, email: str) -> None:
        """A correct password clears the e-mail address's failures."""
        with self._lock:
            self._failures.pop(f"email:{email.strip().lower()}", None)
