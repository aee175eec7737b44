"""REST API for workflows (/api/workflows), their runs (/api/runs), approvals and signed webhooks."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from rathaus.api.deps import PrincipalDep, ServicesDep, TenantSessionDep
from rathaus.api.documents import document_data
from rathaus.api.errors import ApiError
from rathaus.api.knowledge_api import read_uploads
from rathaus.formats.documents import DocumentError
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.identity.visibility import Forbidden
from rathaus.llm.catalogue import Catalogue
from rathaus.services import Services
from rathaus.workflows import approvals, labels, registry, runs, webhooks
from rathaus.workflows.engine import InputInvalid
from rathaus.workflows.models import Approval, Workflow, WorkflowRun
from rathaus.workflows.readiness import NotReady
from rathaus.workflows.spec import WorkflowSpec, check_workflow, dump_workflow
from rathaus.workflows.uploads import FileRefused, input_from_file

router = APIRouter(tags=["workflows"])

DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/WorkflowSpec"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


async def read_workflow(request: Request) -> WorkflowSpec:
    """The workflow document in the body; every problem names its field and (YAML) its line."""
    data, positions = await document_data(request)
    return check_workflow(data, positions)


def _saved_json(saved: registry.Saved) -> dict[str, Any]:
    return {
        "name": saved.workflow.name,
        "version": saved.version,
        "current_version": saved.workflow.current_version,
        "trigger": saved.workflow.trigger,
        "updated_at": saved.workflow.updated_at.isoformat(),
        "document": saved.spec.model_dump(mode="json", by_alias=True),
    }


class RunBody(BaseModel):
    """Start a run: its input, and whether it is a trial (nothing is sent, nobody is asked)."""

    model_config = ConfigDict(extra="forbid")

    input: Any = Field(default_factory=dict)
    test: bool = False


class DecisionBody(BaseModel):
    """A person's decision on an approval."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "rejected"]
    text: str | None = Field(default=None, description="The approved text, if edited.")
    comment: str = Field(default="", max_length=2000)
    labels: dict[
        Annotated[str, StringConstraints(max_length=40)], Annotated[str, StringConstraints(max_length=100)]
    ] = Field(
        default_factory=dict,
        max_length=50,
        description="Corrected labels of the run's classify steps (step id → label); each becomes an "
        "example for that step.",
    )


def _problem(status: int, title: str, detail: str, code: str, **extra: Any) -> JSONResponse:
    """A problem JSON response (RFC 9457) with the fields that say what to fix."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _not_ready(exc: NotReady) -> JSONResponse:
    detail = f"The workflow cannot run here yet: {exc}. A test run (test: true) sends nothing."
    return _problem(409, "Conflict", detail, "workflow_not_ready", gaps=[g.as_json() for g in exc.gaps])


def _input_error(exc: InputInvalid) -> JSONResponse:
    detail = f"The input does not match the workflow's input schema: {exc}"
    return _problem(422, "Unprocessable Content", detail, "invalid_input", problems=exc.problems)


@router.get("/api/workflows", operation_id="list_workflows")
def list_workflows(session: TenantSessionDep, principal: PrincipalDep, q: str = "") -> list[dict[str, Any]]:
    """The tenant's workflows; `q` searches name and title."""
    return [
        {
            "name": w.name,
            "title": w.title,
            "trigger": w.trigger,
            "version": w.current_version,
            "updated_at": w.updated_at.isoformat(),
        }
        for w in registry.listing(session, q[:200])
    ]


@router.post("/api/workflows/validate", operation_id="validate_workflow", openapi_extra=DOCUMENT_BODY)
async def validate_workflow(request: Request, principal: PrincipalDep) -> dict[str, Any]:
    """Check a document without saving it: every problem with field path, line and column."""
    try:
        spec = await read_workflow(request)
    except DocumentError as exc:
        return {"valid": False, "problems": [p.__dict__ for p in exc.problems]}
    return {"valid": True, "problems": [], "yaml": dump_workflow(spec)}


@router.post("/api/workflows", operation_id="create_workflow", status_code=201, openapi_extra=DOCUMENT_BODY)
async def create_workflow(
    request: Request, principal: PrincipalDep, session: TenantSessionDep, services: ServicesDep
) -> JSONResponse:
    """Create a workflow (version 1) from a document."""
    spec = await read_workflow(request)
    saved = await run_in_threadpool(_create, session, principal, spec, services.catalogue)
    return JSONResponse(saved, status_code=201)


def _create(
    session: Session, principal: Principal, spec: WorkflowSpec, catalogue: Catalogue
) -> dict[str, Any]:
    """Store a new workflow (409 when the name is taken); off the event loop, as it waits for the database."""
    if session.scalars(select(Workflow.id).where(Workflow.name == spec.metadata.name)).first():
        raise ApiError(
            409, f"A workflow named '{spec.metadata.name}' already exists; use PUT to change it.", "conflict"
        )
    return _saved_json(registry.save(session, principal, spec, catalogue))


