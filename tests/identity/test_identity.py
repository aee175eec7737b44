"""API keys, passwords and login sessions on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rathaus.identity.api_keys import authenticate_key, issue_key, revoke_key
from rathaus.identity.directory import Conflict, add_user, create_tenant
from rathaus.identity.login import LoginFailed, SessionCookies
from rathaus.identity.models import ApiKey, Role
from rathaus.store.db import Database
from tests.conftest import PASSWORD, TenantFixture


def test_api_key_is_stored_hashed_and_authenticates(db: Database, jena: TenantFixture) -> None:
    with db.session(jena.id) as session:
        issued = issue_key(session, "Fachverfahren", Role.builder)
        stored = session.scalars(select(ApiKey).where(ApiKey.id == issued.key.id)).one()
    secret = issued.token.split("_", 2)[2]  # the secret itself may contain "_"
    assert len(secret) >= 32
    assert secret not in stored.secret_hash
    with db.system_session() as session:
        principal = authenticate_key(session, issued.token)
    assert principal is not None
    assert (principal.tenant_id, principal.role, principal.api_key_id) == (
        jena.id,
        Role.builder,
        issued.key.id,
    )


def test_wrong_and_revoked_keys_are_refused(db: Database, jena: TenantFixture) -> None:
    with db.system_session() as session:
        assert authenticate_key(session, jena.admin_key[:-2] + "xx") is None
        assert authenticate_key(session, "not-a-key") is None
    with db.session(jena.id) as session:
        for key in session.scalars(select(ApiKey)):
            revoke_key(key)
    with db.system_session() as session:
        assert authenticate_key(session, jena.admin_key) is None


def test_password_login_session_and_logout(db: Database, jena: TenantFixture) -> None:
    cookies = SessionCookies("s" * 40)
    with db.system_session() as session:
        outcome = cookies.login(session, jena.staff_email.upper(), PASSWORD, None, hours=1)
    cookie = outcome.cookie
    assert (outcome.tenant_slug, outcome.invitations) == ("jena", 0)
    with db.system_session() as session:
        principal = cookies.authenticate(session, cookie)
    assert principal is not None and principal.role == Role.staff and principal.tenant_id == jena.id
    with db.system_session() as session:
        cookies.logout(session, cookie)
    with db.system_session() as session:
        assert cookies.authenticate(session, cookie) is None
        assert cookies.authenticate(session, cookie + "tampered") is None


def test_wrong_password_and_foreign_tenant_fail(
    db: Database, jena: TenantFixture, halle: TenantFixture
) -> None:
    cookies = SessionCookies("s" * 40)
    with pytest.raises(LoginFailed), db.system_session() as session:
        cookies.login(session, jena.staff_email, "falsches-passwort", None, hours=1)
    with pytest.raises(LoginFailed), db.system_session() as session:
        cookies.login(session, jena.staff_email, PASSWORD, "halle", hours=1)


def test_directory_rejects_bad_input(db: Database, jena: TenantFixture) -> None:
    with db.system_session() as session:
        with pytest.raises(Conflict):
            create_tenant(session, "jena", "Jena")
        with pytest.raises(ValueError, match="slug"):
            create_tenant(session, "Jena Stadt", "Jena")
        tenant = create_tenant(session, "gera", "Gera")
        with pytest.raises(ValueError, match="e-mail"):
            add_user(session, tenant, "kein-mail", Role.staff, PASSWORD)
        with pytest.raises(ValueError, match="at least"):
            add_user(session, tenant, "kurz@gera.example", Role.staff, "kurz")
