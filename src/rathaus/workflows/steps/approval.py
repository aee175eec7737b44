"""The human approval step: a person approves (maybe after editing the text) or rejects; the run waits.

The approval appears in the staff inbox of everyone with the step's role; it may wait days. In a test run
nobody is asked: the proposal counts as approved, marked as a test.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from rathaus.store.base import utcnow
from rathaus.workflows.models import Approval
from rathaus.workflows.steps import Halt, StepContext, StepFailed, StepType, Waiting


class ApprovalSettings(BaseModel):
    """What the person sees and decides, who decides, and by when."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="Bitte prüfen und freigeben", min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=100_000, description="The proposal; the person may edit it.")
    details: Any = Field(default=None, description="What the person needs to decide (shown, not edited).")
    role: Literal["staff", "builder", "admin"] = "staff"
    deadline_hours: float = Field(default=72, gt=0, le=24 * 90)


def decision_output(approval: Approval) -> dict[str, Any]:
    """What an approval step returns once decided."""
    return {
        "decision": approval.status,
        "text": approval.final_text if approval.final_text is not None else approval.text,
        "edited": approval.final_text is not None and approval.final_text != approval.text,
        "comment": approval.comment or "",
        "decided_by": approval.decided_by,
    }


class ApprovalStep(StepType):
    """Wait for a person's decision."""

    name = "approval"
    outputs = ("text", "comment")
    settings = ApprovalSettings
    category = "people"

    def run(self, context: StepContext, settings: ApprovalSettings) -> Any:
        """The decision once made; until then `Waiting` (the run pauses)."""
        if context.test:
            return {
                "decision": "approved",
                "text": settings.text,
                "edited": False,
                "comment": "",
                "test": True,
            }
        db = context.services.db
        with db.session(context.principal.tenant_id) as session:
            approval = session.scalars(
                select(Approval).where(Approval.run_id == context.run_id, Approval.step_id == context.step_id)
            ).first()
            if approval is None:  # asked once, even when the step runs again after a crash
                approval = Approval(
                    run_id=context.run_id,
                    step_id=context.step_id,
                    role=settings.role,
                    title=settings.title,
                    text=settings.text,
                    context=settings.details,
                    status="pending",
                    deadline_at=utcnow() + timedelta(hours=settings.deadline_hours),
                )
                session.add(approval)
                session.flush()
            if approval.status == "pending":
                return Waiting(approval.id)
            if approval.status == "expired":
                raise StepFailed(
                    "nobody decided the approval before its deadline", retry=False, code="approval_expired"
                )
            if approval.status == "rejected":
                return Halt("rejected", decision_output(approval))
            return decision_output(approval)
