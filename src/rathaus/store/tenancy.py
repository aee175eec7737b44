"""Tenant scoping, enforced in one place for every query of every tenant-owned table.

A session is opened for one tenant (`Database.session(tenant_id)`) or explicitly as a system session
(`Database.system_session()`, for the CLI and platform administration). In a tenant session every
SELECT, UPDATE and DELETE of a `TenantOwned` table is filtered to that tenant, and new rows are
stamped with it; a row of another tenant is simply not there, so handlers answer 404.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from rathaus.store.base import Base, TenantOwned

T = TypeVar("T", bound=Base)

ID_PATTERN = re.compile(r"[0-9a-f]{32}")
TENANT_KEY = "tenant_id"
SYSTEM_KEY = "system"


class ScopeError(RuntimeError):
    """A tenant-owned table was touched from a session without a scope: a programming error."""


class NotFound(LookupError):
    """The object does not exist for this tenant."""

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"{kind} '{object_id}' was not found")
        self.kind = kind
        self.object_id = object_id


def _scope(session: Session) -> str | None:
    if session.info.get(SYSTEM_KEY):
        return None
    tenant_id = session.info.get(TENANT_KEY)
    if tenant_id is None:
        raise ScopeError("session has no tenant scope; use Database.session(tenant_id) or system_session()")
    return str(tenant_id)


def _touches_tenant_tables(state: ORMExecuteState) -> bool:
    return any(
        isinstance(mapper.class_, type) and issubclass(mapper.class_, TenantOwned)
        for mapper in state.all_mappers
    )


def _sets_tenant_id(state: ORMExecuteState) -> bool:
    values = getattr(state.statement, "_values", None) or {}
    return any(getattr(key, "key", key) == "tenant_id" for key in values)


@event.listens_for(Session, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    if state.session.info.get(SYSTEM_KEY):
        return
    if state.session.info.get(TENANT_KEY) is None:
        if _touches_tenant_tables(state):
            _scope(state.session)  # raises: tenant rows need a scoped session
        return
    if state.is_insert and _touches_tenant_tables(state):
        raise ScopeError("bulk INSERT into tenant tables bypasses stamping; use session.add()")
    if state.is_update and _sets_tenant_id(state):
        raise ScopeError("rows cannot be moved to another tenant")
    if state.is_select or state.is_update or state.is_delete:
        # Always, not only for top-level entities: subqueries and EXISTS clauses are filtered too.
        tenant_id = _scope(state.session)
        state.statement = state.statement.options(
            with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
        )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantOwned):
            continue
        tenant_id = _scope(session)
        if tenant_id is None:
            if getattr(obj, "tenant_id", None) is None:
                raise ScopeError(f"{type(obj).__name__} needs a tenant_id in a system session")
            continue
        current = getattr(obj, "tenant_id", None)
        if current is None:
            obj.tenant_id = tenant_id
        elif current != tenant_id:
            raise ScopeError(f"{type(obj).__name__} belongs to another tenant")


def get_or_404(session: Session, model: type[T], object_id: str) -> T:
    """Load one row by id through the scoped query path; another tenant's row raises NotFound."""
    if not ID_PATTERN.fullmatch(object_id):
        raise NotFound(model.__name__, object_id[:64])
    found = session.scalars(select(model).where(model.id == object_id)).first()
    if found is None:
        raise NotFound(model.__name__, object_id)
    return found
