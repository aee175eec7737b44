"""Workflow tables: the workflow and its versions, runs, step runs and approvals.

A run's whole state is here, so any executor (in-process or Celery, on any machine) can pick it up after a
crash: the lease says who works on it until when; a step's status and attempts say where it stands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.store.base import Base, TenantOwned, UtcDateTime

# Run status: queued → running → (waiting ↔ running) → succeeded | failed | rejected | cancelled
RUN_OPEN = ("queued", "running")
RUN_FINISHED = ("succeeded", "failed", "rejected", "cancelled")
# Step status: pending → running → succeeded | failed | skipped; waiting (for a person); retrying
STEP_DONE = ("succeeded", "skipped")


class Workflow(TenantOwned, Base):
    """A workflow of a tenant; its current document is the newest WorkflowVersion."""

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(63))
    title: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id", ondelete="SET NULL"))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    webhook_key: Mapped[str] = mapped_column(String(64))  # signs webhook calls (HMAC-SHA256)
    scheduled_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # last slot started
    inbox_cursor: Mapped[str | None] = mapped_column(String(160), default=None)  # last mail started


class WorkflowVersion(TenantOwned, Base):
    """One saved state of a workflow's document; runs keep the version they started with."""

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "version"),)

    workflow_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("workflows.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    author_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id", ondelete="SET NULL"))


class WorkflowRun(TenantOwned, Base):
    """One run of one version of a workflow with its input."""

    __tablename__ = "workflow_runs"

    workflow_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("workflows.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    trigger: Mapped[str] = mapped_column(String(20))
    test: Mapped[bool] = mapped_column(Boolean, default=False)  # a trial: nothing is sent, no one asked
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    output: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)  # technical, in English, for IT
    error_code: Mapped[str | None] = mapped_column(
        String(40), default=None
    )  # what pages say (web/run_errors)
    error_values: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    failed_step: Mapped[str | None] = mapped_column(String(40), default=None)
    started_by: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id", ondelete="SET NULL"))
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    wake_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    wh: Mapped[float] = mapped_column(Float, default=0.0)


class StepRun(TenantOwned, Base):
    """One step of one run: its status, attempts, filled-in settings, output, time and energy."""

    __tablename__ = "workflow_step_runs"
    __table_args__ = (UniqueConstraint("run_id", "step_id"),)

    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    settings: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    output: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    error_values: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    route: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    wh: Mapped[float] = mapped_column(Float, default=0.0)


class Approval(TenantOwned, Base):
    """A person's decision a run waits for: approve (maybe with an edited text) or reject."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("run_id", "step_id"),)

    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    context: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending, approved, rejected, expired
    deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    final_text: Mapped[str | None] = mapped_column(Text, default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)


class WebhookSignature(Base):
    """A signature of an accepted webhook call, kept until its timestamp leaves the window, so that the
    same call is not accepted twice (not tenant-owned: it is checked before anyone is known)."""

    __tablename__ = "webhook_signatures"

    signature: Mapped[str] = mapped_column(String(64), unique=True)  # hex HMAC-SHA256
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class LabelCorrection(TenantOwned, Base):
    """A label a person corrected at an approval: the text a classify step sorted, and the right label.
    The step's later runs use it as an example for tier 0 (workflows/labels.py)."""

    __tablename__ = "label_corrections"

    workflow_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("workflows.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    was: Mapped[str] = mapped_column(String(100))  # the label the step had given
    text: Mapped[str] = mapped_column(Text)
    data_class: Mapped[str] = mapped_column(String(20))  # of what the step's prompt carried in that run
    run_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("workflow_runs.id", ondelete="SET NULL"), default=None
    )
    decided_by: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id", ondelete="SET NULL"))
