"""Streaming over a real HTTP server: a client that hangs up stops generation and is recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from rathaus.accounting.models import RequestRecord
from rathaus.app import create_app
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import TenantFixture
from tests.servers import serve_in_thread


@pytest.fixture
def server_url(settings: Settings, services: Services) -> Iterator[str]:
    """The app under uvicorn in a thread."""
    with serve_in_thread(create_app(settings, services)) as url:
        yield url


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_client_disconnect_stops_generation(server_url: str, services: Services, jena: TenantFixture) -> None:
    body = {"model": "scripted-slow", "stream": True, "messages": [{"role": "user", "content": "Erzähl"}]}
    received = 0
    with httpx.stream(
        "POST", f"{server_url}/v1/chat/completions", json=body, headers=jena.headers(), timeout=30
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if '"content": "' in line:
                received += 1
            if received >= 3:
                break
    hung_up = time.monotonic()
    records: list[RequestRecord] = []
    while time.monotonic() - hung_up < 5 and not records:  # full generation would take 20 s
        time.sleep(0.1)
        with services.db.session(jena.id) as session:
            records = list(session.scalars(select(RequestRecord)))
    assert records, "no request record within 5 s of the client hanging up"
    assert records[0].status == "cancelled" and records[0].profile_id == "scripted-slow"
