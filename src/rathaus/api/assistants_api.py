"""REST API for assistants (/api/assistants): documents in, documents out, every change a version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from rathaus.api.deps import PrincipalDep, ServicesDep, TenantSessionDep
from rathaus.api.documents import document_data
from rathaus.api.errors import ApiError
from rathaus.assistants import references, registry
from rathaus.assistants.spec import AssistantSpec
from rathaus.formats.documents import DocumentError, dump_document, validate_data
from rathaus.identity.principal import Principal
from rathaus.llm.catalogue import Catalogue

router = APIRouter(prefix="/api/assistants", tags=["assistants"])

DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/AssistantSpec"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


class AssistantSummary(BaseModel):
    """An assistant in a list."""

    name: str
    title: str
    visibility: str
    version: int
    updated_at: datetime


class VersionSummary(BaseModel):
    """One saved version."""

    version: int
    created_at: datetime
    author_id: str | None


async def read_document(request: Request) -> AssistantSpec:
    """The document in the body: YAML (application/yaml) or JSON; errors name field and line."""
    data, positions = await document_data(request)
    return validate_data(AssistantSpec, data, positions)


def _saved_json(saved: registry.Saved) -> dict[str, Any]:
    return {
        "name": saved.assistant.name,
        "version": saved.version,
        "current_version": saved.assistant.current_version,
        "visibility": saved.assistant.visibility,
        "updated_at": saved.assistant.updated_at.isoformat(),
        "document": saved.spec.model_dump(mode="json", by_alias=True),
    }


@router.get("", operation_id="list_assistants")
def list_assistants(
    principal: PrincipalDep, session: TenantSessionDep, q: str = ""
) -> list[AssistantSummary]:
    """Assistants the caller may see; `q` searches name and title."""
    return [
        AssistantSummary(
            name=a.name,
            title=a.title,
            visibility=a.visibility,
            version=a.current_version,
            updated_at=a.updated_at,
        )
        for a in registry.listing(session, principal, q[:200])
    ]


@router.post("/validate", operation_id="validate_assistant", openapi_extra=DOCUMENT_BODY)
async def validate_assistant(
    request: Request, principal: PrincipalDep, session: TenantSessionDep, services: ServicesDep
) -> dict[str, Any]:
    """Check a document without saving it: every problem with field path, line and column, and the
    collections and model it names that saving would refuse."""
    try:
        spec = await read_document(request)
    except DocumentError as exc:
        return {"valid": False, "problems": [p.__dict__ for p in exc.problems]}
    unresolved = await run_in_threadpool(references.problems, session, principal, services.catalogue, spec)
    if unresolved:
        return {"valid": False, "problems": [p.__dict__ for p in unresolved]}
    return {"valid": True, "problems": [], "yaml": dump_document(spec)}


@router.post("", operation_id="create_assistant", status_code=201, openapi_extra=DOCUMENT_BODY)
async def create_assistant(
    request: Request, principal: PrincipalDep, session: TenantSessionDep, services: ServicesDep
) -> JSONResponse:
    """Create an assistant (version 1) from a document."""
    spec = await read_document(request)
    saved = await run_in_threadpool(_create, session, principal, spec, services.catalogue)
    return JSONResponse(saved, status_code=201)


def _create(
    session: Session, principal: Principal, spec: AssistantSpec, catalogue: Catalogue
) -> dict[str, Any]:
    """Store a new assistant (409 when the name is taken); runs off the event loop, as it waits for the
    database."""
    if session.scalars(registry.exists_statement(spec.metadata.name)).first():
        raise ApiError(
            409,
            f"An assistant named '{spec.metadata.name}' already exists; use PUT to change it.",
            "conflict",
        )
    return _saved_json(registry.save(session, principal, spec, catalogue))


@router.get("/{name}", operation_id="get_assistant")
def get_assistant(
    name: str, principal: PrincipalDep, session: TenantSessionDep, version: int | None = None
) -> dict[str, Any]:
    """An assistant's current document, or the version asked for."""
    return _saved_json(registry.load(session, principal, name, version))


@router.get("/{name}/export", operation_id="export_assistant", response_class=PlainTextResponse)
def export_assistant(name: str, principal: PrincipalDep, session: TenantSessionDep) -> PlainTextResponse:
    """The current document as YAML, to hand to another city."""
    text = dump_document(registry.load(session, principal, name).spec)
    return PlainTextResponse(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}.assistant.yaml"'},
    )


@router.put("/{name}", operation_id="update_assistant", openapi_extra=DOCUMENT_BODY)
async def update_assistant(
    name: str, request: Request, principal: PrincipalDep, session: TenantSessionDep, services: ServicesDep
) -> dict[str, Any]:
    """Store a changed document as the assistant's next version."""
    spec = await read_document(request)
    if spec.metadata.name != name:
        raise ApiError(
            422,
            f"metadata.name '{spec.metadata.name}' does not match '{name}' in the address.",
            "name_mismatch",
            "metadata.name",
        )
    return await run_in_threadpool(_update, session, principal, name, spec, services.catalogue)


def _update(
    session: Session, principal: Principal, name: str, spec: AssistantSpec, catalogue: Catalogue
) -> dict[str, Any]:
    """Store the next version of an existing assistant (404 when there is none), off the event loop."""
    registry.find(session, principal, name)
    return _saved_json(registry.save(session, principal, spec, catalogue))


@router.get("/{name}/versions", operation_id="list_assistant_versions")
def list_versions(name: str, principal: PrincipalDep, session: TenantSessionDep) -> list[VersionSummary]:
    """All versions, newest first."""
    return [
        VersionSummary(version=v.version, created_at=v.created_at, author_id=v.author_id)
        for v in registry.versions(session, principal, name)
    ]


@router.delete("/{name}", operation_id="delete_assistant", status_code=204)
def delete_assistant(name: str, principal: PrincipalDep, session: TenantSessionDep) -> None:
    """Delete an assistant with all its versions."""
    registry.delete(session, principal, name)
