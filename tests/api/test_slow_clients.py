"""A client that stops reading a streamed answer loses it: the stream is closed (which stops the model and
frees its slot); a client that reads slowly but steadily gets everything."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from rathaus.api.streaming import relay
from tests.servers import serve_in_thread

PART = "x" * 65_536 + "\n"


def _app(parts: int, closed: threading.Event) -> FastAPI:
    app = FastAPI()

    def events() -> Iterator[str]:
        try:
            for _ in range(parts):
                yield PART
        finally:
            closed.set()

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(relay(events(), idle_s=1.0), media_type="text/plain")  # type: ignore[arg-type]

    return app


def _request(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect((host, int(port)))
    client.sendall(f"GET /stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return client


def test_a_client_that_stops_reading_loses_the_stream_and_the_model_stops() -> None:
    closed = threading.Event()
    with serve_in_thread(_app(2_000, closed)) as url:  # 128 MiB: far more than socket buffers hold
        client = _request(url)
        try:
            assert closed.wait(30), "the stream was not closed for a client that reads nothing"
        finally:
            client.close()


def test_a_client_that_reads_slowly_but_steadily_gets_everything() -> None:
    closed = threading.Event()
    with serve_in_thread(_app(30, closed)) as url:
        client = _request(url)
        received = 0
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                chunk = client.recv(65_536)
                if not chunk or chunk.endswith(b"0\r\n\r\n"):
                    received += len(chunk)
                    break
                received += len(chunk)
                time.sleep(0.01)  # slow, but never a second without reading
        finally:
            client.close()
    assert received > 30 * len(PART) and closed.is_set()
