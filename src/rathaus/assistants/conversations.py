"""Conversations with assistants: a person's chat history, kept per tenant and deletable by its owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from rathaus.identity.models import Tenant
from rathaus.llm.backend import Message
from rathaus.store.base import Base, TenantOwned, UtcDateTime, utcnow
from rathaus.store.batches import delete_by_ids
from rathaus.store.tenancy import NotFound, get_or_404

TITLE_LENGTH = 80


class Conversation(TenantOwned, Base):
    """One chat of a person with an assistant."""

    __tablename__ = "conversations"

    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assistant_name: Mapped[str] = mapped_column(String(63))
    title: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class ConversationMessage(TenantOwned, Base):
    """One message of a conversation."""

    __tablename__ = "conversation_messages"

    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    # for answers from knowledge: the sources listed under the answer (number, passage, title, heading, page)
    sources: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    # for answers: which model answered, why, the other models and why not, and what it cost
    route: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


def own(session: Session, user_id: str, conversation_id: str) -> Conversation:
    """A conversation of this person; anyone else's answers NotFound."""
    conversation = get_or_404(session, Conversation, conversation_id)
    if conversation.user_id != user_id:
        raise NotFound("Conversation", conversation_id)
    return conversation


def start(session: Session, user_id: str, assistant_name: str, first_message: str) -> Conversation:
    """A new conversation titled after its first message."""
    title = " ".join(first_message.split())[:TITLE_LENGTH] or assistant_name
    conversation = Conversation(
        user_id=user_id, assistant_name=assistant_name, title=title, updated_at=utcnow()
    )
    session.add(conversation)
    session.flush()
    return conversation


def append(
    session: Session,
    conversation: Conversation,
    role: str,
    content: str,
    sources: list[dict[str, Any]] | None = None,
    route: dict[str, Any] | None = None,
) -> None:
    """Add a message (an answer with its sources and route) and mark the conversation as recently used."""
    session.add(
        ConversationMessage(
            conversation_id=conversation.id, role=role, content=content, sources=sources or None, route=route
        )
    )
    conversation.updated_at = utcnow()


def stored(session: Session, conversation: Conversation) -> list[ConversationMessage]:
    """The stored messages in order."""
    return list(
        session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation.id)
            .order_by(ConversationMessage.created_at, ConversationMessage.id)
        )
    )


def history(session: Session, conversation: Conversation) -> list[Message]:
    """The messages in order, as model messages."""
    return [
        Message(role="assistant" if r.role == "assistant" else "user", content=r.content)
        for r in stored(session, conversation)
    ]


def recent(session: Session, user_id: str, limit: int = 50) -> list[Conversation]:
    """A person's conversations, newest first."""
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.user_id == user_id)
            .order_by(Conversation.updated_at.desc())
            .limit(limit)
        )
    )


def kept_days(session: Session, tenant_id: str) -> int:
    """How many days the tenant keeps conversations; 0 means they stay in the browser only."""
    tenant = session.get(Tenant, tenant_id)
    return tenant.conversation_days if tenant is not None else 0


def purge(session: Session, now: datetime | None = None) -> int:
    """Delete conversations past their tenant's retention, in every tenant (system session).

    Returns how many conversations were deleted, with all their messages.
    """
    now = now or utcnow()
    deleted = 0
    for tenant in session.scalars(select(Tenant)):
        cutoff = now - timedelta(days=tenant.conversation_days)
        expired = select(Conversation.id).where(
            Conversation.tenant_id == tenant.id, Conversation.updated_at <= cutoff
        )
        ids = list(session.scalars(expired))
        delete_by_ids(session, ids, ConversationMessage.conversation_id, Conversation.id)
        deleted += len(ids)
    return deleted