@router.get("/api/workflows/{name}", operation_id="get_workflow")
def get_workflow(
    name: str, principal: PrincipalDep, session: TenantSessionDep, version: int | None = None
) -> dict[str, Any]:
    """A workflow's current document, or the version asked for."""
    return _saved_json(registry.load(session, name, version))


@router.put("/api/workflows/{name}", operation_id="update_workflow", openapi_extra=DOCUMENT_BODY)
async def update_workflow(
    name: str, request: Request, principal: PrincipalDep, session: TenantSessionDep, services: ServicesDep
) -> dict[str, Any]:
    """Store a changed document as the workflow's next version (runs under way keep theirs)."""
    spec = await read_workflow(request)
    if spec.metadata.name != name:
        raise ApiError(
            422,
            f"metadata.name '{spec.metadata.name}' does not match '{name}' in the address.",
            "name_mismatch",
        )
    return await run_in_threadpool(_update, session, principal, name, spec, services.catalogue)


def _update(
    session: Session, principal: Principal, name: str, spec: WorkflowSpec, catalogue: Catalogue
) -> dict[str, Any]:
    """Store the next version of an existing workflow (404 when there is none), off the event loop."""
    registry.find(session, name)
    return _saved_json(registry.save(session, principal, spec, catalogue))


@router.delete("/api/workflows/{name}", operation_id="delete_workflow", status_code=204)
def delete_workflow(name: str, principal: PrincipalDep, session: TenantSessionDep) -> None:
    """Delete a workflow with its versions and runs."""
    registry.delete(session, principal, name)


@router.get("/api/workflows/{name}/export", operation_id="export_workflow", response_class=PlainTextResponse)
def export_workflow(name: str, principal: PrincipalDep, session: TenantSessionDep) -> PlainTextResponse:
    """The current document as YAML, to hand to another city."""
    return PlainTextResponse(
        dump_workflow(registry.load(session, name).spec),
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}.workflow.yaml"'},
    )


@router.get("/api/workflows/{name}/webhook", operation_id="get_workflow_webhook")
def get_webhook(
    name: str, request: Request, principal: PrincipalDep, session: TenantSessionDep
) -> dict[str, str]:
    """Where a webhook sends its calls and the key that signs them (role builder)."""
    if not principal.has_role(Role.builder):
        raise Forbidden("the webhook key is for people who build workflows (role 'builder')")
    workflow = registry.find(session, name)
    return {
        "url": str(request.url_for("workflow_webhook", workflow_id=workflow.id)),
        "key": workflow.webhook_key,
        "signature": webhooks.SCHEME,
    }


@router.post("/api/workflows/{name}/runs", operation_id="start_run", status_code=202)
async def start_run(name: str, body: RunBody, principal: PrincipalDep, services: ServicesDep) -> JSONResponse:
    """Start a run with this input (checked against the input schema); it runs in the background."""
    try:
        run = await run_in_threadpool(services.workflows.start, principal, name, body.input, "api", body.test)
    except InputInvalid as exc:
        return _input_error(exc)
    except NotReady as exc:
        return _not_ready(exc)
    return JSONResponse(runs.run_json(run, name), status_code=202)


