"""Storing assistants: create, change (a new version each time), find, list and delete, with visibility.

Visibility: `private` is seen by its owner only; `team` by the people who build assistants (roles
builder and admin) and the owner; `tenant` by everyone in the tenant. Changing needs the role builder;
a private assistant can only be changed by its owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from rathaus.assistants import policy, references
from rathaus.assistants.models import Assistant, AssistantVersion
from rathaus.assistants.spec import AssistantSpec
from rathaus.formats.documents import DocumentError, Problem
from rathaus.identity.directory import Conflict
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.identity.visibility import Forbidden, visible_to
from rathaus.llm.catalogue import Catalogue
from rathaus.store.base import utcnow
from rathaus.store.tenancy import NotFound


@dataclass(frozen=True)
class Saved:
    """An assistant with the document of one of its versions."""

    assistant: Assistant
    version: int
    spec: AssistantSpec


def _visible(principal: Principal) -> ColumnElement[bool]:
    return visible_to(principal, Assistant.visibility, Assistant.owner_id)


def _check_can_change(principal: Principal, assistant: Assistant | None, spec: AssistantSpec) -> None:
    if not principal.has_role(Role.builder):
        raise Forbidden("changing assistants needs the role 'builder'")
    if spec.spec.visibility == "private" and not principal.user_id:
        raise Forbidden("a private assistant needs a person as owner; API keys cannot own one")
    if (
        assistant is not None
        and assistant.visibility == "private"
        and assistant.owner_id != principal.user_id
    ):
        raise Forbidden("only its owner can change a private assistant")


def exists_statement(name: str) -> Select[str]:
    """Whether any assistant of the tenant has this name, visible or not."""
    return select(Assistant.id).where(Assistant.name == name)


def find(session: Session, principal: Principal, name: str) -> Assistant:
    """The assistant with this name if the caller may see it; otherwise NotFound (never 403)."""
    assistant = session.scalars(select(Assistant).where(Assistant.name == name, _visible(principal))).first()
    if assistant is None:
        raise NotFound("Assistant", name)
    return assistant


def load(session: Session, principal: Principal, name: str, version: int | None = None) -> Saved:
    """An assistant's document, the current version unless another is asked for."""
    assistant = find(session, principal, name)
    number = version or assistant.current_version
    row = session.scalars(
        select(AssistantVersion).where(
            AssistantVersion.assistant_id == assistant.id, AssistantVersion.version == number
        )
    ).first()
    if row is None:
        raise NotFound("AssistantVersion", f"{name}@{number}")
    return Saved(assistant, number, AssistantSpec.model_validate(row.document))


def listing(session: Session, principal: Principal, query: str = "") -> list[Assistant]:
    """Assistants the caller may see, optionally filtered by words in name, title."""
    statement = select(Assistant).where(_visible(principal)).order_by(func.lower(Assistant.title))
    for word in query.split():
        pattern = f"%{word.lower()}%"
        statement = statement.where(
            or_(func.lower(Assistant.title).like(pattern), func.lower(Assistant.name).like(pattern))
        )
    return list(session.scalars(statement))


def save(session: Session, principal: Principal, spec: AssistantSpec, catalogue: Catalogue) -> Saved:
    """Create the assistant or store the document as its next version.

    Refused (DocumentError) when a collection or model it names does not resolve for the caller
    (`references.problems`), or, at `spec.model`, when no model the assistant's policy may use is cleared
    for everything its answers carry: its own data class, its collections' and their documents'.
    """
    name = spec.metadata.name
    existing = session.scalars(select(Assistant).where(Assistant.name == name)).first()
    if (
        existing is not None
        and session.scalars(
            select(Assistant.id).where(Assistant.id == existing.id, _visible(principal))
        ).first()
        is None
    ):
        raise Conflict(f"an assistant named '{name}' already exists")
    _check_can_change(principal, existing, spec)
    unresolved = references.problems(session, principal, catalogue, spec)
    if unresolved:
        raise DocumentError(unresolved)
    mismatch = policy.problem(session, catalogue, spec)
    if mismatch is not None:
        raise DocumentError([Problem("spec.model", mismatch, code="data_class")])
    now = utcnow()
    if existing is None:
        existing = Assistant(
            name=name,
            title=spec.metadata.title,
            owner_id=principal.user_id,
            visibility=spec.spec.visibility,
            current_version=1,
            updated_at=now,
        )
        session.add(existing)
        session.flush()
    else:
        existing.current_version += 1
        existing.title = spec.metadata.title
        existing.visibility = spec.spec.visibility
        existing.updated_at = now
    session.add(
        AssistantVersion(
            assistant_id=existing.id,
            version=existing.current_version,
            document=spec.model_dump(mode="json", by_alias=True),
            author_id=principal.user_id,
        )
    )
    session.flush()
    return Saved(existing, existing.current_version, spec)


def versions(session: Session, principal: Principal, name: str) -> list[AssistantVersion]:
    """All versions of an assistant, newest first."""
    assistant = find(session, principal, name)
    return list(
        session.scalars(
            select(AssistantVersion)
            .where(AssistantVersion.assistant_id == assistant.id)
            .order_by(AssistantVersion.version.desc())
        )
    )


def delete(session: Session, principal: Principal, name: str) -> None:
    """Delete an assistant with all its versions."""
    assistant = find(session, principal, name)
    spec = load(session, principal, name).spec
    _check_can_change(principal, assistant, spec)
    session.delete(assistant)
