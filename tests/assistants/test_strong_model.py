"""The same answer pipeline with a stronger model behind an OpenAI-compatible endpoint (a real server
process: llama.cpp's server), where the data class allows it; the same evidence and checks apply."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rathaus.assistants.registry import load
from rathaus.assistants.runtime import prepare_for
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message
from rathaus.services import Services
from rathaus.settings import Settings
from tests.assistants.test_grounding import _setup
from tests.assistants.test_quoted_answers import _ask
from tests.conftest import MODELS_DIR, TenantFixture, require_model, write_catalogue
from tests.servers import free_port, llama_server

pytestmark = [
    pytest.mark.model,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
QUESTION = "Was kostet die Hundesteuer für zwei Hunde und ab wann muss ich den Hund anmelden?"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama.cpp server process with Qwen2.5-0.5B: the city's "stronger" model in this test."""
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with llama_server(require_model("qwen2.5-0.5b"), free_port(), log) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str, server_url: str) -> Settings:
    """A small local model (tier 2) and the remote one (tier 3, private cloud, not for personal data)."""
    profiles = [
        {"id": "lokal", "backend": "scripted", "tier": 2, "capabilities": ["chat", "json_schema"]},
        {
            "id": "stark", "backend": "openai", "tier": 3, "location": "private-cloud",
            "capabilities": ["chat", "json_schema"],
            "data_classes": ["öffentlich", "intern"],
            "params": {"base_url": server_url, "model": "qwen"},
        },
    ]  # fmt: skip
    data_dir = write_catalogue(tmp_path / "data", profiles)
    return Settings(
        data_dir=data_dir, database_url=database_url, models_dir=MODELS_DIR, secret_key="x" * 40,
        default_model="lokal",
    )  # fmt: skip


def test_the_stronger_model_writes_from_the_same_evidence_under_the_same_check(
    services: Services, jena: TenantFixture
) -> None:
    _setup(services, jena, policy={"mode": "tier", "tier": 3})
    answer, prepared = _ask(services, jena, QUESTION)
    route, found = prepared.route, prepared.evidence
    assert route is not None
    assert route.chosen == "stark" and route.attempts[-1].outcome == "ok"
    assert found is not None and len(found.parts) == 2
    evidence_text = " ".join(q.text for q in found.quotes)
    for number in re.findall(r"\d+(?:,\d+)?", re.sub(r"\[\d+\]", "", answer)):
        assert number.removesuffix(",00") in evidence_text, (number, answer)  # nothing invented
    assert re.search(r"\[\d\]", answer), answer  # cited


def test_personal_data_stays_with_the_local_model(services: Services, jena: TenantFixture) -> None:
    _setup(services, jena, policy={"mode": "auto"})
    principal = Principal(tenant_id=jena.id, role=Role.admin)
    with services.db.session(jena.id) as session:
        spec = load(session, principal, "auskunft").spec
    spec.spec.data_class = "personenbezogen"
    request = ChatRequest(messages=[Message(role="user", content=QUESTION)])
    prepared = prepare_for(services, principal, spec, request)
    assert prepared.route is not None and prepared.route.chosen != "stark"
    assert any(r.model == "stark" and r.reason.code == "data_class" for r in prepared.route.rejected)
