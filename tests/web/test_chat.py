"""The chat endpoint: cross-site protection, ownership of conversations, stored history."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from rathaus.assistants import registry
from rathaus.assistants.conversations import Conversation
from rathaus.assistants.templates import templates
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from tests.conftest import TenantFixture
from tests.web.session import CSRF, form_token, login
from tests.web.session import events as sse_events


def _chat_as_staff(client: TestClient, services: Services, tenant: TenantFixture, template: str) -> None:
    """Publish a template as an assistant and log in as the tenant's staff member."""
    with services.db.session(tenant.id) as session:
        registry.save(
            session,
            Principal(tenant_id=tenant.id, role=Role.builder),
            templates()[template],
            services.catalogue,
        )
    login(client, tenant.staff_email)


def test_chat_streams_stores_and_protects(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _chat_as_staff(client, services, jena, "zusammenfassen")
    body = {"message": "Bitte kurz zusammenfassen."}
    assert client.post("/chat/zusammenfassen/send", json=body).status_code == 403  # no CSRF header
    response = client.post("/chat/zusammenfassen/send", json=body, headers=CSRF)
    events = sse_events(response.text)
    assert events[0][0] == "meta" and events[-1][0] == "done"
    text = "".join(json.loads(data)["text"] for kind, data in events if kind == "delta")
    assert text.endswith("Echo: Bitte kurz zusammenfassen.")
    conversation_id = response.text.split('"conversation_id": "')[1].split('"')[0]

    follow_up = client.post(
        "/chat/zusammenfassen/send",
        headers=CSRF,
        json={"message": "Und noch kürzer?", "conversation_id": conversation_id},
    )
    assert sse_events(follow_up.text)[-1][0] == "done"
    page = client.get(f"/chat/zusammenfassen?c={conversation_id}")
    assert page.text.count('class="chat-message chat-message--') == 4

    client.cookies.clear()
    login(client, jena.admin_email)  # another person of the same tenant
    assert client.get(f"/chat/zusammenfassen?c={conversation_id}").status_code == 404
    stolen = client.post(
        "/chat/zusammenfassen/send", headers=CSRF, json={"message": "x", "conversation_id": conversation_id}
    )
    assert stolen.status_code == 404
    token = form_token(client)
    assert client.post(f"/conversations/{conversation_id}/delete", data={"csrf": token}).status_code == 404


def test_pages_need_alogin(client: TestClient) -> None:
    response = client.get("/conversations", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/conversations"
    evil = client.get("/login?next=https://evil.example/")
    assert 'value="/assistants"' in evil.text


def test_simplify_assistants_get_the_leichte_sprache_check(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _chat_as_staff(client, services, jena, "leichte-sprache")
    response = client.post("/chat/leichte-sprache/send", json={"message": "Bitte einfach."}, headers=CSRF)
    events = sse_events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[-3:] == ["check", "route", "done"]
    report = json.loads(dict(events)["check"])
    assert report["rules"][0]["label"] == "Höchstens 12 Wörter pro Satz"
    assert (
        report["ok"] is False and report["findings"]
    )  # the echoed instructions are far from Leichte Sprache


def test_any_text_is_put_into_leichte_sprache_and_checked(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _chat_as_staff(client, services, jena, "zusammenfassen")
    page = client.get("/chat/zusammenfassen")
    assert (
        "Text in Leichte Sprache übertragen" in page.text
        and 'data-simplify="/chat/zusammenfassen/simplify"' in page.text
    )
    body = {"text": "Die Anmeldung hat innerhalb von zwei Wochen zu erfolgen."}
    assert client.post("/chat/zusammenfassen/simplify", json=body).status_code == 403  # no CSRF header
    response = client.post("/chat/zusammenfassen/simplify", json=body, headers=CSRF)
    events = sse_events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "meta" and kinds[-3:] == ["check", "route", "done"]
    written = "".join(json.loads(data)["text"] for kind, data in events if kind == "delta")
    assert written.endswith("Echo: Die Anmeldung hat innerhalb von zwei Wochen zu erfolgen.")
    report = json.loads(dict(events)["check"])
    assert [r["label"] for r in report["rules"]][-1] == "Immer „Sie“ oder immer „du“"
    assert client.post("/chat/zusammenfassen/simplify", json={"text": ""}, headers=CSRF).status_code == 422
    assert client.post("/chat/unbekannt/simplify", json=body, headers=CSRF).status_code == 404
    with services.db.session(jena.id) as session:  # not kept in a conversation
        assert session.query(Conversation).count() == 0


def test_conversation_export_as_markdown_and_docx(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    import io

    import docx

    _chat_as_staff(client, services, jena, "vermerk")
    response = client.post("/chat/vermerk/send", json={"message": "Telefonat mit Frau Muster"}, headers=CSRF)
    conversation_id = json.loads(sse_events(response.text)[0][1])["conversation_id"]

    markdown = client.get(f"/conversations/{conversation_id}/export.md")
    assert markdown.status_code == 200 and "attachment" in markdown.headers["content-disposition"]
    assert "## Sie\n\nTelefonat mit Frau Muster" in markdown.text and "Vermerk schreiben" in markdown.text
    word = client.get(f"/conversations/{conversation_id}/export.docx")
    document = docx.Document(io.BytesIO(word.content))
    headings = [
        p.text for p in document.paragraphs if p.style is not None and p.style.name.startswith("Heading")
    ]
    assert headings == ["Telefonat mit Frau Muster", "Sie", "Assistent"]
    assert client.get(f"/conversations/{conversation_id}/export.pdf").status_code == 404

    client.cookies.clear()
    login(client, jena.admin_email)
    assert client.get(f"/conversations/{conversation_id}/export.md").status_code == 404
