"""Relaying a blocking event stream (a model generating in a worker thread) to an HTTP client.

A client that hangs up stops the generation at once. A client that stays connected but takes nothing
(it stopped reading) would otherwise keep the model generating into a full buffer and hold its slot: when
the client has not taken an event for CLIENT_IDLE_S, the stream is closed (the model stops and frees its
slot) and nothing more is sent. A client that reads slowly but steadily is not concerned.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Generator
from typing import Any

import anyio

logger = logging.getLogger(__name__)
CLIENT_IDLE_S = 60.0


def sse(payload: dict[str, Any], event: str | None = None) -> str:
    """One server-sent event."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(payload, ensure_ascii=False)}\n\n"


class _Stream:
    """The blocking stream with a lock, so that a watchdog may close it while the relay waits on the client,
    never while a worker thread is inside it."""

    def __init__(self, events: Generator[str, None, None]) -> None:
        self.events = events
        self.closed = False
        self._lock = threading.Lock()

    def step(self) -> str | None:
        with self._lock:
            return None if self.closed else next(self.events, None)

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                self.events.close()


async def relay(events: Generator[str, None, None], idle_s: float = CLIENT_IDLE_S) -> AsyncIterator[str]:
    """Feed a blocking event stream to the client; a client that hangs up stops generation at once, one that
    takes nothing for `idle_s` seconds stops it then."""
    stream = _Stream(events)
    loop = asyncio.get_running_loop()

    def give_up() -> None:
        logger.info("the client took nothing for %.0f s: its stream is closed", idle_s)
        loop.run_in_executor(None, stream.close)

    try:
        while (event := await anyio.to_thread.run_sync(stream.step)) is not None:
            watchdog = loop.call_later(idle_s, give_up)
            try:
                yield event  # returns when the server has handed the event to the client
            finally:
                watchdog.cancel()
    finally:
        # The worker thread finishes its current step before cancellation lands, so closing is safe;
        # shielded, because the response task is being cancelled when the client has gone.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(stream.close)
