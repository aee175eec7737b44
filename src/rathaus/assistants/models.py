"""Assistant tables: the assistant (name, owner, visibility) and every version of its document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.store.base import Base, TenantOwned, UtcDateTime


class Assistant(TenantOwned, Base):
    """An assistant of a tenant; its current document is the newest AssistantVersion."""

    __tablename__ = "assistants"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(63))
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id", ondelete="SET NULL"))
    visibility: Mapped[str] = mapped_column(String(20))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class AssistantVersion(TenantOwned, Base):
    """One saved state of an assistant's document; versions are never changed, only added."""

    __tablename__ = "assistant_versions"
    __table_args__ = (UniqueConstraint("assistant_id", "version"),)

    assistant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("assistants.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    author_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id", ondelete="SET NULL"))
