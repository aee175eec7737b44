"""Retention per tenant: conversations expire after N days, or are never stored (browser only)."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rathaus.assistants import conversations, registry
from rathaus.assistants.templates import templates
from rathaus.housekeeping import purge_conversations
from rathaus.identity.models import Membership, Role, Tenant
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.store.base import utcnow
from tests.conftest import TenantFixture
from tests.web.session import CSRF, events, login


def _publish(services: Services, tenant: TenantFixture) -> None:
    with services.db.session(tenant.id) as session:
        registry.save(
            session,
            Principal(tenant_id=tenant.id, role=Role.builder),
            templates()["zusammenfassen"],
            services.catalogue,
        )


def _set_days(services: Services, tenant: TenantFixture, days: int) -> None:
    with services.db.system_session() as session:
        tenant_row = session.get(Tenant, tenant.id)
        assert tenant_row is not None
        tenant_row.conversation_days = days


def _count(services: Services) -> tuple[int, int]:
    with services.db.system_session() as session:
        return (
            session.scalar(select(func.count()).select_from(conversations.Conversation)) or 0,
            session.scalar(select(func.count()).select_from(conversations.ConversationMessage)) or 0,
        )


def test_browser_only_tenants_store_nothing_and_send_the_history(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _publish(services, jena)
    _set_days(services, jena, 0)
    login(client, jena.staff_email)
    assert 'data-store="0"' in client.get("/chat/zusammenfassen").text
    body = {
        "message": "Und jetzt kürzer?",
        "history": [
            {"role": "user", "content": "Erster Text"},
            {"role": "assistant", "content": "Eine Zusammenfassung"},
        ],
    }
    response = client.post("/chat/zusammenfassen/send", json=body, headers=CSRF)
    found = events(response.text)
    assert json.loads(found[0][1])["conversation_id"] is None and found[-1][0] == "done"
    assert _count(services) == (0, 0)
    assert "nur in diesem Browserfenster" in client.get("/conversations").text


def test_purge_deletes_expired_conversations_per_tenant(
    services: Services, jena: TenantFixture, halle: TenantFixture
) -> None:
    _set_days(services, halle, 7)
    now = utcnow()
    for tenant, days_ago in ((jena, [1, 29, 31, 400]), (halle, [1, 6, 8])):
        with services.db.session(tenant.id) as session:
            user_id = session.scalars(select(Membership.user_id)).first()
            for days in days_ago:
                conversation = conversations.start(session, user_id, "zusammenfassen", f"vor {days} Tagen")
                conversations.append(session, conversation, "user", "Text")
                conversation.updated_at = now - timedelta(days=days)
    assert _count(services) == (7, 7)
    assert purge_conversations(services.db) == 3  # jena: 31 and 400 days; halle: 8 days
    assert _count(services) == (4, 4)
    with services.db.system_session() as session:
        left = sorted(c.title for c in session.scalars(select(conversations.Conversation)))
    assert left == ["vor 1 Tagen", "vor 1 Tagen", "vor 29 Tagen", "vor 6 Tagen"]
