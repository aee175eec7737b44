"""Chatbot tables: the published chatbot, its widget sessions and messages, hand-offs and the daily count.

Transcripts (sessions and messages) are kept as long as the tenant keeps conversations; feedback is also
counted on the chatbot itself so the statistics outlive the transcripts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.store.base import Base, TenantOwned, UtcDateTime


class Chatbot(TenantOwned, Base):
    """An assistant published for citizens, with its look, its allowed origins and its widget token."""

    __tablename__ = "chatbots"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(63))
    token: Mapped[str] = mapped_column(String(64), unique=True)  # public: names the chatbot, grants no login
    assistant: Mapped[str] = mapped_column(String(63))
    title: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)  # ChatbotSettings as JSON
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    helpful: Mapped[int] = mapped_column(Integer, default=0)
    not_helpful: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WidgetSession(TenantOwned, Base):
    """One conversation in the widget; its id lives only in the citizen's open page."""

    __tablename__ = "widget_sessions"

    chatbot_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("chatbots.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(10), default="de")
    last_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class WidgetMessage(TenantOwned, Base):
    """A message in a widget session: the citizen's question or the bot's answer (with sources)."""

    __tablename__ = "widget_messages"

    session_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("widget_sessions.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(10))  # user | assistant
    content: Mapped[str] = mapped_column(Text)
    sources: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    declined: Mapped[bool] = mapped_column(Boolean, default=False)
    easy: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(10), default="de")
    helpful: Mapped[bool | None] = mapped_column(Boolean, nullable=True, default=None)


class Handoff(TenantOwned, Base):
    """A citizen's request to be contacted by a person, with what they wrote and the conversation so far."""

    __tablename__ = "handoffs"

    chatbot_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("chatbots.id", ondelete="CASCADE"), index=True
    )
    reference: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    contact: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    transcript: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open | done
    run_id: Mapped[str | None] = mapped_column(String(32), default=None)
    done_by: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class WidgetDay(TenantOwned, Base):
    """Messages a tenant's chatbots answered on one day (the daily quota)."""

    __tablename__ = "widget_days"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    day: Mapped[date] = mapped_column(Date)
    messages: Mapped[int] = mapped_column(Integer, default=0)
