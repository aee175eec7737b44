"""Creating tenants and users and giving users roles; used by the CLI, the demo and the API."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from rathaus.identity.models import Membership, Role, Tenant, User
from rathaus.identity.passwords import check_strength, hash_password

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
) -> User:
    """Create the user or update the given fields, and give them `role` in `tenant` (system session)."""
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
    session.flush()
    existing = session.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == tenant.id)
    ).first()
    if existing is not None:
        existing.role = role
    else:
        session.add(Membership(tenant_id=tenant.id, user_id=user.id, role=role))
    session.flush()
    return user


def memberships_of(session: Session, user: User) -> list[tuple[Tenant, Role]]:
    """The tenants a user belongs to, with the role in each (system session)."""
    rows = session.execute(
        select(Tenant, Membership.role)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == user.id)
        .order_by(Tenant.slug)
    )
    return [(tenant, role) for tenant, role in rows]
