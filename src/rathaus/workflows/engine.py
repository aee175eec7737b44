"""The engine: durable runs whose every step's state is in the database.

A worker (a thread of the in-process executor, or a Celery worker) claims a run with a lease, runs its
next steps one by one, and stores each step's outcome before the next starts. A lease is renewed while
the worker lives; when a process dies its leases run out and any worker picks the runs up again where
they stood. A step that fails is tried again after a pause (up to its `retries`); a step that waits for a
person pauses the run without holding a worker; a run can wait days.

Steps run outside any database transaction (a model call can take a minute); a step that was running when
its worker died is run again — steps that send something out carry an idempotency key (the same for every
attempt) so that the receiver can tell a repeat.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.store.base import utcnow
from rathaus.workflows.expressions import ExpressionError
from rathaus.workflows.models import RUN_OPEN, STEP_DONE, StepRun, WorkflowRun, WorkflowVersion
from rathaus.workflows.spec import StepSpec, WorkflowSpec
from rathaus.workflows.steps import Halt, StepContext, StepFailed, Waiting, step_types

if TYPE_CHECKING:
    from rathaus.services import Services

logger = logging.getLogger(__name__)

LEASE_SECONDS = 30.0  # a dead worker's runs are picked up again after this
HEARTBEAT_SECONDS = 10.0
BACKOFF_SECONDS = (2.0, 10.0, 60.0, 300.0)  # pause before the 2nd, 3rd, 4th, … attempt
MAX_OUTPUT_CHARS = 1_000_000
STEP_THREADS = 32  # steps under way at once per process, including ones that overran their timeout
STOP_GRACE_SECONDS = 1.0  # an attempt that stops itself at its deadline (templates do) reports its own reason


REQUIRED = re.compile(r"^'(.+)' is a required property$")


class InputInvalid(ValueError):
    """The run's input does not match the workflow's input schema; `problems` name the fields."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{p['path'] or 'input'}: {p['message']}" for p in problems))
        self.problems = problems


def _not_finite(value: Any, path: str = "") -> list[dict[str, str]]:
    """Numbers JSON cannot carry (NaN, Infinity), which a run could not store or show."""
    if isinstance(value, float) and not math.isfinite(value):
        return [{"path": path, "message": f"{value} is not a number JSON can carry"}]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [p for key, item in items for p in _not_finite(item, f"{path}.{key}" if path else str(key))]


