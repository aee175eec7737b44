"""A circuit breaker per model: stop sending requests to a model that keeps failing, and try it again later.

Closed: requests go through. After `failures` failures in a row (or one that says the model is down:
unreachable or not loaded) it opens: the router skips the model for
`cooldown_s` seconds. Then it is half-open: the next request may try it; success closes the breaker,
failure opens it again for another cooldown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

State = Literal["closed", "open", "half_open"]


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None


class CircuitBreaker:
    """Failure counts and open/closed state per model id, shared by all requests of a process."""

    def __init__(
        self, failures: int = 3, cooldown_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._circuits: dict[str, _Circuit] = {}

    def state(self, model_id: str) -> State:
        """Where the model's circuit stands now."""
        with self._lock:
            circuit = self._circuits.get(model_id)
            if circuit is None or circuit.opened_at is None:
                return "closed"
            return "open" if self._clock() - circuit.opened_at < self.cooldown_s else "half_open"

    def allows(self, model_id: str) -> bool:
        """Whether a request may go to the model (closed, or half-open for a trial)."""
        return self.state(model_id) != "open"

    def succeeded(self, model_id: str) -> None:
        """The model answered: close its circuit."""
        with self._lock:
            self._circuits.pop(model_id, None)

    def failed(self, model_id: str, down: bool = False) -> None:
        """The model failed: count it; open the circuit at the threshold, or at once when it is down."""
        with self._lock:
            circuit = self._circuits.setdefault(model_id, _Circuit())
            circuit.failures += 1
            if down or circuit.failures >= self.threshold or circuit.opened_at is not None:
                circuit.opened_at = self._clock()  # a failed trial while half-open opens it again

    def open_models(self) -> list[str]:
        """Ids of models whose circuit is open now (for /metrics and the admin pages)."""
        return [m for m in list(self._circuits) if self.state(m) == "open"]
