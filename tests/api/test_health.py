"""Liveness and readiness."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rathaus.app import create_app
from rathaus.services import Services
from rathaus.settings import Settings


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["ok"] is True


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_readyz_names_missing_weights(settings: Settings) -> None:
    settings = settings.model_copy(update={"default_model": "missing-weights"})
    services = Services.build(settings)
    try:
        with TestClient(create_app(settings, services)) as client:
            ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "rathaus models install missing-weights" in ready.json()["checks"]["default_model"]["error"]
    finally:
        services.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_readyz_reports_unreachable_database(settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = settings.model_copy(update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    services = Services.build(settings)
    try:
        with TestClient(create_app(settings, services)) as client:
            ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False
    finally:
        services.close()
