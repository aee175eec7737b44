"""Rate windows and circuit breakers hold across processes through a real Redis, and fall back to each
process's memory when Redis is gone."""

from __future__ import annotations

import multiprocessing
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from rathaus.sharing import Sharing, SlidingWindow

REDIS = "redis://127.0.0.1:6379/14"


@pytest.fixture
def sharing() -> Iterator[Sharing]:
    found = Sharing(REDIS, prefix=f"test-{uuid.uuid4().hex[:12]}")
    try:
        found.client().ping()
    except Exception as exc:
        pytest.fail(f"Redis at {REDIS} is needed for these tests: {exc}")
    yield found
    client = found.client()
    for key in client.scan_iter(match=f"{found.prefix}:*"):
        client.delete(key)
    found.close()


def _hits(url: str, prefix: str, count: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    window = Sharing(url, prefix=prefix).sliding("widget:ip", 60)
    results.put([window.hit("203.0.113.7") is None for _ in range(count)])


def test_a_sliding_window_counts_one_limit_across_processes(sharing: Sharing) -> None:
    """Four processes send 20 messages each from one address: exactly 60 are allowed in the minute."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_hits, args=(REDIS, sharing.prefix, 20, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    allowed = sum(sum(results.get(timeout=60)) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
    assert allowed == 60
    wait = sharing.sliding("widget:ip", 60).hit("203.0.113.7")
    assert wait is not None and 0 < wait <= 60
    assert sharing.sliding("widget:ip", 60).hit("198.51.100.1") is None  # another address has its own


def test_peek_add_and_clear_as_the_login_throttle_uses_them(sharing: Sharing) -> None:
    window = sharing.sliding("login:email", 2, 900)
    assert window.wait("a@example.org") is None
    window.add("a@example.org")
    window.add("a@example.org")
    window.add("a@example.org")  # counted whatever the limit
    assert window.wait("a@example.org") is not None
    window.clear("a@example.org")
    assert window.wait("a@example.org") is None


def test_a_fixed_window_counts_per_period(sharing: Sharing) -> None:
    first, second = sharing.fixed("widget:ip-day", 3, 86_400), sharing.fixed("widget:ip-day", 3, 86_400)
    assert [first.hit("k"), second.hit("k"), first.hit("k")] == [None, None, None]
    wait = second.hit("k")
    assert wait is not None and 0 < wait <= 86_400


def test_a_model_found_down_by_one_process_is_skipped_by_all(sharing: Sharing) -> None:
    one, other = sharing.breaker(failures=3, cooldown_s=0.5), sharing.breaker(failures=3, cooldown_s=0.5)
    one.failed("remote")
    one.failed("remote")
    assert other.state("remote") == "closed"
    other.failed("remote")
    assert one.state("remote") == "open" and not one.allows("remote")
    assert other.open_models() == ["remote"]
    time.sleep(0.6)
    assert one.state("remote") == "half_open"
    other.succeeded("remote")
    assert one.state("remote") == "closed" and one.open_models() == []
    one.failed("local", down=True)  # unreachable: open at once
    assert other.state("local") == "open"


def test_models_loaded_in_each_process_keep_their_breaker_per_process(sharing: Sharing) -> None:
    """One process that cannot load a local model must not close it for all the others."""
    local = {"qwen2.5-1.5b"}.__contains__
    one, other = sharing.breaker(failures=1, local=local), sharing.breaker(failures=1, local=local)
    one.failed("qwen2.5-1.5b", down=True)
    assert one.state("qwen2.5-1.5b") == "open" and other.state("qwen2.5-1.5b") == "closed"
    one.failed("remote", down=True)
    assert other.state("remote") == "open"
    assert one.open_models() == ["qwen2.5-1.5b", "remote"] and other.open_models() == ["remote"]


def test_a_redis_that_does_not_answer_costs_one_wait_then_none(caplog: pytest.LogCaptureFixture) -> None:
    """A server that accepts connections but never answers (a hung Redis): the first check waits for the
    timeout, the next ones count in memory at once until the back-off is over."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        hung = Sharing(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", prefix="test-hung")
        window = hung.sliding("widget:ip", 100)
        started = time.monotonic()
        assert window.hit("k") is None
        first = time.monotonic() - started
        started = time.monotonic()
        for _ in range(50):
            window.hit("k")
        breaker = hung.breaker()
        assert breaker.state("remote") == "closed" and breaker.open_models() == []
        rest = time.monotonic() - started
        hung.close()
    assert first < 2.5 and rest < 0.5, (first, rest)
    assert caplog.text.count("Redis unreachable") == 1


def test_without_redis_each_process_counts_in_memory(caplog: pytest.LogCaptureFixture) -> None:
    gone = Sharing("redis://127.0.0.1:1/0", prefix="test-gone")
    window = gone.sliding("widget:ip", 2)
    assert [window.hit("k"), window.hit("k")] == [None, None]
    assert window.hit("k") is not None
    breaker = gone.breaker(failures=1)
    breaker.failed("remote")
    assert breaker.state("remote") == "open"
    assert "Redis unreachable" in caplog.text
    assert isinstance(Sharing().sliding("x", 1), SlidingWindow)  # no URL: memory, no Redis client
    assert Sharing()._client is None


def test_after_the_back_off_redis_is_asked_again() -> None:
    import redis

    from rathaus.sharing import BACKOFF_S, _Fallback

    now = [0.0]
    fallback = _Fallback(clock=lambda: now[0])
    calls: list[str] = []

    def down() -> str:
        calls.append("redis")
        raise redis.ConnectionError("refused")

    assert fallback(down, lambda: "memory") == "memory" and calls == ["redis"]
    now[0] = BACKOFF_S - 0.1
    assert fallback(down, lambda: "memory") == "memory" and calls == [
        "redis"
    ]  # not asked during the back-off
    now[0] = BACKOFF_S + 0.1
    assert fallback(lambda: "redis again", lambda: "memory") == "redis again"
