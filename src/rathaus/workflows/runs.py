"""Runs as staff and clients see them: start, list, show, retry, cancel — the same for API, UI and CLI."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.identity.visibility import Forbidden
from rathaus.store.base import utcnow
from rathaus.store.tenancy import get_or_404
from rathaus.workflows import readiness, registry
from rathaus.workflows.engine import Engine, InputInvalid, input_problems
from rathaus.workflows.executor import Executor, InProcessExecutor
from rathaus.workflows.models import RUN_FINISHED, Approval, StepRun, Workflow, WorkflowRun

if TYPE_CHECKING:
    from rathaus.services import Services


class NotRetryable(ValueError):
    """Only a failed run can be retried; only an unfinished one cancelled."""


class Workflows:
    """The workflow engine of this process and the executor that runs it."""

    def __init__(self, services: Services, executor: Executor | None = None) -> None:
        self.services = services
        self.engine = Engine(services)
        self.executor: Executor = executor or self._configured()

    def _configured(self) -> Executor:
        """The executor the settings name: threads in this process, or Celery workers."""
        settings = self.services.settings
        if settings.executor == "celery":
            from rathaus.workflows.celery_executor import CeleryExecutor

            return CeleryExecutor(self.engine, settings)
        return InProcessExecutor(self.engine, settings.workflow_workers)

    def start(
        self,
        principal: Principal,
        name: str,
        data: Any,
        trigger: str = "manual",
        test: bool = False,
        version: int | None = None,
    ) -> WorkflowRun:
        """Queue a run of the workflow's current version (or the one given); the executor starts it. A run a
        person or client starts is refused (`readiness.NotReady`) while a step lacks what it needs."""
        if test and not principal.has_role(Role.builder):
            raise Forbidden("test runs are for people who build workflows (role 'builder')")
        with self.services.db.session(principal.tenant_id) as session:
            saved = registry.load(session, name, version)
            if not test and trigger in readiness.REFUSED_TRIGGERS:
                problems = input_problems(saved.spec.spec.input, data)  # the caller's own mistakes first
                if problems:
                    raise InputInvalid(problems)
                gaps = readiness.gaps(self.services, session, principal, saved.spec)
                if gaps:
                    raise readiness.NotReady(gaps)
            run = self.engine.start(
                session, principal, saved.workflow.id, saved.version, saved.spec, data, trigger, test
            )
        self.executor.submit(run.id)
        return run

    def run_here(self, run_id: str, timeout: float) -> str:
        """Run it in this thread until it finishes, waits or fails (the CLI, tests); returns the status."""
        deadline = time.monotonic() + timeout
        status = self.engine.status(run_id)
        while time.monotonic() < deadline:
            status = self.engine.advance(run_id) or self.engine.status(run_id)
            if status in (*RUN_FINISHED, "waiting"):
                return status
            time.sleep(0.2)
        return status


def submit_after_commit(session: Session, executor: Executor, run_id: str) -> None:
    """Wake the executor for the run once the session's transaction is committed (not before: a worker
    would not see the run yet)."""
    event.listen(session, "after_commit", lambda _: executor.submit(run_id), once=True)


def listing(
    session: Session, workflow: str | None = None, status: str | None = None, limit: int = 50
) -> list[tuple[WorkflowRun, str]]:
    """The newest runs with their workflow's name, optionally of one workflow or status."""
    statement = (
        select(WorkflowRun, Workflow.name)
        .join(Workflow, Workflow.id == WorkflowRun.workflow_id)
        .order_by(WorkflowRun.created_at.desc())
        .limit(min(max(limit, 1), 500))
    )
    if workflow:
        statement = statement.where(Workflow.name == workflow)
    if status:
        statement = statement.where(WorkflowRun.status == status)
    return [(run, name) for run, name in session.execute(statement)]


def steps_of(session: Session, run_id: str) -> list[StepRun]:
    """A run's steps in run order."""
    return list(session.scalars(select(StepRun).where(StepRun.run_id == run_id).order_by(StepRun.position)))


def retry(session: Session, principal: Principal, run_id: str) -> WorkflowRun:
    """Try a failed run again from the step that failed (steps that succeeded are not repeated)."""
    run = get_or_404(session, WorkflowRun, run_id)
    if run.status != "failed":
        raise NotRetryable(f"only a failed run can be retried; this one is {run.status}")
    for step in steps_of(session, run.id):
        if step.status in ("failed", "retrying", "running", "waiting"):
            step.status, step.attempts, step.error, step.finished_at = "pending", 0, None, None
            session.execute(
                delete(Approval).where(Approval.run_id == run.id, Approval.step_id == step.step_id)
            )
    run.status, run.error, run.failed_step, run.finished_at = "queued", None, None, None
    run.error_code = run.error_values = None
    run.wake_at, run.lease_owner, run.lease_until, run.updated_at = None, None, None, utcnow()
    session.flush()
    return run


def cancel(session: Session, principal: Principal, run_id: str) -> WorkflowRun:
    """Stop a run that has not finished (a step under way completes, nothing after it runs)."""
    run = get_or_404(session, WorkflowRun, run_id)
    if run.status in RUN_FINISHED:
        raise NotRetryable(f"the run has finished already ({run.status})")
    now = utcnow()
    run.status, run.finished_at, run.updated_at = "cancelled", now, now
    session.execute(delete(Approval).where(Approval.run_id == run.id, Approval.status == "pending"))
    session.flush()
    return run


def run_json(run: WorkflowRun, name: str, steps: list[StepRun] | None = None) -> dict[str, Any]:
    """A run as the API shows it (with its steps when given)."""
    body: dict[str, Any] = {
        "id": run.id,
        "workflow": name,
        "version": run.version,
        "status": run.status,
        "trigger": run.trigger,
        "test": run.test,
        "input": run.input,
        "output": run.output,
        "error": run.error,
        "error_code": run.error_code,
        "error_values": run.error_values,
        "failed_step": run.failed_step,
        "retryable": run.status == "failed",
        "wh": round(run.wh, 6),
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    if steps is not None:
        body["steps"] = [
            {
                "id": s.step_id,
                "type": s.type,
                "status": s.status,
                "attempts": s.attempts,
                "settings": s.settings,
                "output": s.output,
                "error": s.error,
                "error_code": s.error_code,
                "error_values": s.error_values,
                "seconds": round(s.seconds, 3),
                "wh": round(s.wh, 6),
                "route": s.route,
                "started_at": s.started_at.isoformat() if s.started_at else None,
                "finished_at": s.finished_at.isoformat() if s.finished_at else None,
            }
            for s in steps
        ]
    return body
