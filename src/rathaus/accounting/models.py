"""The request record: one row per model request, the ground truth for energy, CO₂ and cost."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.store.base import Base, TenantOwned


class RequestRecord(TenantOwned, Base):
    """Who asked which model what it cost, and how it went."""

    __tablename__ = "request_records"
    __table_args__ = (Index("ix_request_records_created_at", "created_at"),)

    user_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    api_key_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("api_keys.id", ondelete="SET NULL"), default=None
    )
    endpoint: Mapped[str] = mapped_column(String(50))
    profile_id: Mapped[str] = mapped_column(String(100), index=True)
    backend: Mapped[str] = mapped_column(String(50))
    location: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # ok, error, cancelled
    error: Mapped[str | None] = mapped_column(Text, default=None)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    ttft_ms: Mapped[float | None] = mapped_column(Float, default=None)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    cpu_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    wh: Mapped[float | None] = mapped_column(Float, default=None)
    wh_method: Mapped[str] = mapped_column(String(20), default="unknown", server_default="unknown")
    wh_uncertainty: Mapped[float | None] = mapped_column(Float, default=None)
    co2_g: Mapped[float | None] = mapped_column(Float, default=None)
    eur: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    reference_profile_id: Mapped[str | None] = mapped_column(String(100), default=None)
    reference_wh: Mapped[float | None] = mapped_column(Float, default=None)
    reference_eur: Mapped[float | None] = mapped_column(Float, default=None)
    route: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    tier: Mapped[int | None] = mapped_column(Integer, default=None)
    assistant: Mapped[str | None] = mapped_column(String(100), default=None)
