"""The staff side of approval steps: the inbox, a decision, and approvals whose deadline passed.

A decision is stored with the step's outcome in one transaction, and only a pending approval can be
decided, so two people deciding at once cannot both win. Approving queues the run again; rejecting ends it
(status `rejected`); a deadline that passes fails the run with that reason (it can be retried). With either
decision the person may correct the label of a classify step the run went through (workflows/labels.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.identity.visibility import Forbidden
from rathaus.store.base import utcnow
from rathaus.store.db import Database
from rathaus.store.tenancy import NotFound, get_or_404
from rathaus.workflows import labels
from rathaus.workflows.models import Approval, StepRun, WorkflowRun
from rathaus.workflows.steps.approval import decision_output

Decision = Literal["approved", "rejected"]
MAX_TEXT = 100_000


class AlreadyDecided(ValueError):
    """The approval was decided (or expired) before; the message says how."""


def inbox(session: Session, principal: Principal, status: str = "pending") -> list[Approval]:
    """Approvals the caller's role may decide, oldest first."""
    roles = [role.value for role in Role if principal.has_role(role)]
    return list(
        session.scalars(
            select(Approval)
            .where(Approval.status == status, Approval.role.in_(roles))
            .order_by(Approval.created_at)
            .limit(500)
        )
    )


def decide(
    session: Session,
    principal: Principal,
    approval_id: str,
    decision: Decision,
    text: str | None = None,
    comment: str = "",
    chosen_labels: Mapping[str, str] | None = None,
) -> Approval:
    """Approve (with the text as edited, if given) or reject; the run continues or ends accordingly.
    `chosen_labels` (classify step id → label) corrects the labels the run's classify steps gave."""
    approval = get_or_404(session, Approval, approval_id)
    if not principal.has_role(Role(approval.role)):
        raise Forbidden(f"deciding this approval needs the role '{approval.role}'")
    if text is not None and not text.strip():
        raise ValueError("the approved text must not be empty")
    if text is not None and len(text) > MAX_TEXT:
        raise ValueError(f"the text is longer than {MAX_TEXT} characters")
    corrections = labels.check(session, approval.run_id, chosen_labels or {})
    now = utcnow()
    taken = session.execute(
        update(Approval)
        .where(Approval.id == approval.id, Approval.status == "pending")
        .values(
            status=decision,
            decided_by=principal.user_id,
            decided_at=now,
            final_text=text if decision == "approved" else None,
            comment=comment[:2000],
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyDecided(f"this approval was already {approval.status}")
    session.refresh(approval)
    labels.correct(session, principal, approval.run_id, corrections)
    step = session.scalars(
        select(StepRun).where(StepRun.run_id == approval.run_id, StepRun.step_id == approval.step_id)
    ).one()
    run = session.get(WorkflowRun, approval.run_id)
    if run is None:
        raise NotFound("WorkflowRun", approval.run_id)
    step.status, step.output, step.finished_at = "succeeded", decision_output(approval), now
    if decision == "approved":
        run.status, run.updated_at = "queued", now
    else:
        run.status, run.finished_at, run.updated_at = "rejected", now, now
    session.flush()
    return approval


def expire_overdue(db: Database) -> int:
    """Expire pending approvals past their deadline and fail their runs; returns how many."""
    now = utcnow()
    with db.system_session() as session:
        overdue = list(
            session.scalars(select(Approval).where(Approval.status == "pending", Approval.deadline_at < now))
        )
        for approval in overdue:
            taken = session.execute(  # only if still pending: a decision made meanwhile stands
                update(Approval)
                .where(Approval.id == approval.id, Approval.status == "pending")
                .values(status="expired")
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue
            run = session.get(WorkflowRun, approval.run_id)
            step = session.scalars(
                select(StepRun).where(StepRun.run_id == approval.run_id, StepRun.step_id == approval.step_id)
            ).first()
            reason = "nobody decided the approval before its deadline"
            if step is not None:
                step.status, step.error, step.finished_at = "failed", reason, now
                step.error_code = "approval_expired"
            if run is not None and run.status == "waiting":
                run.error_code = "approval_expired"
                run.status, run.failed_step, run.error, run.finished_at = (
                    "failed",
                    approval.step_id,
                    reason,
                    now,
                )
    return len(overdue)
