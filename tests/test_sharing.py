"""Rate windows and circuit breakers hold across processes through a real Redis, and fall back to each
process's memory when Redis is gone."""

from __future__ import annotations

import multiprocessing
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
