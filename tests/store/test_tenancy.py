"""Tenant scoping on SQLite and PostgreSQL: a tenant session never sees or writes another's rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from rathaus.identity.models import ApiKey, Membership
from rathaus.store.db import Database
from rathaus.store.migrate import current_revision, head_revision
from rathaus.store.tenancy import NotFound, ScopeError, get_or_404
from tests.conftest import TenantFixture


def test_migrations_reach_head(database_url: str) -> None:
    assert current_revision(database_url) == head_revision()


def test_tenant_session_sees_only_its_rows(db: Database, jena: TenantFixture, halle: TenantFixture) -> None:
    with db.session(jena.id) as session:
        keys = session.scalars(select(ApiKey)).all()
        members = session.scalars(select(Membership)).all()
    assert {k.tenant_id for k in keys} == {jena.id}
    assert len(keys) == 2
    assert {m.tenant_id for m in members} == {jena.id}
    with db.system_session() as session:
        assert len(session.scalars(select(ApiKey)).all()) == 4


def test_other_tenants_row_is_not_found(db: Database, jena: TenantFixture, halle: TenantFixture) -> None:
    with db.session(halle.id) as session:
        halle_key_id = session.scalars(select(ApiKey.id)).first()
    assert halle_key_id is not None
    with db.session(jena.id) as session, pytest.raises(NotFound):
        get_or_404(session, ApiKey, halle_key_id)


def test_bulk_update_cannot_reach_other_tenant(
    db: Database, jena: TenantFixture, halle: TenantFixture
) -> None:
    with db.session(jena.id) as session:
        session.execute(update(ApiKey).values(name="renamed"))
    with db.session(halle.id) as session:
        names = set(session.scalars(select(ApiKey.name)))
    assert "renamed" not in names


def test_new_rows_are_stamped_and_foreign_rows_refused(
    db: Database, jena: TenantFixture, halle: TenantFixture
) -> None:
    with db.session(jena.id) as session:
        key = ApiKey(name="neu", prefix="abcdef012345", secret_hash="0" * 64)
        session.add(key)
    assert key.tenant_id == jena.id
    with pytest.raises(ScopeError), db.session(jena.id) as session:
        session.add(ApiKey(name="fremd", prefix="fedcba543210", secret_hash="0" * 64, tenant_id=halle.id))


def test_unscoped_session_is_a_programming_error(db: Database, jena: TenantFixture) -> None:
    with pytest.raises(ScopeError), db.engine.connect() as connection:
        from sqlalchemy.orm import Session

        with Session(connection) as session:
            session.scalars(select(ApiKey)).all()


def test_subqueries_and_exists_are_scoped_too(
    db: Database, jena: TenantFixture, halle: TenantFixture
) -> None:
    from sqlalchemy import exists

    from rathaus.identity.models import Tenant

    with db.session(jena.id) as session:
        via_in = session.scalars(select(Tenant.slug).where(Tenant.id.in_(select(ApiKey.tenant_id)))).all()
        via_exists = session.scalars(
            select(Tenant.slug).where(exists().where(ApiKey.tenant_id == Tenant.id))
        ).all()
    assert via_in == ["jena"] and via_exists == ["jena"]


def test_bulk_insert_and_moving_rows_are_refused(
    db: Database, jena: TenantFixture, halle: TenantFixture
) -> None:
    from sqlalchemy import insert

    row = {
        "id": "f" * 32,
        "name": "x",
        "prefix": "0123456789ab",
        "secret_hash": "0" * 64,
        "tenant_id": halle.id,
    }
    with pytest.raises(ScopeError), db.session(jena.id) as session:
        session.execute(insert(ApiKey), [row])
    with pytest.raises(ScopeError), db.session(jena.id) as session:
        session.execute(update(ApiKey).values(tenant_id=halle.id))
