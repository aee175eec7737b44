"""Login throttling: failed attempts per e-mail address and per client address, in a sliding window.

The windows are shared by all processes and replicas when Redis is configured (rathaus/sharing.py), so
guessing is bounded by the limits whichever server answers; without it each process counts for itself.
"""

from __future__ import annotations

import threading

from rathaus.sharing import Sharing

WINDOW_S = 15 * 60
MAX_PER_EMAIL = 10
MAX_PER_CLIENT = 50
CONCURRENT_CHECKS = 4  # argon2 uses 64 MiB per check: bound memory and CPU under attack


class LoginThrottle:
    """Counts failures; `retry_after` tells how long a blocked caller must wait."""

    def __init__(self, sharing: Sharing | None = None) -> None:
        sharing = sharing or Sharing()
        self._emails = sharing.sliding("login:email", MAX_PER_EMAIL, WINDOW_S)
        self._clients = sharing.sliding("login:client", MAX_PER_CLIENT, WINDOW_S)
        self.checks = threading.BoundedSemaphore(CONCURRENT_CHECKS)

    @staticmethod
    def _email(email: str) -> str:
        return email.strip().lower()

    def retry_after(self, email: str, client: str) -> int | None:
        """Seconds until the next attempt is allowed, or None when it is allowed now."""
        waits = [
            w for w in (self._emails.wait(self._email(email)), self._clients.wait(client)) if w is not None
        ]
        return int(max(waits)) + 1 if waits else None

    def failed(self, email: str, client: str) -> None:
        """Count a failed attempt."""
        self._emails.add(self._email(email))
        self._clients.add(client)

    def succeeded(self, email: str) -> None:
        """A correct password clears the e-mail address's failures."""
        self._emails.clear(self._email(email))
