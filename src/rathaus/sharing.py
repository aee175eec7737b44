"""State that every server process and replica shares: rate windows and the models' circuit state.

Without RATHAUS_REDIS_URL it lives in the process's memory, which is right for the embedded default (one
process). With it, it lives in Redis: N worker processes on M replicas count one limit (the 61st message in a
minute is refused whichever process gets it), and a model that one process found down is skipped by all.
Every window reads Redis' own clock (TIME), so replicas whose clocks differ still agree.

When Redis cannot be reached or does not answer within half a second, each process counts for itself in its
memory and leaves Redis alone for BACKOFF_S before it tries again (logged at most once a minute): limits then
hold per process, nothing is refused because Redis is gone, and no request waits for it more than once in
that time.

Circuit breakers are shared only for models served elsewhere (an OpenAI-compatible server): a model loaded in
each process fails or works per process, and one process that cannot load it must not close it for all.
Keys are declared to their scripts, but the scripts touch more than one key: use one Redis (or Sentinel),
not a Redis Cluster.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

State = Literal["closed", "open", "half_open"]
PREFIX = "rathaus"
WARN_EVERY_S = 60.0
BACKOFF_S = 5.0

# KEYS[1] the window; ARGV: limit, window in ms, mode (hit: check and count; peek: check; add: count), a
# unique member. Returns -1 when allowed, else the milliseconds until the oldest event leaves the window.
_SLIDING = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if ARGV[3] ~= 'add' then
  local count = redis.call('ZCARD', KEYS[1])
  if count >= tonumber(ARGV[1]) then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return math.max(tonumber(oldest[2]) + window - now, 1)
  end
end
if ARGV[3] ~= 'peek' then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
end
return -1
"""

# KEYS[1] the counter (a hash of period and count); ARGV: limit, period in seconds. Returns -1 when allowed,
# else milliseconds until the next period.
_FIXED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[2])
local period = math.floor(now / seconds)
local stored = redis.call('HMGET', KEYS[1], 'period', 'count')
local count = 0
if tonumber(stored[1]) == period then count = tonumber(stored[2]) end
if count >= tonumber(ARGV[1]) then
  return math.max(math.floor(((period + 1) * seconds - now) * 1000), 1)
