"""The demo city "Musterstadt" (fictional): a tenant, one user per role and an API key.

Each run prints fresh credentials once: it sets a new demo password and replaces the demo API key,
so a demo can always be re-entered without anything stored in plain text.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from rathaus.identity.api_keys import issue_key, revoke_key
from rathaus.identity.directory import add_user, create_tenant, tenant_by_slug
from rathaus.identity.models import ApiKey, Role
from rathaus.identity.principal import Principal
from rathaus.store.db import Database

if TYPE_CHECKING:
    from rathaus.knowledge.service import Knowledge

DEMO_SLUG = "musterstadt"
DEMO_KEY_NAME = "Demo-Schlüssel"
DEMO_COLLECTION = "musterstadt-dienste"
DEMO_SITE = "https://www.musterstadt.example"  # the fictional city website the demo pages "come from"
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


def seed_demo_knowledge(knowledge: Knowledge, report: Callable[[str, bool], None]) -> None:
    """The Musterstadt service pages as a collection, and the assistant "Bürgerservice" answering from them.

    Runs again without harm: a collection that exists keeps its documents; the assistant gets a new
    version only when its document changed.
    """
    from rathaus.assistants import registry
    from rathaus.assistants.spec import AssistantSpec
    from rathaus.formats.documents import load_document
    from rathaus.knowledge import collections
    from rathaus.knowledge.commands import ingest
    from rathaus.knowledge.models import Collection
    from rathaus.store.tenancy import NotFound

    demo = files("rathaus.knowledge").joinpath("demo")
    with knowledge.db.system_session() as session:
        tenant = tenant_by_slug(session, DEMO_SLUG)
        if tenant is None:
            raise ValueError("run the demo first: the tenant Musterstadt is missing")
        tenant_id = tenant.id
    principal = Principal(tenant_id=tenant_id, role=Role.admin)
    with knowledge.db.session(tenant_id) as session:
        exists = session.scalars(select(Collection.id).where(Collection.name == DEMO_COLLECTION))
        new = exists.first() is None
        if new:
            created = collections.NewCollection(
                DEMO_COLLECTION, "Serviceseiten Musterstadt (fiktiv)", data_class="öffentlich"
            )
            collections.create(session, principal, created, knowledge.embedding_model)
    if new:
        corpus = sorted((p for p in demo.joinpath("corpus").iterdir() if p.is_file()), key=lambda p: p.name)
        report(
            f"Wissenssammlung / knowledge collection {DEMO_COLLECTION}: {len(corpus)} Seiten / pages", False
        )
        pages = {p.name: f"{DEMO_SITE}/dienstleistungen/{Path(p.name).stem}/" for p in corpus}
        ingest(
            knowledge, principal, DEMO_COLLECTION, [Path(str(p)) for p in corpus], 50 * 2**20, report, pages
        )
    spec = load_document(
        AssistantSpec, demo.joinpath("buergerservice.assistant.yaml").read_text(encoding="utf-8")
    )
    with knowledge.db.session(tenant_id) as session:
        try:
            current = registry.load(session, principal, spec.metadata.name).spec
        except NotFound:
            current = None
        if current != spec:
            registry.save(session, principal, spec, knowledge.gateway.catalogue)
