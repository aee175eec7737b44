"""Cascades: an answer that fails its check goes to the next larger model, and every attempt is recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from rathaus.accounting.models import RequestRecord
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message, TextChunk
from rathaus.routing.checks import answer_check, schema_problem
from rathaus.routing.classifier import label_schema
from rathaus.routing.dispatch import with_listing
from rathaus.routing.route import Route
from rathaus.routing.router import need_of
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import TenantFixture, make_tenant, write_catalogue
from tests.routing.test_router import DEPARTMENTS

APPLICATION = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "kinder": {"type": "integer", "minimum": 0}},
    "required": ["name", "kinder"],
}
JSON_ONLY = ["chat", "json_schema"]


@pytest.fixture
def cascade(tmp_path: Path, database_url: str) -> Iterator[tuple[Services, TenantFixture]]:
    sloppy = {"replies": ['{"name": "Erika Mustermann", "kinder": "zwei"}'], "ignore_schema": True}
    profiles = [
        {"id": "sloppy", "backend": "scripted", "tier": 2, "capabilities": JSON_ONLY, "params": sloppy},
        {"id": "careful", "backend": "scripted", "tier": 3, "capabilities": JSON_ONLY},
    ]
    data = write_catalogue(tmp_path / "data", profiles)
    services = Services.build(Settings(data_dir=data, database_url=database_url, secret_key="x" * 40))
    yield services, make_tenant(services, "jena")
    services.close()


def _extract(services: Services, tenant: TenantFixture, schema: dict[str, object]) -> tuple[str, Route]:
    principal = Principal(tenant_id=tenant.id, role=Role.staff)
    text = Message(role="user", content="Antrag von Erika Mustermann, zwei Kinder.")
    response_format = {"type": "json_schema", "json_schema": {"name": "antrag", "schema": schema}}
    request = ChatRequest(messages=[text], response_format=response_format)
    route = services.routing.plan(need_of(request, "personenbezogen"))
    answer = "".join(
        i.text for i in services.routing.run(principal, route, request, "test") if isinstance(i, TextChunk)
    )
    return answer, route


def test_an_answer_against_the_schema_is_asked_again_of_a_larger_model(
    cascade: tuple[Services, TenantFixture],
) -> None:
    services, tenant = cascade
    answer, route = _extract(services, tenant, APPLICATION)
    assert schema_problem(answer, APPLICATION) is None
    assert [(a.model, a.outcome) for a in route.attempts] == [("sloppy", "escalated"), ("careful", "ok")]
    assert "kinder: 'zwei' is not of type 'integer'" in route.attempts[0].detail
    assert route.chosen == "careful" and route.reason.code == "escalated_schema"
    with services.db.session(tenant.id) as session:
        records = session.scalars(select(RequestRecord).order_by(RequestRecord.created_at)).all()
    assert [r.profile_id for r in records] == ["sloppy", "careful"]  # both attempts cost, both recorded
    assert records[-1].route is not None and records[-1].route["attempts"][0]["outcome"] == "escalated"


def test_a_valid_answer_stays_with_the_small_model(cascade: tuple[Services, TenantFixture]) -> None:
    services, tenant = cascade
    loose = {"type": "object", "properties": {"name": {"type": "string"}}}
    answer, route = _extract(services, tenant, loose)
    assert json.loads(answer)["name"] == "Erika Mustermann"
    assert [(a.model, a.outcome) for a in route.attempts] == [("sloppy", "ok")]


def test_schema_problems_are_named() -> None:
    assert schema_problem("kein JSON", APPLICATION) == "not JSON (Expecting value at character 0)"
    assert schema_problem('{"name": "A"}', APPLICATION) == "the answer: 'kinder' is a required property"
    assert schema_problem('{"name": "A", "kinder": 1}', APPLICATION) is None
    assert schema_problem("{}", {"type": "unbekannt"}) is None  # an unusable schema is not the answer's fault


def test_a_language_model_that_classifies_reads_the_label_descriptions() -> None:
    labels = label_schema(DEPARTMENTS)
    assert labels is not None
    question = ChatRequest(messages=[Message(role="user", content="Sperrmüll abholen?")])
    shown = with_listing(question, labels)
    assert [m.role for m in shown.messages] == ["system", "user"]
    assert "- Abfallwirtschaft: Sperrmüll, Biotonne, Müllabfuhr, Grünschnitt" in shown.messages[0].content
    instructed = ChatRequest(messages=[Message(role="system", content="Ordne zu."), *question.messages])
    assert with_listing(instructed, labels).messages[0].content.startswith("Ordne zu.\n\nMögliche Werte")
    bare = label_schema({"enum": ["ja", "nein"]})
    assert bare is not None and with_listing(question, bare) is question  # nothing to add


def _catalogue_services(tmp_path: Path, database_url: str, small_reply: str) -> Services:
    profiles = [
        {"id": "klein", "backend": "scripted", "tier": 2, "params": {"replies": [small_reply]}},
        {"id": "gross", "backend": "scripted", "tier": 3, "params": {"replies": ["Sie zahlen 96 Euro."]}},
    ]
    data = write_catalogue(tmp_path / "data", profiles)
    return Services.build(Settings(data_dir=data, database_url=database_url, secret_key="x" * 40))


EASY = "Sie haben einen Hund. Dann zahlen Sie Hunde-Steuer. Das sind 96 Euro im Jahr."
HARD = (
    "Die Hundesteuer, die jährlich erhoben wird, beträgt für den ersten Hund, sofern keine Ermäßigung "
    "beantragt wurde, 96 Euro, weil die Satzung der Stadtverwaltung dies so vorsieht."
)


@pytest.mark.parametrize(("reply", "answered_by"), [(EASY, ["klein"]), (HARD, ["klein", "gross"])])
def test_a_simplification_escalates_when_the_rules_do_not_hold(
    tmp_path: Path, database_url: str, reply: str, answered_by: list[str]
) -> None:
    services = _catalogue_services(tmp_path, database_url, reply)
    try:
        tenant = make_tenant(services, "jena")
        principal = Principal(tenant_id=tenant.id, role=Role.staff)
        request = ChatRequest(messages=[Message(role="user", content=HARD)])
        route = services.routing.plan(need_of(request, "personenbezogen", "simplify"))
        assert route.chosen == "klein" and route.checked_task == "simplify" and route.fallbacks == ["gross"]
        assert [r.reason.code for r in route.rejected if r.model == "gross"] == ["escalation_check"]
        answer = "".join(
            i.text
            for i in services.routing.run(principal, route, request, "test")
            if isinstance(i, TextChunk)
        )
        assert [a.model for a in route.attempts] == answered_by
        if len(answered_by) == 2:
            assert route.attempts[0].outcome == "escalated" and "one_statement" in route.attempts[0].detail
            assert route.reason.code == "escalated_check" and answer == "Sie zahlen 96 Euro."
        else:
            assert answer == EASY and route.attempts[0].outcome == "ok"
        free_chat = services.routing.plan(need_of(request, "personenbezogen", "chat"))
        assert free_chat.chosen == "klein" and free_chat.checked_task is None  # no check: no cascade
    finally:
        services.close()


def test_a_simplification_that_mixes_sie_and_du_or_copies_the_original_fails_its_check() -> None:
    check = answer_check(ChatRequest(messages=[Message(role="user", content=EASY)]), "simplify")
    assert check is not None
    assert check(EASY) == "Leichte Sprache: most sentences are copied from the original"
    mixed = "Sie haben einen Hund. Dann zahlst du Hunde-Steuer. Das sind 96 Euro im Jahr."
    assert check(mixed) == "Leichte Sprache: the reader is addressed both with Sie and du"
    other = answer_check(ChatRequest(messages=[Message(role="user", content=HARD)]), "simplify")
    assert other is not None and other(EASY) is None and other("  ") == "empty answer"


def test_a_language_model_that_classifies_gets_the_labels_but_not_their_examples() -> None:
    """Examples may be texts of other cases (labels corrected by staff): they stay with tier 0."""
    corrected = "Frau Muster meldet: Im Park liegt ein fremder Reisepass."
    schema = {
        "type": "object",
        "properties": {
            "amt": {
                "oneOf": [
                    {"const": "Bürgerbüro", "description": "Pässe", "examples": [corrected]},
                    {"const": "Ordnungsamt", "description": "Lärm", "examples": ["Es ist laut."]},
                ]
            }
        },
        "required": ["amt"],
    }
    request = ChatRequest(
        messages=[Message(role="user", content="Pass gefunden")],
        response_format={"type": "json_schema", "json_schema": {"name": "classify", "schema": schema}},
    )
    labels = label_schema(schema)
    assert labels is not None
    sent = with_listing(request, labels)
    assert corrected not in json.dumps(sent.model_dump(), ensure_ascii=False)
    assert sent.json_schema == {
        "type": "object",
        "properties": {"amt": {"enum": ["Bürgerbüro", "Ordnungsamt"]}},
        "required": ["amt"],
    }