end
redis.call('HSET', KEYS[1], 'period', period, 'count', count + 1)
redis.call('EXPIRE', KEYS[1], math.ceil(seconds) + 1)
return -1
"""

# KEYS[1] the model's circuit; ARGV: cooldown in ms. Returns the state.
_STATE = """
local opened = redis.call('HGET', KEYS[1], 'opened_at')
if not opened then return 'closed' end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now - tonumber(opened) < tonumber(ARGV[1]) then return 'open' end
return 'half_open'
"""

# KEYS[1] the model's circuit, KEYS[2] the set of models with a circuit; ARGV: threshold, down (1/0), model
# id, expiry in ms.
_FAILED = """
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local opened = redis.call('HGET', KEYS[1], 'opened_at')
if ARGV[2] == '1' or failures >= tonumber(ARGV[1]) or opened then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'opened_at', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return failures
"""


class SlidingWindow:
    """At most `limit` events per key in any `seconds`, in this process's memory; forgets idle keys."""

    def __init__(
        self,
        limit: int,
        seconds: float = 60.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self.max_keys = max_keys
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float | None:
        """Count one event; None when it is allowed, else the seconds until the next one would be."""
        return self._apply(key, "hit", now)

    def wait(self, key: str) -> float | None:
        """The seconds until an event would be allowed (None: now), without counting one."""
        return self._apply(key, "peek", None)

    def add(self, key: str) -> None:
        """Count an event whatever the limit (a failed login)."""
        self._apply(key, "add", None)

    def clear(self, key: str) -> None:
        """Forget the key's events (a successful login)."""
        with self._lock:
            self._events.pop(key, None)

    def _apply(self, key: str, mode: str, now: float | None) -> float | None:
        now = self._clock() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.seconds:
                events.popleft()
            if mode != "add" and len(events) >= self.limit:
                return max(events[0] + self.seconds - now, 0.001)
            if mode != "peek":
                events.append(now)
            if len(self._events) > self.max_keys:
                self._forget(now)
            return None

    def _forget(self, now: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.seconds]:
            del self._events[key]
        if len(self._events) > self.max_keys:  # all active: start afresh rather than scan on every event
            self._events.clear()


class FixedWindow:
    """At most `limit` events per key in each period of `seconds` (one number per key: for long periods)."""

    def __init__(self, limit: int, seconds: float, max_keys: int = 200_000) -> None:
        self.limit, self.seconds, self.max_keys = limit, seconds, max_keys
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float | None:
        """Count one event; None when it is allowed, else the seconds until the next period."""
        now = time.time() if now is None else now
        period = int(now // self.seconds)
        with self._lock:
            started, count = self._counts.get(key, (period, 0))
            if started != period:
                count = 0
            if count >= self.limit:
                return (period + 1) * self.seconds - now
            if len(self._counts) >= self.max_keys:
                self._counts = {k: v for k, v in self._counts.items() if v[0] == period}
                if len(self._counts) >= self.max_keys:
                    self._counts.clear()
            self._counts[key] = (period, count + 1)
            return None


class _Circuit:
    def __init__(self) -> None:
        self.failures = 0
        self.opened_at: float | None = None


class CircuitBreaker:
    """A circuit breaker per model, in this process's memory.

    Closed: requests go through. After `failures` failures in a row (or one that says the model is down:
    unreachable or not loaded) it opens: the router skips the model for `cooldown_s` seconds. Then it is
    half-open: the next request may try it; success closes the breaker, failure opens it again.
    """

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


class _Fallback:
    """Runs a Redis call, or the in-memory twin when Redis fails; after a failure, Redis is left alone for
    BACKOFF_S (one instance per Sharing: all its windows and breakers back off together)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self._warned = -WARN_EVERY_S

    def __call__(self, shared: Callable[[], Any], local: Callable[[], Any]) -> Any:
        import redis

        if self._clock() < self._retry_at:
            return local()
        try:
            return shared()
        except redis.RedisError as exc:
            now = self._clock()
            with self._lock:
                self._retry_at = now + BACKOFF_S
                warn = now - self._warned >= WARN_EVERY_S
                if warn:
                    self._warned = now
            if warn:
                logger.warning("Redis unreachable (%s): counting in this process for now", exc)
            return local()


class SharedSlidingWindow(SlidingWindow):
    """A sliding window in Redis (sorted set per key), with the in-memory window when Redis fails."""

    def __init__(
        self, client: redis.Redis, fallback: _Fallback, key: str, limit: int, seconds: float = 60.0
    ) -> None:
        super().__init__(limit, seconds)
        self._key = key
        self._script = client.register_script(_SLIDING)
        self._fallback = fallback
        self._client = client

    def _apply(self, key: str, mode: str, now: float | None) -> float | None:
        if now is not None:  # an explicit time only in tests of the memory window
            return super()._apply(key, mode, now)

        def shared() -> float | None:
            args: list[int | str] = [self.limit, int(self.seconds * 1000), mode, uuid.uuid4().hex]
            waited = int(self._script(keys=[self._key + key], args=args))
            return None if waited < 0 else waited / 1000

        result: float | None = self._fallback(
            shared, lambda: super(SharedSlidingWindow, self)._apply(key, mode, now)
        )
        return result

    def clear(self, key: str) -> None:
        """Forget the key's events everywhere."""
        super().clear(key)
        self._fallback(lambda: self._client.delete(self._key + key), lambda: None)


class SharedFixedWindow(FixedWindow):
    """A fixed window in Redis (a counter per key and period), with the in-memory window when Redis fails."""

    def __init__(
        self, client: redis.Redis, fallback: _Fallback, key: str, limit: int, seconds: float
    ) -> None:
        super().__init__(limit, seconds)
        self._key = key
        self._script = client.register_script(_FIXED)
        self._fallback = fallback

    def hit(self, key: str, now: float | None = None) -> float | None:
        """Count one event; None when it is allowed, else the seconds until the next period."""
        if now is not None:
            return super().hit(key, now)

        def shared() -> float | None:
            waited = int(self._script(keys=[self._key + key], args=[self.limit, self.seconds]))
            return None if waited < 0 else waited / 1000

        result: float | None = self._fallback(shared, lambda: super(SharedFixedWindow, self).hit(key))
        return result


class SharedCircuitBreaker(CircuitBreaker):
    """Circuit breakers in Redis (a hash per model and a set of the models), with the in-memory ones when
    Redis fails; models for which `local` is true (loaded in each process) keep their breaker in memory."""

    def __init__(
        self,
        client: redis.Redis,
        fallback: _Fallback,
        key: str,
        local: Callable[[str], bool],
        failures: int = 3,
        cooldown_s: float = 30.0,
    ) -> None:
        super().__init__(failures, cooldown_s)
        self._client = client
        self._key = key
        self._models = f"{key}models"
        self._local = local
        self._state = client.register_script(_STATE)
        self._failed = client.register_script(_FAILED)
        self._fallback = fallback

    def state(self, model_id: str) -> State:
        """Where the model's circuit stands now, for every process."""
        if self._local(model_id):
            return super().state(model_id)
        key = self._key + model_id
        shared = lambda: _text(self._state(keys=[key], args=[int(self.cooldown_s * 1000)]))  # noqa: E731
        result: State = self._fallback(shared, lambda: super(SharedCircuitBreaker, self).state(model_id))
        return result

    def succeeded(self, model_id: str) -> None:
        """The model answered: close its circuit everywhere."""
        super().succeeded(model_id)
        if not self._local(model_id):
            self._fallback(lambda: self._client.delete(self._key + model_id), lambda: None)

    def failed(self, model_id: str, down: bool = False) -> None:
        """The model failed: count it for every process."""
        if self._local(model_id):
            super().failed(model_id, down)
            return
        expiry = int(self.cooldown_s * 1000 * 10)
        args: list[int | str] = [self.threshold, 1 if down else 0, model_id, expiry]
        self._fallback(
            lambda: self._failed(keys=[self._key + model_id, self._models], args=args),
            lambda: super(SharedCircuitBreaker, self).failed(model_id, down),
        )

    def open_models(self) -> list[str]:
        """Ids of models whose circuit is open now, as every process sees them (and this process's own)."""
        own = super().open_models()

        def shared() -> list[str]:
            ids = sorted(_text(m) for m in self._client.smembers(self._models))
            return [m for m in ids if m not in own and self.state(m) == "open"]

        result: list[str] = self._fallback(shared, list)
        return [*own, *result]


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


class Sharing:
    """Makes the shared windows and breakers: in Redis when a URL is given, else in memory. Keys start with
    `prefix`, so installations can share one Redis."""

    def __init__(self, redis_url: str | None = None, prefix: str = PREFIX) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()
        self._fallback = _Fallback()

    @property
    def shared(self) -> bool:
        """Whether the state is shared through Redis."""
        return self.redis_url is not None

    def client(self) -> redis.Redis:
        """The Redis client (connected lazily, with short timeouts: a limit check must not hang)."""
        with self._lock:
            if self._client is None:
                import redis

                assert self.redis_url is not None
                self._client = redis.Redis.from_url(
                    self.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30
                )
            return self._client

    def sliding(self, name: str, limit: int, seconds: float = 60.0) -> SlidingWindow:
        """At most `limit` events per key in any `seconds`, counted by all processes."""
        if self.redis_url is None:
            return SlidingWindow(limit, seconds)
        key = f"{self.prefix}:window:{name}:"
        return SharedSlidingWindow(self.client(), self._fallback, key, limit, seconds)

    def fixed(self, name: str, limit: int, seconds: float) -> FixedWindow:
        """At most `limit` events per key in each period of `seconds`, counted by all processes."""
        if self.redis_url is None:
            return FixedWindow(limit, seconds)
        return SharedFixedWindow(
            self.client(), self._fallback, f"{self.prefix}:fixed:{name}:", limit, seconds
        )

    def breaker(
        self, failures: int = 3, cooldown_s: float = 30.0, local: Callable[[str], bool] | None = None
    ) -> CircuitBreaker:
        """Circuit breakers per model, shared by all processes except for models `local` names (loaded in each
        process)."""
        if self.redis_url is None:
            return CircuitBreaker(failures, cooldown_s)
        key = f"{self.prefix}:breaker:"
        return SharedCircuitBreaker(
            self.client(), self._fallback, key, local or (lambda _model: False), failures, cooldown_s
        )

    def close(self) -> None:
        """Close the connection to Redis, if one was opened."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
