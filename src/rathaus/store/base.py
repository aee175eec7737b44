"""The declarative base and the mixins every table builds on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time in UTC (stored timezone-aware)."""
    return datetime.now(UTC)


def new_id() -> str:
    """A random, unguessable id: ids never reveal how many objects another tenant has."""
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    """Base of all Rathaus tables."""

    metadata = MetaData(naming_convention=NAMING)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TenantOwned:
    """Mixin for rows that belong to one tenant; scoping (store.tenancy) filters on it everywhere."""

    @declared_attr
    def tenant_id(cls) -> Mapped[str]:
        return mapped_column(String(32), ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
