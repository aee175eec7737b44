"""The request record: one row per model request, the ground truth for energy, CO₂ and cost."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.store.base import Base, TenantOwned, UtcDateTime


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


class Budget(TenantOwned, Base):
    """A monthly limit in euros and/or kWh for the whole tenant (no assistant) or one assistant."""

    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("tenant_id", "assistant", name="uq_budgets_tenant_assistant"),)

    assistant: Mapped[str | None] = mapped_column(String(100), default=None)
    eur_per_month: Mapped[float | None] = mapped_column(Float, default=None)
    kwh_per_month: Mapped[float | None] = mapped_column(Float, default=None)
    # what happens when it is used up: refuse further requests, or downgrade to the smallest eligible model
    action: Mapped[str] = mapped_column(String(20), default="refuse")


class BudgetMonth(TenantOwned, Base):
    """What one budget has spent (and reserved for requests still running) in one calendar month."""

    __tablename__ = "budget_months"
    __table_args__ = (UniqueConstraint("budget_id", "month", name="uq_budget_months_budget_month"),)

    budget_id: Mapped[str] = mapped_column(String(32), ForeignKey("budgets.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM (UTC)
    spent_eur: Mapped[float] = mapped_column(Float, default=0.0)
    spent_wh: Mapped[float] = mapped_column(Float, default=0.0)
    reserved_eur: Mapped[float] = mapped_column(Float, default=0.0)
    reserved_wh: Mapped[float] = mapped_column(Float, default=0.0)


class BudgetReservation(TenantOwned, Base):
    """What one running request has reserved on one budget's month, until the request ends.

    Its amounts are also in the month's `reserved_*`; whoever deletes the row gives them back, so they are
    given back once. A request renews `expires_at` while it runs; a row left to expire belongs to a request
    whose process is gone (killed, crashed), and any process releases it.
    """

    __tablename__ = "budget_reservations"

    budget_month_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("budget_months.id", ondelete="CASCADE"), index=True
    )
    eur: Mapped[float] = mapped_column(Float)
    wh: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # what the request was, for the warning when it never ends (it leaves no request record then)
    model: Mapped[str | None] = mapped_column(String(100), default=None)
    assistant: Mapped[str | None] = mapped_column(String(100), default=None)
    user_id: Mapped[str | None] = mapped_column(String(32), default=None)
