"""Creating tenants and users and giving users roles; used by the CLI, the demo and the API.

`add_user` is the operator's direct way (system session). Tenant administrators add people through
`identity.invitations`, which the person has to accept.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from rathaus.identity.models import Invitation, LoginSession, Membership, Role, Tenant, User
from rathaus.identity.passwords import check_strength, hash_password
from rathaus.store.base import utcnow
from rathaus.store.tenancy import NotFound

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Conflict(ValueError):
    """The object already exists."""


def create_tenant(session: Session, slug: str, name: str) -> Tenant:
    """A new tenant (system session); slug: lowercase letters, digits and hyphens."""
    if not SLUG.match(slug):
        raise ValueError(
            "the slug may contain lowercase letters, digits and hyphens (for example 'musterstadt')"
        )
    if session.scalars(select(Tenant).where(Tenant.slug == slug)).first():
        raise Conflict(f"a tenant with the slug '{slug}' already exists")
    tenant = Tenant(slug=slug, name=name)
    session.add(tenant)
    session.flush()
    return tenant


def tenant_by_slug(session: Session, slug: str) -> Tenant | None:
    """The tenant with this slug (system session)."""
    return session.scalars(select(Tenant).where(Tenant.slug == slug)).first()


def user_by_email(session: Session, email: str) -> User | None:
    """The user with this e-mail address (case-insensitive)."""
    return session.scalars(select(User).where(User.email == email.strip().lower())).first()


def add_user(
    session: Session,
    tenant: Tenant,
    email: str,
    role: Role,
    password: str | None = None,
    name: str = "",
    platform_admin: bool = False,
    temporary_password: bool = False,
) -> User:
    """Create the user or update the given fields, and give them `role` in `tenant` (system session).

    This is an operator's action and needs no consent; an open invitation to the tenant is settled by it.
    With `temporary_password` the person has to choose a new password at their next login.
    """
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise ValueError(f"'{email}' is not an e-mail address")
    if password is not None:
        check_strength(password)
    user = user_by_email(session, email)
    if user is None:
        user = User(email=email, name=name, is_platform_admin=platform_admin)
        session.add(user)
    else:
        user.name = name or user.name
        user.is_platform_admin = user.is_platform_admin or platform_admin
    if password is not None:
        user.password_hash = hash_password(password)
        user.must_change_password = temporary_password
    session.flush()
    existing = session.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == tenant.id)
    ).first()
    if existing is not None:
        existing.role = role
    else:
        session.add(Membership(tenant_id=tenant.id, user_id=user.id, role=role))
    for invitation in session.scalars(
        select(Invitation).where(Invitation.user_id == user.id, Invitation.tenant_id == tenant.id)
    ):
        session.delete(invitation)
    session.flush()
    return user


def memberships_of(session: Session, user: User) -> list[tuple[Tenant, Role]]:
    """The tenants a user belongs to, with the role in each (system session).

    The home tenant comes first: the one the user has belonged to longest. Tenants joined later never
    come before it, whatever their names, so a login without a tenant always opens the same one.
    """
    rows = session.execute(
        select(Tenant, Membership.role)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.created_at, Tenant.slug)
    )
    return [(tenant, role) for tenant, role in rows]


class LastAdmin(ValueError):
    """The change would leave the tenant without an administrator."""


def members(session: Session) -> list[tuple[User, Role]]:
    """The members of the session's tenant with their roles, by e-mail address (tenant session)."""
    rows = session.execute(
        select(User, Membership.role).join(Membership, Membership.user_id == User.id).order_by(User.email)
    )
    return [(user, role) for user, role in rows]


def _membership(session: Session, user_id: str) -> Membership:
    membership = session.scalars(select(Membership).where(Membership.user_id == user_id)).first()
    if membership is None:
        raise NotFound("User", user_id)
    return membership


def _other_admins(session: Session, user_id: str) -> int:
    return len(
        session.scalars(
            select(Membership.id).where(Membership.role == Role.admin, Membership.user_id != user_id)
        ).all()
    )


def change_role(session: Session, user_id: str, role: Role) -> None:
    """Change a member's role (tenant session); the last administrator stays an administrator."""
    membership = _membership(session, user_id)
    if membership.role == Role.admin and role != Role.admin and _other_admins(session, user_id) == 0:
        raise LastAdmin("the tenant needs at least one administrator")
    membership.role = role


def remove_member(session: Session, user_id: str) -> None:
    """Remove a person from the tenant and end their logins there (tenant session)."""
    membership = _membership(session, user_id)
    if membership.role == Role.admin and _other_admins(session, user_id) == 0:
        raise LastAdmin("the tenant needs at least one administrator")
    for login in session.scalars(select(LoginSession).where(LoginSession.user_id == user_id)):
        login.revoked_at = login.revoked_at or utcnow()
    session.delete(membership)
