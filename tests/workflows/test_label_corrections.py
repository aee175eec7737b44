"""A label corrected by staff at an approval: the run goes on with it, and the classify step sorts similar
texts that way from then on — with the bundled embedding model, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.routing.clearance import Part
from rathaus.services import Services
from rathaus.workflows import approvals, labels
from rathaus.workflows.models import LabelCorrection
from tests.conftest import TenantFixture
from tests.mail import Mailbox
from tests.workflows.conftest import BUERGERANFRAGE
from tests.workflows.test_engine import run_of, save, start, workflow

FOUND_PASSPORT = "Im Park liegt ein verlorener Reisepass, was soll ich tun?"
SIMILAR = "Ich habe auf dem Spielplatz einen fremden Reisepass gefunden."


def _staff(tenant: TenantFixture) -> Principal:
    return Principal(tenant_id=tenant.id, role=Role.staff)


def _waiting(services: Services, tenant: TenantFixture, text: str) -> tuple[str, str]:
    """A run of the citizen request workflow for the text, waiting at its approval: (run id, label)."""
    run_id = start(services, tenant, "buergeranfrage", {"nachricht": text, "email": "a@example.org"})
    assert services.workflows.run_here(run_id, 30) == "waiting"
    _, rows = run_of(services, tenant, run_id)
    return run_id, rows["abteilung"].output["label"]


def _approval_of(services: Services, tenant: TenantFixture, run_id: str) -> str:
    with services.db.session(tenant.id) as session:
        [approval] = [a for a in approvals.inbox(session, _staff(tenant)) if a.run_id == run_id]
        return approval.id


def test_a_corrected_label_goes_on_in_the_run_and_sorts_similar_texts_from_then_on(
    services: Services, jena: TenantFixture, mailbox: Mailbox
) -> None:
    save(services, jena, BUERGERANFRAGE)
    _, before = _waiting(services, jena, SIMILAR)
    assert before == "Ordnungsamt"  # what tier 0 makes of it from the label descriptions alone
    run_id, label = _waiting(services, jena, FOUND_PASSPORT)
    assert label == "Ordnungsamt"

    approval_id = _approval_of(services, jena, run_id)
    with services.db.session(jena.id) as session:
        [shown] = labels.correctable(session, run_id)
        assert (shown.step_id, shown.label, shown.choices) == (
            "abteilung",
            "Ordnungsamt",
            ("Bürgerbüro", "Ordnungsamt"),
        )
        approvals.decide(
            session, _staff(jena), approval_id, "approved", chosen_labels={"abteilung": "Bürgerbüro"}
        )
    assert services.workflows.run_here(run_id, 30) == "succeeded"
    _, rows = run_of(services, jena, run_id)
    assert rows["abteilung"].output == {
        "label": "Bürgerbüro",
        "unsure": False,
        "corrected_from": "Ordnungsamt",
    }
    with services.db.session(jena.id) as session:
        [kept] = session.scalars(select(LabelCorrection)).all()
        assert (kept.step_id, kept.label, kept.was, kept.text) == (
            "abteilung",
            "Bürgerbüro",
            "Ordnungsamt",
            FOUND_PASSPORT,
        )
        assert kept.data_class == rows["abteilung"].route["data_class"] == "personenbezogen"

    _, after = _waiting(services, jena, SIMILAR)
    assert after == "Bürgerbüro"  # the corrected text is now an example of its label
    _, unrelated = _waiting(services, jena, "Der Hund meines Nachbarn bellt jede Nacht.")
    assert unrelated == "Ordnungsamt"


def test_a_label_that_is_not_the_steps_is_refused_and_the_approval_stays_open(
    services: Services, jena: TenantFixture
) -> None:
    save(services, jena, BUERGERANFRAGE)
    run_id, label = _waiting(services, jena, FOUND_PASSPORT)
    approval_id = _approval_of(services, jena, run_id)
    for chosen in ({"abteilung": "Bauamt"}, {"entwurf": "Bürgerbüro"}):
        with (
            pytest.raises(labels.NotCorrectable),
            services.db.session(jena.id) as session,
        ):
            approvals.decide(session, _staff(jena), approval_id, "approved", chosen_labels=chosen)
    assert _approval_of(services, jena, run_id) == approval_id  # still pending
    with services.db.session(jena.id) as session:
        assert session.scalars(select(LabelCorrection)).first() is None
        # the same label as the step gave is no correction
        approvals.decide(session, _staff(jena), approval_id, "rejected", chosen_labels={"abteilung": label})
        assert session.scalars(select(LabelCorrection)).first() is None


def test_only_the_newest_corrections_of_a_label_are_kept(
    services: Services, jena: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(labels, "MAX_PER_LABEL", 2)
    save(services, jena, BUERGERANFRAGE)
    texts = [f"{FOUND_PASSPORT} (Fall {n})" for n in range(3)]
    waiting = [_waiting(services, jena, text) for text in texts]  # all sorted before any correction
    for run_id, label in waiting:
        assert label == "Ordnungsamt"
        approval_id = _approval_of(services, jena, run_id)
        with services.db.session(jena.id) as session:
            approvals.decide(
                session, _staff(jena), approval_id, "rejected", chosen_labels={"abteilung": "Bürgerbüro"}
            )
    with services.db.session(jena.id) as session:
        kept = session.scalars(select(LabelCorrection.text)).all()
        assert sorted(kept) == texts[1:]
        corrected = labels.examples(session, run_id, "abteilung")
        assert corrected.texts == {"Bürgerbüro": texts[:0:-1]}
        assert corrected.part("abteilung") == Part("corrections", "personenbezogen", "abteilung")


def test_the_api_shows_the_labels_to_correct_and_takes_a_correction(
    client: TestClient, jena: TenantFixture, services: Services
) -> None:
    save(services, jena, BUERGERANFRAGE)
    run_id, _ = _waiting(services, jena, FOUND_PASSPORT)
    [approval] = client.get("/api/approvals", headers=jena.headers("staff")).json()
    assert approval["labels"] == [
        {
            "step_id": "abteilung",
            "title": "",
            "label": "Ordnungsamt",
            "choices": ["Bürgerbüro", "Ordnungsamt"],
            "unsure": False,
        }
    ]
    url = f"/api/approvals/{approval['id']}"
    wrong = client.post(
        url, json={"decision": "approved", "labels": {"abteilung": "Bauamt"}}, headers=jena.headers("staff")
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_label"
    assert "Bauamt" in wrong.json()["detail"]
    decided = client.post(
        url,
        json={"decision": "approved", "labels": {"abteilung": "Bürgerbüro"}},
        headers=jena.headers("staff"),
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    _, rows = run_of(services, jena, run_id)
    assert rows["abteilung"].output["corrected_from"] == "Ordnungsamt"
    assert rows["abteilung"].output["label"] == "Bürgerbüro"
    with services.db.session(jena.id) as session:
        assert session.scalars(select(LabelCorrection.label)).all() == ["Bürgerbüro"]


def test_a_label_corrected_twice_in_one_run_is_kept_once_with_the_newer_choice(
    services: Services, jena: TenantFixture
) -> None:
    steps = """    - id: abteilung
      type: classify
      title: Amt bestimmen
      with:
        text: "{{ input.text }}"
        labels:
          - {value: Bürgerbüro, description: "Ausweis, Pass, Meldewesen"}
          - {value: Ordnungsamt, description: "Falschparker, Lärm"}
          - {value: Bauamt, description: "Bauantrag, Baumfällung"}
    - id: erste
      type: approval
      with: {text: "Erste Prüfung"}
    - id: zweite
      type: approval
      with: {text: "Zweite Prüfung"}
"""
    save(services, jena, workflow(steps))
    run_id = start(services, jena, "ablauf", {"text": FOUND_PASSPORT})
    for choice in ("Bürgerbüro", "Bauamt"):
        assert services.workflows.run_here(run_id, 30) == "waiting"
        approval_id = _approval_of(services, jena, run_id)
        with services.db.session(jena.id) as session:
            [shown] = labels.correctable(session, run_id)
            assert shown.title == "Amt bestimmen"
            approvals.decide(
                session, _staff(jena), approval_id, "approved", chosen_labels={"abteilung": choice}
            )
    assert services.workflows.run_here(run_id, 30) == "succeeded"
    with services.db.session(jena.id) as session:
        kept = session.scalars(select(LabelCorrection)).all()
        assert [(k.label, k.was) for k in kept] == [("Bauamt", "Bürgerbüro")]