@router.post("/api/workflows/{name}/upload", operation_id="start_run_from_file", status_code=202)
async def start_run_from_file(
    name: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> JSONResponse:
    """Start a run of a workflow with `trigger: upload` from one file (multipart field `file`): its input
    is the file's name, title and text."""
    form = await request.form()
    uploads = await read_uploads([form.get("file")], services.settings.max_upload_bytes)
    if not uploads:
        raise ApiError(422, "Send one file in the multipart field 'file'.", "file_missing", "file")
    upload = uploads[0]
    trigger = await run_in_threadpool(registry.trigger_of, services.db, principal.tenant_id, name)
    if trigger != "upload":
        raise ApiError(
            409, f"The workflow '{name}' is not started by uploads (trigger {trigger}).", "not_upload"
        )
    try:
        data = await run_in_threadpool(input_from_file, upload.filename, upload.data)
    except FileRefused as exc:
        code = "unsupported_media_type" if exc.status == 415 else "unreadable_file"
        raise ApiError(exc.status, str(exc), code, "file") from None
    try:
        run = await run_in_threadpool(services.workflows.start, principal, name, data, "upload")
    except InputInvalid as exc:
        return _input_error(exc)
    return JSONResponse(runs.run_json(run, name), status_code=202)


def _webhook_target(services: Services, workflow_id: str) -> tuple[bool, str, str, str, str]:
    """Whether the workflow exists, and its tenant, name, webhook key and trigger (empty when not)."""
    with services.db.system_session(read_only=True) as session:
        workflow = session.get(Workflow, workflow_id) if len(workflow_id) == 32 else None
        if workflow is None:
            return False, "", "", "", ""
        return True, workflow.tenant_id, workflow.name, workflow.webhook_key or "", workflow.trigger


@router.post("/api/webhooks/{workflow_id}", operation_id="workflow_webhook", status_code=202)
async def workflow_webhook(workflow_id: str, request: Request, services: ServicesDep) -> JSONResponse:
    """Start a run from another system: the body (JSON) is the input, signed with the workflow's key."""
    raw = await request.body()
    workflow, tenant_id, name, key, trigger = await run_in_threadpool(_webhook_target, services, workflow_id)
    signature = request.headers.get(webhooks.SIGNATURE_HEADER, "")
    try:
        timestamp = webhooks.verify(
            key if workflow else None, signature, request.headers.get(webhooks.TIMESTAMP_HEADER, ""), raw
        )
        await run_in_threadpool(webhooks.remember, services.db, signature, timestamp)
    except webhooks.Refused as refused:
        raise ApiError(refused.status, str(refused), refused.code) from None
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise ApiError(400, "The body is not valid JSON.", "invalid_json") from None
    if trigger != "webhook":
        raise ApiError(
            409, f"The workflow '{name}' is not started by webhooks (trigger {trigger}).", "not_webhook"
        )
    principal = Principal(tenant_id=tenant_id, role=Role.staff)
    try:
        run = await run_in_threadpool(services.workflows.start, principal, name, data, "webhook")
    except InputInvalid as exc:
        return _input_error(exc)
    return JSONResponse({"id": run.id, "status": run.status}, status_code=202)


@router.get("/api/runs", operation_id="list_runs")
def list_runs(
    principal: PrincipalDep,
    session: TenantSessionDep,
    workflow: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The newest runs, optionally of one workflow or one status."""
    return [runs.run_json(run, name) for run, name in runs.listing(session, workflow, status, limit)]


def _run_with_steps(session: TenantSessionDep, run: WorkflowRun) -> dict[str, Any]:
    name = session.scalars(select(Workflow.name).where(Workflow.id == run.workflow_id)).one()
    return runs.run_json(run, name, runs.steps_of(session, run.id))


@router.get("/api/runs/{run_id}", operation_id="get_run")
def get_run(run_id: str, principal: PrincipalDep, session: TenantSessionDep) -> dict[str, Any]:
    """A run with each step's settings as filled in, output, error, time and energy."""
    from rathaus.store.tenancy import get_or_404

    return _run_with_steps(session, get_or_404(session, WorkflowRun, run_id))


@router.post("/api/runs/{run_id}/retry", operation_id="retry_run")
def retry_run(
    run_id: str, principal: PrincipalDep, session: TenantSessionDep, services: ServicesDep
) -> dict[str, Any]:
    """Try a failed run again from the step that failed."""
    try:
        run = runs.retry(session, principal, run_id)
    except runs.NotRetryable as exc:
        raise ApiError(409, str(exc), "not_retryable") from None
    runs.submit_after_commit(session, services.workflows.executor, run.id)
    return _run_with_steps(session, run)


@router.post("/api/runs/{run_id}/cancel", operation_id="cancel_run")
def cancel_run(run_id: str, principal: PrincipalDep, session: TenantSessionDep) -> dict[str, Any]:
    """Stop a run that has not finished."""
    try:
        run = runs.cancel(session, principal, run_id)
    except runs.NotRetryable as exc:
        raise ApiError(409, str(exc), "finished") from None
    return _run_with_steps(session, run)


def _approval_json(approval: Approval, correctable: list[labels.Correctable]) -> dict[str, Any]:
    return {
        "id": approval.id,
        "run_id": approval.run_id,
        "step_id": approval.step_id,
        "title": approval.title,
        "text": approval.text,
        "details": approval.context,
        "role": approval.role,
        "status": approval.status,
        "deadline_at": approval.deadline_at.isoformat() if approval.deadline_at else None,
        "final_text": approval.final_text,
        "comment": approval.comment,
        "labels": [c.as_json() for c in correctable],
    }


@router.get("/api/approvals", operation_id="list_approvals")
def list_approvals(
    principal: PrincipalDep, session: TenantSessionDep, status: str = "pending"
) -> list[dict[str, Any]]:
    """Approvals the caller may decide (pending ones unless another status is asked for)."""
    found = approvals.inbox(session, principal, status)
    steps = labels.correctable_in(session, [a.run_id for a in found if a.status == "pending"])
    return [_approval_json(a, steps.get(a.run_id, [])) for a in found]


@router.post("/api/approvals/{approval_id}", operation_id="decide_approval")
def decide_approval(
    approval_id: str,
    body: DecisionBody,
    principal: PrincipalDep,
    session: TenantSessionDep,
    services: ServicesDep,
) -> dict[str, Any]:
    """Approve (optionally with an edited text) or reject; the run continues or ends."""
    try:
        approval = approvals.decide(
            session, principal, approval_id, body.decision, body.text, body.comment, body.labels
        )
    except approvals.AlreadyDecided as exc:
        raise ApiError(409, str(exc), "already_decided") from None
    except labels.NotCorrectable as exc:
        raise ApiError(422, str(exc), "invalid_label", "labels") from None
    except ValueError as exc:
        raise ApiError(422, str(exc), "invalid_text", "text") from None
    runs.submit_after_commit(session, services.workflows.executor, approval.run_id)
    return _approval_json(approval, [])  # decided: nothing left to correct here
