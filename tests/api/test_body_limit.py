"""Bodies over the limit, sent in chunks without a length, get 413 and one line in the log; a client that
leaves while sending is one line too, never a traceback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from rathaus.app import create_app
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import TenantFixture

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the body is refused first
WEBHOOK = "/api/webhooks/" + "0" * 32


def chunks(total: int) -> Iterator[bytes]:
    """A body without Content-Length, as a client streams it."""
    for _ in range(total // 4096):
        yield b"x" * 4096


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert "Traceback" not in caplog.text


def test_an_oversized_chunked_body_gets_413_and_one_log_line(
    client: TestClient, jena: TenantFixture, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    key = {**jena.headers(), "Content-Type": "application/json"}
    for path, headers in [
        (WEBHOOK, {"Content-Type": "application/json"}),  # reads its raw body to check the signature
        ("/api/workflows", key),
        ("/api/assistants", key),
        ("/v1/chat/completions", key),
    ]:
        caplog.clear()
        response = client.post(path, content=chunks(200 * 1024), headers=headers)
        assert response.status_code == 413, path
        problem = response.json()
        assert (
            problem["error"]["code"] if path.startswith("/v1") else problem["code"]
        ) == "request_too_large"
        no_tracebacks(caplog)
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("rathaus")]
        assert lines == [f"413: request body over 65536 bytes on POST {path}"], path


def test_a_client_leaving_mid_body_is_one_quiet_line(
    settings: Settings, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = create_app(settings, services)
    incoming: list[Message] = [
        {"type": "http.request", "body": b'{"nachricht": "', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": WEBHOOK,
        "raw_path": WEBHOOK.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    no_tracebacks(caplog)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("rathaus")]
    assert lines == [f"client disconnected while sending POST {WEBHOOK}"]
