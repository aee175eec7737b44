"""Relaying a blocking event stream (a model generating in a worker thread) to an HTTP client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Generator
from typing import Any

import anyio


def sse(payload: dict[str, Any], event: str | None = None) -> str:
    """One server-sent event."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(payload, ensure_ascii=False)}\n\n"


async def relay(events: Generator[str, None, None]) -> AsyncIterator[str]:
    """Feed a blocking event stream to the client; a client that hangs up stops generation at once."""
    try:
        while (event := await anyio.to_thread.run_sync(next, events, None)) is not None:
            yield event
    finally:
        # The worker thread finishes its current step before cancellation lands, so closing is safe;
        # shielded, because the response task is being cancelled when the client has gone.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(events.close)
