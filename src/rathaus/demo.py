"""The demo city "Musterstadt" (fictional): a tenant, one user per role and an API key.

Each run prints fresh credentials once: it sets a new demo password and replaces the demo API key,
so a demo can always be re-entered without anything stored in plain text.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from rathaus.identity.api_keys import issue_key, revoke_key
from rathaus.identity.directory import add_user, create_tenant, tenant_by_slug
from rathaus.identity.models import ApiKey, Role
from rathaus.store.db import Database

DEMO_SLUG = "musterstadt"
DEMO_KEY_NAME = "Demo-Schlüssel"
DEMO_USERS = (
    ("admin@musterstadt.example", "Anna Admin", Role.admin),
    ("builder@musterstadt.example", "Bernd Baukasten", Role.builder),
    ("staff@musterstadt.example", "Sabine Sachbearbeitung", Role.staff),
)


@dataclass
class DemoCredentials:
    """What the demo prints once: tenant, logins with their shared password, and the API key."""

    tenant_slug: str
    password: str
    users: list[tuple[str, Role]]
    api_key: str


def seed_demo(db: Database, password: str | None = None) -> DemoCredentials:
    """Create or refresh Musterstadt and return new credentials."""
    password = password or secrets.token_urlsafe(12)
    with db.system_session() as session:
        tenant = tenant_by_slug(session, DEMO_SLUG) or create_tenant(
            session, DEMO_SLUG, "Musterstadt (fiktive Demo-Stadt)"
        )
        for email, name, role in DEMO_USERS:
            add_user(session, tenant, email, role, password=password, name=name)
        tenant_id = tenant.id
    with db.session(tenant_id) as session:
        for old in session.scalars(select(ApiKey).where(ApiKey.name == DEMO_KEY_NAME)):
            revoke_key(old)
        issued = issue_key(session, DEMO_KEY_NAME, Role.admin)
    return DemoCredentials(DEMO_SLUG, password, [(e, r) for e, _n, r in DEMO_USERS], issued.token)
