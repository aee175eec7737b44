"""Storing workflows: create, change (a new version each time), find, list and delete.

Everyone in the tenant sees its workflows and may start them; changing one needs the role builder. Runs
keep the version they started with, so changing a workflow never changes a run under way.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rathaus.formats.documents import DocumentError
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.identity.visibility import Forbidden
from rathaus.llm.catalogue import Catalogue
from rathaus.store.base import utcnow
from rathaus.store.db import Database
from rathaus.store.tenancy import NotFound
from rathaus.workflows import policy
from rathaus.workflows.models import Workflow, WorkflowVersion
from rathaus.workflows.spec import WorkflowSpec


@dataclass(frozen=True)
class Saved:
    """A workflow with the document of one of its versions."""

    workflow: Workflow
    version: int
    spec: WorkflowSpec


def find(session: Session, name: str) -> Workflow:
    """The tenant's workflow with this name; NotFound otherwise."""
    workflow = session.scalars(select(Workflow).where(Workflow.name == name)).first()
    if workflow is None:
        raise NotFound("Workflow", name[:64])
    return workflow


def trigger_of(db: Database, tenant_id: str, name: str) -> str:
    """What starts the workflow's current version (`manual`, `upload`, `webhook`, …); NotFound when none."""
    with db.session(tenant_id, read_only=True) as session:
        return load(session, name).spec.spec.trigger.type


def load(session: Session, name: str, version: int | None = None) -> Saved:
    """A workflow's document, the current version unless another is asked for."""
    workflow = find(session, name)
    number = version or workflow.current_version
    document = session.scalars(
        select(WorkflowVersion.document).where(
            WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.version == number
        )
    ).first()
    if document is None:
        raise NotFound("WorkflowVersion", f"{name}@{number}")
    return Saved(workflow, number, WorkflowSpec.model_validate(document))


def listing(session: Session, query: str = "") -> list[Workflow]:
    """The tenant's workflows, optionally filtered by words in name and title."""
    statement = select(Workflow).order_by(func.lower(Workflow.title))
    for word in query.split():
        pattern = f"%{word.lower()}%"
        statement = statement.where(
            or_(func.lower(Workflow.title).like(pattern), func.lower(Workflow.name).like(pattern))
        )
    return list(session.scalars(statement))


def save(session: Session, principal: Principal, spec: WorkflowSpec, catalogue: Catalogue) -> Saved:
    """Create the workflow or store the document as its next version.

    Refused (DocumentError) when a model step's model choice may not see what the run carries by then.
    """
    if not principal.has_role(Role.builder):
        raise Forbidden("changing workflows needs the role 'builder'")
    mismatches = policy.problems(session, catalogue, spec)
    if mismatches:
        raise DocumentError(mismatches)
    now = utcnow()
    workflow = session.scalars(select(Workflow).where(Workflow.name == spec.metadata.name)).first()
    if workflow is None:
        workflow = Workflow(
            name=spec.metadata.name,
            title=spec.metadata.title,
            trigger=spec.spec.trigger.type,
            owner_id=principal.user_id,
            current_version=1,
            updated_at=now,
            webhook_key=secrets.token_urlsafe(32),
        )
        session.add(workflow)
        session.flush()
    else:
        workflow.current_version += 1
        workflow.title, workflow.trigger, workflow.updated_at = (
            spec.metadata.title,
            spec.spec.trigger.type,
            now,
        )
    if spec.spec.trigger.type == "schedule" and workflow.scheduled_until is None:
        workflow.scheduled_until = now  # the first run is at the next time the schedule names
    session.add(
        WorkflowVersion(
            workflow_id=workflow.id,
            version=workflow.current_version,
            document=spec.model_dump(mode="json", by_alias=True, exclude_defaults=False),
            author_id=principal.user_id,
        )
    )
    session.flush()
    return Saved(workflow, workflow.current_version, spec)


def delete(session: Session, principal: Principal, name: str) -> None:
    """Delete a workflow with its versions and runs."""
    if not principal.has_role(Role.builder):
        raise Forbidden("deleting workflows needs the role 'builder'")
    session.delete(find(session, name))
