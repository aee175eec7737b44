"""Publishing chatbots: a builder publishes an assistant with knowledge for the city's website.

The widget token names the chatbot publicly; it is made once and kept when the settings change.
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rathaus.assistants import policy
from rathaus.assistants import registry as assistants
from rathaus.chatbots.models import Chatbot, Handoff
from rathaus.identity.directory import Conflict
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.identity.visibility import Forbidden
from rathaus.llm.catalogue import Catalogue
from rathaus.routing.clearance import Exposure
from rathaus.store.base import utcnow
from rathaus.store.tenancy import NotFound

ORIGIN = r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$"
LANGUAGES = ("de", "en", "tr", "uk", "ar", "ru", "fr", "pl", "es", "it")
# Citizens may write anything, personal data included: every widget turn carries the strictest class.
CITIZENS = Exposure.of("personenbezogen", "conversation")


class NotPublishable(ValueError):
    """The assistant cannot be published as a chatbot; the message says why."""


class ModelNotCleared(NotPublishable):
    """No model the assistant's policy may use is cleared for citizens' messages and its sources; the
    message (German) names the parts."""


class ChatbotSettings(BaseModel):
    """What a builder sets for a chatbot."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    assistant: str = Field(min_length=1, max_length=63, description="The assistant that answers.")
    title: str = Field(min_length=1, max_length=200)
    greeting: str = Field(
        default="Guten Tag! Ich beantworte Fragen zu den Dienstleistungen der Stadt.", max_length=500
    )
    color: str = Field(default="#004B87", pattern=r"^#[0-9a-fA-F]{6}$", description="The widget's colour.")
    logo_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    privacy_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    origins: list[str] = Field(
        min_length=1, max_length=20, description="Websites that may embed the widget (scheme://host[:port])."
    )
    languages: list[str] = Field(default_factory=lambda: ["de", "en"], min_length=1, max_length=10)
    handoff: bool = Field(default=True, description="Citizens can ask to be contacted by a person.")
    handoff_workflow: str | None = Field(
        default=None, max_length=63, description="A workflow each hand-off starts (besides the inbox)."
    )
    max_chars: int = Field(default=500, ge=50, le=2000, description="Longest message a citizen may send.")

    @field_validator("origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        import re

        cleaned = [o.strip().rstrip("/").lower() for o in origins]
        for origin in cleaned:
            if not re.fullmatch(ORIGIN, origin):
                raise ValueError(f"'{origin[:100]}' is not an origin like https://www.stadt.example")
        return list(dict.fromkeys(cleaned))

    @field_validator("languages")
    @classmethod
    def _languages(cls, languages: list[str]) -> list[str]:
        unknown = [code for code in languages if code not in LANGUAGES]
        if unknown:
            raise ValueError(f"unknown language {', '.join(unknown)}; known: {', '.join(LANGUAGES)}")
        return ["de", *[code for code in dict.fromkeys(languages) if code != "de"]]


def settings_of(bot: Chatbot) -> ChatbotSettings:
    """A chatbot's settings as stored."""
    return ChatbotSettings.model_validate(bot.settings)


def publishable(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """The assistants a chatbot can answer with — visible to the whole tenant and with knowledge — as
    (name, title)."""
    found = []
    for assistant in assistants.listing(session, principal):
        if (
            assistant.visibility == "tenant"
            and assistants.load(session, principal, assistant.name).spec.spec.knowledge
        ):
            found.append((assistant.name, assistant.title))
    return found


def publish(
    session: Session,
    principal: Principal,
    settings: ChatbotSettings,
    catalogue: Catalogue,
    create: bool = False,
) -> Chatbot:
    """Publish the assistant as a chatbot, or change the chatbot's settings (its token stays); with
    `create`, a chatbot of that name must not exist yet (Conflict). Refused (NotPublishable) when no model
    the assistant's policy may use is cleared for citizens' messages and the assistant's sources."""
    if not principal.has_role(Role.builder):
        raise Forbidden("publishing chatbots needs the role 'builder'")
    spec = assistants.load(session, principal, settings.assistant).spec
    if not spec.spec.knowledge:
        raise NotPublishable(
            f"assistant '{settings.assistant}' has no knowledge collection: a chatbot answers only from "
            "the city's sources"
        )
    if spec.spec.visibility != "tenant":
        raise NotPublishable(f"assistant '{settings.assistant}' must be visible to the whole tenant")
    mismatch = policy.problem(session, catalogue, spec, CITIZENS)
    if mismatch is not None:
        raise ModelNotCleared(mismatch)
    bot = session.scalars(select(Chatbot).where(Chatbot.name == settings.name)).first()
    if create and bot is not None:
        raise Conflict(f"a chatbot named '{settings.name}' exists already")
    document: dict[str, Any] = settings.model_dump(mode="json")
    if bot is None:
        bot = Chatbot(name=settings.name, token=secrets.token_urlsafe(24))
        session.add(bot)
    bot.assistant, bot.title, bot.settings, bot.updated_at = (
        settings.assistant,
        settings.title,
        document,
        utcnow(),
    )
    session.flush()
    return bot


def find(session: Session, name: str) -> Chatbot:
    """The tenant's chatbot with this name; NotFound otherwise."""
    bot = session.scalars(select(Chatbot).where(Chatbot.name == name)).first()
    if bot is None:
        raise NotFound("Chatbot", name[:64])
    return bot


def by_token(session: Session, token: str) -> Chatbot | None:
    """The enabled chatbot with this widget token (any tenant: use a system session)."""
    bot = session.scalars(select(Chatbot).where(Chatbot.token == token[:64])).first()
    return bot if bot is not None and bot.enabled else None


def listing(session: Session) -> list[Chatbot]:
    """The tenant's chatbots by title."""
    return list(session.scalars(select(Chatbot).order_by(func.lower(Chatbot.title))))


def delete(session: Session, principal: Principal, name: str) -> None:
    """Withdraw a chatbot: its widget stops working, its transcripts go with it. Refused (Conflict) while
    citizens' hand-offs to it are still open, so no request is lost unanswered."""
    if not principal.has_role(Role.builder):
        raise Forbidden("withdrawing chatbots needs the role 'builder'")
    bot = find(session, name)
    open_handoffs = session.scalars(
        select(Handoff.id).where(Handoff.chatbot_id == bot.id, Handoff.status == "open")
    ).first()
    if open_handoffs is not None:
        raise Conflict("the chatbot still has open hand-offs: mark them done first")
    session.delete(bot)
