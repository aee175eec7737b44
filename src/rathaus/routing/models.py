"""Routing's own table: how well a language model classifies a label set, against tier 0."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.store.base import Base, TenantOwned, UtcDateTime


class LabelTrial(TenantOwned, Base):
    """One measurement: tier 0 and one language model on the held-out examples of one label set."""

    __tablename__ = "label_trials"
    __table_args__ = (UniqueConstraint("tenant_id", "labels_key", "model_id"),)

    labels_key: Mapped[str] = mapped_column(String(64))  # routing.label_trials.key_of
    model_id: Mapped[str] = mapped_column(String(100))
    total: Mapped[int] = mapped_column(Integer)  # examples tried
    tier0_correct: Mapped[int] = mapped_column(Integer)
    model_correct: Mapped[int] = mapped_column(Integer)
    unsure: Mapped[int] = mapped_column(Integer)  # examples where tier 0 was unsure
    tier0_unsure_correct: Mapped[int] = mapped_column(Integer)
    model_unsure_correct: Mapped[int] = mapped_column(Integer)
    model_only: Mapped[int] = mapped_column(Integer)  # of those: the model right where tier 0 was wrong
    tier0_only: Mapped[int] = mapped_column(Integer)  # … and tier 0 right where the model was wrong
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime)