def input_problems(schema: dict[str, Any], value: Any) -> list[dict[str, Any]]:
    """Every way the input misses its schema, each with its path (e.g. `kontakt.email`)."""
    unusable = _not_finite(value)
    if unusable:
        return unusable
    validator = Draft202012Validator(schema)
    return [
        _problem(error)
        for error in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _problem(error: Any) -> dict[str, Any]:
    """One way the input misses its schema: where (`path`), the schema's message, which check failed
    (`check`: `required`, `maxLength`, …) with its `limit`, and the `field` it concerns (for a missing
    property its name, otherwise the path)."""
    path = ".".join(str(p) for p in error.absolute_path)
    field = path
    if error.validator == "required" and isinstance(error.instance, dict):
        named = REQUIRED.match(error.message)  # one error per missing property, naming it
        absent = [name for name in error.validator_value if name not in error.instance]
        name = named.group(1) if named else (str(absent[0]) if absent else "")
        field = ".".join(p for p in (path, name) if p)
    limit = error.validator_value
    return {
        "path": path,
        "message": error.message,
        "check": str(error.validator),
        "limit": limit if isinstance(limit, str | int | float) and not isinstance(limit, bool) else None,
        "field": field,
    }


def declared(schema: dict[str, Any], value: Any) -> Any:
    """The input as steps see it: a property the schema declares but the input leaves out (an optional
    field left empty) is there as None, so a template writes nothing and "is empty" holds; a name the
    schema does not declare is still an error."""
    properties = schema.get("properties")
    if not isinstance(value, dict) or not isinstance(properties, dict):
        return value
    return {**dict.fromkeys(properties), **value}


@dataclass(frozen=True)
class Planned:
    """A step in run order, with the branches it lies in: (condition step id, 'then' | 'else')."""

    step: StepSpec
    position: int
    guards: tuple[tuple[str, str], ...]


def plan(spec: WorkflowSpec) -> list[Planned]:
    """The steps in the order they run; branch steps follow their condition."""
    planned: list[Planned] = []

    def add(steps: list[StepSpec], guards: tuple[tuple[str, str], ...]) -> None:
        for step in steps:
            planned.append(Planned(step, len(planned), guards))
            add(step.then, (*guards, (step.id, "then")))
            add(step.otherwise, (*guards, (step.id, "else")))

    add(spec.spec.steps, ())
    return planned


def _selected(guards: tuple[tuple[str, str], ...], rows: dict[str, StepRun]) -> bool:
    for condition, branch in guards:
        row = rows.get(condition)
        if row is None or row.status != "succeeded" or not isinstance(row.output, dict):
            return False
        if row.output.get("branch") != branch:
            return False
    return True


def principal_of(run: WorkflowRun) -> Principal:
    """Who a run acts as: the person who started it (or the tenant, for triggers), with staff rights."""
    return Principal(tenant_id=run.tenant_id, role=Role.staff, user_id=run.started_by)


class Engine:
    """Starts runs and moves them forward; one per process, shared by its executor's workers."""

    def __init__(self, services: Services, owner: str | None = None) -> None:
        self.services = services
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None
        self._stopping = threading.Event()
        self._specs: dict[tuple[str, int], WorkflowSpec] = {}
        self._pool = ThreadPoolExecutor(max_workers=STEP_THREADS, thread_name_prefix="rathaus-step")

    # Starting

    def start(
        self,
        session: Session,
        principal: Principal,
        workflow_id: str,
        version: int,
        spec: WorkflowSpec,
        data: Any,
        trigger: str = "manual",
        test: bool = False,
    ) -> WorkflowRun:
        """A queued run of this version with this input (checked against the input schema first)."""
        problems = input_problems(spec.spec.input, data)
        if problems:
            raise InputInvalid(problems)
        now = utcnow()
        run = WorkflowRun(
            workflow_id=workflow_id,
            version=version,
            status="queued",
            trigger=trigger,
            test=test,
            input=data,
            started_by=principal.user_id,
            updated_at=now,
        )
        session.add(run)
        session.flush()
        for planned in plan(spec):
            session.add(
                StepRun(
                    run_id=run.id,
                    step_id=planned.step.id,
                    position=planned.position,
                    type=planned.step.type,
                    status="pending",
                )
            )
        session.flush()
        return run

    # Claiming

    def due(self, limit: int = 50) -> list[str]:
        """Runs that need a worker now: queued, woken after a pause, or left by a worker that died."""
        now = utcnow()
        with self.services.db.system_session(read_only=True) as session:
            return list(
                session.scalars(
                    select(WorkflowRun.id)
                    .where(
                        WorkflowRun.status.in_(RUN_OPEN),
                        or_(WorkflowRun.lease_until.is_(None), WorkflowRun.lease_until < now),
                        or_(WorkflowRun.wake_at.is_(None), WorkflowRun.wake_at <= now),
                    )
                    .order_by(WorkflowRun.created_at)
                    .limit(limit)
                )
            )

    def claim(self, run_id: str) -> str | None:
        """Take the run's lease if nobody holds it; the run's tenant when this engine now owns it."""
        now = utcnow()
        with self.services.db.system_session() as session:
            claimed = session.execute(
                update(WorkflowRun)
                .where(
                    WorkflowRun.id == run_id,
                    WorkflowRun.status.in_(RUN_OPEN),
                    or_(WorkflowRun.lease_until.is_(None), WorkflowRun.lease_until < now),
                    or_(WorkflowRun.wake_at.is_(None), WorkflowRun.wake_at <= now),
                )
                .values(
                    lease_owner=self.owner,
                    lease_until=now + timedelta(seconds=LEASE_SECONDS),
                    status="running",
                    wake_at=None,
                    updated_at=now,
                )
                .returning(WorkflowRun.tenant_id)
                .execution_options(synchronize_session=False)
            )
            tenant_id = claimed.scalar_one_or_none()
            if tenant_id is None:
                return None
        with self._lock:
            self._held.add(run_id)
        self._ensure_heartbeat()
        return str(tenant_id)

    def _release(self, run: WorkflowRun) -> None:
        run.lease_owner, run.lease_until, run.updated_at = None, None, utcnow()
        with self._lock:
            self._held.discard(run.id)

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(target=self._beat, name="rathaus-leases", daemon=True)
                self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stopping.wait(HEARTBEAT_SECONDS):
            with self._lock:
                held = list(self._held)
            if not held:
                continue
            try:
                with self.services.db.system_session() as session:
                    session.execute(
                        update(WorkflowRun)
                        .where(WorkflowRun.id.in_(held), WorkflowRun.lease_owner == self.owner)
                        .values(lease_until=utcnow() + timedelta(seconds=LEASE_SECONDS))
                        .execution_options(synchronize_session=False)
                    )
            except Exception:  # the database may be briefly away; the next beat tries again
                logger.exception("renewing workflow leases failed")

    def stop(self) -> None:
        """Stop renewing leases (the runs still held are picked up by others after the lease)."""
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # Running

    def advance(self, run_id: str) -> str:
        """Claim the run and run its steps until it finishes, waits, or pauses before a retry.

        Returns the run's status afterwards ('' when another worker holds it).
        """
        tenant_id = self.claim(run_id)
        if tenant_id is None:
            return ""
        try:
            return self._advance(run_id, tenant_id)
        except Exception:
            with self._lock:
                self._held.discard(run_id)
            raise

    def status(self, run_id: str) -> str:
        """The run's status as stored."""
        with self.services.db.system_session(read_only=True) as session:
            return session.scalars(select(WorkflowRun.status).where(WorkflowRun.id == run_id)).one()

    def pause_left(self, run_id: str) -> float:
        """Seconds until a run paused before a retry may go on (0 when it may now)."""
        with self.services.db.system_session(read_only=True) as session:
            wake = session.scalars(select(WorkflowRun.wake_at).where(WorkflowRun.id == run_id)).one()
        return max((wake - utcnow()).total_seconds(), 0.0) if wake is not None else 0.0

    def _advance(self, run_id: str, tenant_id: str) -> str:
        """Run steps one by one; each transaction stores one step's outcome and begins the next."""
        finished: tuple[Planned, Outcome, StepContext] | None = None
        while True:
            with self.services.db.session(tenant_id) as session:
                # The row lock (PostgreSQL; SQLite's write lock does the same) keeps a decision, a cancel
                # or an expiry from landing between reading the run and storing the step's outcome.
                run = session.scalars(
                    select(WorkflowRun).where(WorkflowRun.id == run_id).with_for_update()
                ).one()
                if run.lease_owner != self.owner:  # lost the lease (paused too long): let the other go on
                    with self._lock:
                        self._held.discard(run_id)
                    return ""
                rows = {
                    r.step_id: r for r in session.scalars(select(StepRun).where(StepRun.run_id == run_id))
                }
                if finished is not None:
                    planned, outcome, context = finished
                    step_row = rows[planned.step.id]
                    if self._record(run, step_row, planned.step, outcome, context) != "continue":
                        return run.status
                if run.status != "running":  # cancelled meanwhile
                    self._release(run)
                    return run.status
                spec = self._spec(session, run)
                begun = self._begin_next(run, spec, rows)
                if isinstance(begun, str):
                    return begun
            planned, context = begun
            finished = (planned, self._execute(planned.step, context), context)

    def _begin_next(
        self, run: WorkflowRun, spec: WorkflowSpec, rows: dict[str, StepRun]
    ) -> tuple[Planned, StepContext] | str:
        """Skip steps of branches not taken; mark the next step running and return it with its context, or
        return the run's status when it finishes or waits."""
        while True:
            nxt = self._next(spec, rows)
            if nxt is None:
                return self._finish(run, rows)
            planned, row = nxt
            if _selected(planned.guards, rows):
                break
            row.status, row.finished_at = "skipped", utcnow()
        if row.status == "waiting":
            return self._check_waiting(run)
        row.status, row.attempts, row.error = "running", row.attempts + 1, None
        row.error_code = row.error_values = None
        row.started_at = utcnow()
        context = StepContext(
            services=self.services,
            principal=principal_of(run),
            run_id=run.id,
            step_id=row.step_id,
            idempotency_key=f"rathaus-{run.id}-{row.step_id}",
            input=declared(spec.spec.input, run.input),
            outputs={r.step_id: r.output for r in rows.values() if r.status == "succeeded"},
            deadline=time.monotonic() + planned.step.timeout_seconds,
            attempt=row.attempts,
            test=run.test,
            data_class=spec.spec.data_class,
        )
        return planned, context

    def _spec(self, session: Session, run: WorkflowRun) -> WorkflowSpec:
        """The run's workflow version (versions never change, so each is read and checked once)."""
        key = (run.workflow_id, run.version)
        spec = self._specs.get(key)
        if spec is None:
            document = session.scalars(
                select(WorkflowVersion.document).where(
                    WorkflowVersion.workflow_id == run.workflow_id, WorkflowVersion.version == run.version
                )
            ).one()
            spec = self._specs[key] = WorkflowSpec.model_validate(document)
        return spec

    def _next(self, spec: WorkflowSpec, rows: dict[str, StepRun]) -> tuple[Planned, StepRun] | None:
        for planned in plan(spec):
            row = rows[planned.step.id]
            if row.status not in STEP_DONE:
                return planned, row
        return None

    def _execute(self, step: StepSpec, context: StepContext) -> Outcome:
        """Run one attempt on the step threads, so that a step that overruns its timeout is let go."""
        started = time.monotonic()
        future = self._pool.submit(self._attempt, step, context)
        try:
            outcome = future.result(timeout=step.timeout_seconds + STOP_GRACE_SECONDS)
        except FutureTimeout:
            if step_types()[step.type].side_effect and not future.cancel():
                # Something may be on its way out: wait for this attempt (its client's own timeouts bound
                # it) rather than trying again while it might still deliver.
                outcome = future.result()
            else:
                seconds = f"{step.timeout_seconds:g}"
                outcome = Outcome(
                    error=f"timed out after {seconds} s",
                    retry=True,
                    code="timeout",
                    values={"seconds": seconds},
                )
        outcome.seconds = time.monotonic() - started
        return outcome

    def _attempt(self, step: StepSpec, context: StepContext) -> Outcome:
        try:
            kind = step_types()[step.type]
            settings = kind.prepare(context, step.settings)
            context.settings = settings.model_dump(mode="json", by_alias=True)
            return Outcome(kind.run(context, settings))
        except StepFailed as exc:
            return Outcome(error=str(exc), retry=exc.retry, code=exc.code, values=exc.values or None)
        except ExpressionError as exc:
            return Outcome(error=str(exc), retry=False, code="template")
        except ValueError as exc:  # settings that do not fit once filled in
            return Outcome(error=f"invalid settings after filling in: {exc}", retry=False, code="settings")
        except Exception as exc:
            logger.exception("step %s of run %s failed", step.id, context.run_id)
            return Outcome(error=f"{type(exc).__name__}: {exc}", retry=True, code="unexpected")

    def _record(
        self,
        run: WorkflowRun,
        row: StepRun,
        step: StepSpec,
        outcome: Outcome,
        context: StepContext,
    ) -> str:
        """Store an attempt's outcome; 'continue' when the run goes on with its next step."""
        now = utcnow()
        row.seconds += outcome.seconds
        row.wh += context.wh
        run.wh += context.wh
        row.settings = context.settings
        if context.routes:
            row.route = context.routes[-1].as_json()
        if isinstance(outcome.value, Waiting) and row.status == "succeeded":  # decided in the meantime
            if run.status == "rejected":
                self._release(run)
                return "rejected"
            run.status = "running"
            return "continue"
        if run.status == "cancelled":  # keep what the step did (a mail sent is sent), then stop
            if outcome.error is None and not isinstance(outcome.value, Waiting):
                value = outcome.value.output if isinstance(outcome.value, Halt) else outcome.value
                row.status, row.output, row.finished_at = "succeeded", value, now
            else:
                row.status, row.finished_at = "failed", now
                row.error = outcome.error or "the run was cancelled while this step waited"
                row.error_code, row.error_values = outcome.code or "cancelled", outcome.values
            self._release(run)
            return "cancelled"
        if outcome.error is None and isinstance(outcome.value, Halt):
            row.status, row.output, row.finished_at = "succeeded", outcome.value.output, now
            run.status, run.finished_at = outcome.value.status, now
            self._release(run)
            return outcome.value.status
        if outcome.error is None and isinstance(outcome.value, Waiting):
            row.status = "waiting"
            run.status = "waiting"
            self._release(run)
            return "waiting"
        if outcome.error is None and len(_json_text(outcome.value)) > MAX_OUTPUT_CHARS:
            outcome = Outcome(
                error=f"the output is larger than {MAX_OUTPUT_CHARS} characters",
                retry=False,
                code="output_too_large",
                values={"characters": MAX_OUTPUT_CHARS},
            )
        if outcome.error is None:
            row.status, row.output, row.finished_at = "succeeded", outcome.value, now
            return "continue"
        row.error, row.error_code, row.error_values = outcome.error, outcome.code, outcome.values
        if outcome.retry and row.attempts <= step.retries:
            pause = BACKOFF_SECONDS[min(row.attempts - 1, len(BACKOFF_SECONDS) - 1)]
            row.status = "retrying"
            run.status, run.wake_at = "queued", now + timedelta(seconds=pause)
            self._release(run)
            return "retrying"
        row.status, row.finished_at = "failed", now
        run.status, run.failed_step, run.error, run.finished_at = "failed", row.step_id, outcome.error, now
        run.error_code, run.error_values = outcome.code, outcome.values
        self._release(run)
        return "failed"

    def _check_waiting(self, run: WorkflowRun) -> str:
        """A step waiting for a person: the run pauses (the decision queues it again)."""
        run.status = "waiting"
        self._release(run)
        return "waiting"

    def _finish(self, run: WorkflowRun, rows: dict[str, StepRun]) -> str:
        outputs = [r for r in sorted(rows.values(), key=lambda r: r.position) if r.status == "succeeded"]
        explicit = [r.output for r in outputs if r.type == "set_output"]
        run.output = explicit[-1] if explicit else {r.step_id: r.output for r in outputs}
        run.status, run.finished_at, run.error, run.failed_step = "succeeded", utcnow(), None, None
        run.error_code = run.error_values = None
        self._release(run)
        return "succeeded"


@dataclass
class Outcome:
    """One attempt's result: a value (or Waiting), or an error and whether trying again can help."""

    value: Any = None
    error: str | None = None
    retry: bool = True
    seconds: float = 0.0
    code: str | None = None  # what happened, for the run page (web/run_errors.py)
    values: dict[str, Any] | None = None


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)
