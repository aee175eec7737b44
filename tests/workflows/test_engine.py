"""The workflow engine: steps in order through the router, approvals, branches, failures, retries, and
runs that survive a dead worker — on SQLite and PostgreSQL, with the scripted model backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from rathaus.formats.documents import DocumentError
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.store.base import utcnow
from rathaus.workflows import approvals, registry, runs
from rathaus.workflows.engine import Engine, InputInvalid
from rathaus.workflows.models import Approval, StepRun, WorkflowRun
from rathaus.workflows.spec import load_workflow
from tests.conftest import TenantFixture
from tests.mail import Mailbox
from tests.workflows.conftest import BUERGERANFRAGE

INPUT = {"nachricht": "Mein Personalausweis läuft ab. Gruß, Eva Muster", "email": "eva@example.org"}


def builder(tenant: TenantFixture) -> Principal:
    return Principal(tenant_id=tenant.id, role=Role.builder)


def save(services: Services, tenant: TenantFixture, text: str) -> None:
    with services.db.session(tenant.id) as session:
        registry.save(session, builder(tenant), load_workflow(text), services.catalogue)


def run_of(services: Services, tenant: TenantFixture, run_id: str) -> tuple[WorkflowRun, dict[str, StepRun]]:
    with services.db.session(tenant.id) as session:
        run = session.get(WorkflowRun, run_id)
        assert run is not None
        return run, {s.step_id: s for s in runs.steps_of(session, run_id)}


def start(services: Services, tenant: TenantFixture, name: str, data: Any, test: bool = False) -> str:
    return services.workflows.start(builder(tenant), name, data, test=test).id


def workflow(steps: str, name: str = "ablauf", extra: str = "") -> str:
    return f"""\
apiVersion: rathaus/v1
kind: Workflow
metadata: {{name: {name}, title: Ablauf}}
spec:
{extra}  steps:
{steps}"""


def test_a_citizen_request_is_sorted_drafted_approved_with_an_edit_and_sent_once(
    services: Services, jena: TenantFixture, mailbox: Mailbox
) -> None:
    save(services, jena, BUERGERANFRAGE)
    run_id = start(services, jena, "buergeranfrage", INPUT)

    assert services.workflows.run_here(run_id, 30) == "waiting"
    run, steps = run_of(services, jena, run_id)
    assert [steps[s].status for s in ("abteilung", "anliegen", "entwurf", "freigabe", "senden")] == [
        "succeeded",
        "succeeded",
        "succeeded",
        "waiting",
        "pending",
    ]
    assert steps["abteilung"].output["label"] in ("Bürgerbüro", "Ordnungsamt")
    assert steps["entwurf"].route["chosen"] == "scripted"  # through the router, route kept
    assert run.wh == pytest.approx(sum(s.wh for s in steps.values()))
    label = steps["abteilung"].output["label"]
    assert steps["entwurf"].settings["facts"].startswith(f"Abteilung: {label}. Anliegen: ")  # filled in
    assert mailbox.messages == []

    staff = Principal(tenant_id=jena.id, role=Role.staff, user_id=None)
    with services.db.session(jena.id) as session:
        [waiting] = approvals.inbox(session, staff)
        assert waiting.context["email"] == "eva@example.org"  # what the person needs to decide
        approvals.decide(session, staff, waiting.id, "approved", "Sehr geehrte Frau Muster, gern.")
    assert services.workflows.run_here(run_id, 30) == "succeeded"

    assert mailbox.bodies() == ["Sehr geehrte Frau Muster, gern.\n"]
    [message] = mailbox.messages
    assert message["To"] == "eva@example.org"
    assert message["Message-ID"] == f"<rathaus-{run_id}-senden@rathaus.local>"
    run, steps = run_of(services, jena, run_id)
    assert steps["freigabe"].output["edited"] is True
    assert run.output["senden"]["sent_to"] == ["eva@example.org"]

    services.workflows.engine.advance(run_id)  # a finished run is never run again
    assert len(mailbox.messages) == 1


def test_a_rejected_approval_ends_the_run_without_sending(
    services: Services, jena: TenantFixture, mailbox: Mailbox
) -> None:
    save(services, jena, BUERGERANFRAGE)
    run_id = start(services, jena, "buergeranfrage", INPUT)
    services.workflows.run_here(run_id, 30)
    staff = Principal(tenant_id=jena.id, role=Role.staff)
    with services.db.session(jena.id) as session:
        [waiting] = approvals.inbox(session, staff)
        approvals.decide(session, staff, waiting.id, "rejected", comment="Zuständigkeit klären")
        with pytest.raises(approvals.AlreadyDecided):
            approvals.decide(session, staff, waiting.id, "approved")
    assert services.workflows.run_here(run_id, 5) == "rejected"
    assert mailbox.messages == []


def test_a_test_run_sends_nothing_and_asks_nobody(
    services: Services, jena: TenantFixture, mailbox: Mailbox
) -> None:
    save(services, jena, BUERGERANFRAGE)
    run_id = start(services, jena, "buergeranfrage", INPUT, test=True)
    assert services.workflows.run_here(run_id, 30) == "succeeded"
    _, steps = run_of(services, jena, run_id)
    assert steps["senden"].output["test"] is True
    assert steps["senden"].output["would_send"]["to"] == ["eva@example.org"]
    assert mailbox.messages == []
    with services.db.session(jena.id) as session:
        assert session.scalars(select(Approval)).first() is None


def test_branches_run_only_the_chosen_side(services: Services, jena: TenantFixture) -> None:
    steps = """\
    - id: pruefen
      type: condition
      with: {when: "input.betrag > 1000"}
      then:
        - id: gross
          type: template
          with: {text: "Großer Betrag: {{ input.betrag }} Euro"}
      else:
        - id: klein
          type: template
          with: {text: "Kleiner Betrag"}
    - id: ergebnis
      type: set_output
      with: {value: {hinweis: "{{ steps.gross.output.text if steps.gross else 'klein' }}"}}
"""
    save(services, jena, workflow(steps))
    run_id = start(services, jena, "ablauf", {"betrag": 5000})
    assert services.workflows.run_here(run_id, 10) == "succeeded"
    run, rows = run_of(services, jena, run_id)
    assert (rows["gross"].status, rows["klein"].status) == ("succeeded", "skipped")
    assert run.output == {"hinweis": "Großer Betrag: 5000 Euro"}


def test_a_label_tier_0_is_unsure_of_is_marked_for_a_person_to_check(
    services: Services, jena: TenantFixture
) -> None:
    steps = """\
    - id: abteilung
      type: classify
      with:
        text: "{{ input.text }}"
        labels:
          - {value: Bürgerbüro, description: "Personalausweis, Reisepass, Meldewesen"}
          - {value: Ordnungsamt, description: "Falschparker, Lärm, Ruhestörung"}
"""
    save(services, jena, workflow(steps))
    outputs = {}
    for text in ("Mein Personalausweis ist abgelaufen, ich brauche einen neuen Ausweis.", "Guten Tag."):
        run_id = start(services, jena, "ablauf", {"text": text})
        assert services.workflows.run_here(run_id, 30) == "succeeded"
        _, rows = run_of(services, jena, run_id)
        outputs[text[:10]] = (rows["abteilung"].output, rows["abteilung"].route["reason"]["code"])
    assert outputs["Mein Perso"] == ({"label": "Bürgerbüro", "unsure": False}, "classifier")
    unsure, reason = outputs["Guten Tag."]
    assert unsure["unsure"] is True and reason == "unsure_kept"  # no model measured better: tier 0's label


def test_a_failing_step_fails_the_run_with_its_reason_and_a_retry_goes_on_from_there(
    services: Services, jena: TenantFixture, mailbox: Mailbox
) -> None:
    steps = """\
    - id: notiz
      type: template
      with: {text: "Hallo {{ input.name }}"}
    - id: senden
      type: send_email
      retries: 0
      with: {to: a@example.org, subject: Test, body: "{{ steps.notiz.output.text }}"}
"""
    save(services, jena, workflow(steps))
    services.settings.smtp_port = 9  # nobody listens here
    run_id = start(services, jena, "ablauf", {"name": "Eva"})
    assert services.workflows.run_here(run_id, 10) == "failed"
    run, rows = run_of(services, jena, run_id)
    assert run.failed_step == "senden" and "sending the e-mail failed" in (run.error or "")
    assert rows["notiz"].status == "succeeded" and rows["senden"].attempts == 1

    services.settings.smtp_port = mailbox.port
    with services.db.session(jena.id) as session:
        runs.retry(session, builder(jena), run_id)
    assert services.workflows.run_here(run_id, 10) == "succeeded"
    assert mailbox.bodies() == ["Hallo Eva\n"]
    _, rows = run_of(services, jena, run_id)
    assert rows["notiz"].attempts == 1  # the step that had succeeded was not repeated


def test_a_failing_step_is_tried_again_after_a_pause(services: Services, jena: TenantFixture) -> None:
    steps = """\
    - id: abruf
      type: http
      retries: 2
      timeout_seconds: 5
      with: {url: "http://127.0.0.1:9/status"}
"""
    services.settings.workflow_http_hosts = ["127.0.0.1:9"]
    save(services, jena, workflow(steps))
    run_id = start(services, jena, "ablauf", {})
    assert services.workflows.engine.advance(run_id) == "queued"
    run, rows = run_of(services, jena, run_id)
    assert rows["abruf"].status == "retrying" and rows["abruf"].attempts == 1
    assert run.wake_at is not None and run.wake_at > utcnow()
    assert services.workflows.engine.advance(run_id) == ""  # not before its pause is over


def test_a_host_off_the_allow_list_fails_at_once_with_the_reason(
    services: Services, jena: TenantFixture
) -> None:
    steps = """\
    - id: abruf
      type: http
      with: {url: "http://intranet.example/geheim", method: POST, body: {a: 1}}
"""
    save(services, jena, workflow(steps))
    run_id = start(services, jena, "ablauf", {})
    assert services.workflows.run_here(run_id, 10) == "failed"
    run, rows = run_of(services, jena, run_id)
    assert "not on the allow-list" in (run.error or "") and "intranet.example" in (run.error or "")
    assert rows["abruf"].attempts == 1


def test_an_optional_input_left_out_is_empty_for_templates_and_conditions(
    services: Services, jena: TenantFixture
) -> None:
    steps = """\
    - id: gruss
      type: template
      with: {text: "Hallo {{ input.name }}{{ input.ort }} ({{ input.ort | default('ohne Ort') }})"}
    - id: pruefen
      type: condition
      with: {when: 'input.ort is none or (input.ort | string | trim) == ""'}
"""
    extra = (
        "  input: {type: object, required: [name], properties: {name: {type: string}, ort: {type: string}}}\n"
    )
    save(services, jena, workflow(steps, extra=extra))
    run_id = start(services, jena, "ablauf", {"name": "Eva"})
    assert services.workflows.run_here(run_id, 10) == "succeeded"
    run, rows = run_of(services, jena, run_id)
    assert rows["gruss"].output == {"text": "Hallo Eva (ohne Ort)"}
    assert rows["pruefen"].output["branch"] == "then"
    assert run.input == {"name": "Eva"}  # the stored input is what was sent


def test_templates_cannot_reach_into_the_server(services: Services, jena: TenantFixture) -> None:
    steps = """\
    - id: boese
      type: template
      with: {text: "{{ input.__class__.__mro__ }}"}
"""
    save(services, jena, workflow(steps))
    run_id = start(services, jena, "ablauf", {})
    assert services.workflows.run_here(run_id, 10) == "failed"
    run, _ = run_of(services, jena, run_id)
    assert "unsafe" in (run.error or "")


def test_input_that_misses_the_schema_starts_no_run(services: Services, jena: TenantFixture) -> None:
    save(services, jena, BUERGERANFRAGE)
    with pytest.raises(InputInvalid) as caught:
        start(services, jena, "buergeranfrage", {"nachricht": ""})
    paths = {p["path"] for p in caught.value.problems}
    assert paths == {"", "nachricht"}  # email is missing (at the top), nachricht is too short
    with services.db.session(jena.id) as session:
        assert session.scalars(select(WorkflowRun)).first() is None


def test_a_run_left_by_a_dead_worker_is_finished_by_another_without_sending_twice(
    services: Services, jena: TenantFixture, mailbox: Mailbox
) -> None:
    steps = """\
    - id: senden
      type: send_email
      with: {to: a@example.org, subject: Test, body: Hallo}
    - id: notiz
      type: template
      with: {text: fertig}
"""
    save(services, jena, workflow(steps))
    run_id = start(services, jena, "ablauf", {})
    dead = Engine(services, owner="dead-worker")
    assert dead.claim(run_id)
    dead.stop()
    other = Engine(services, owner="other-worker")
    assert other.advance(run_id) == ""  # the lease still holds
    with services.db.system_session() as session:  # time passes: the dead worker's lease runs out
        session.execute(
            update(WorkflowRun)
            .values(lease_until=utcnow() - timedelta(seconds=1))
            .where(WorkflowRun.id == run_id)
        )
    assert other.advance(run_id) == "succeeded"
    assert other.advance(run_id) == ""
    assert len(mailbox.messages) == 1


def test_an_invalid_document_names_every_problem_with_its_line() -> None:
    text = workflow(
        """\
    - id: sortieren
      type: classify
      with: {text: x, labels: [{value: A}]}
    - id: zaubern
      type: magic
    - id: sortieren
      type: template
      with: {text: y}
"""
    )
    with pytest.raises(DocumentError) as caught:
        load_workflow(text)
    [problem] = caught.value.problems
    assert problem.path == "spec.steps" and "used twice" in problem.message

    with pytest.raises(DocumentError) as caught:
        load_workflow(text.replace("id: sortieren\n      type: template", "id: notiz\n      type: template"))
    found = {p.path: p for p in caught.value.problems}
    assert set(found) == {"spec.steps.0.with.labels", "spec.steps.1.type"}
    assert found["spec.steps.0.with.labels"].line == 8
    assert (
        found["spec.steps.1.type"].line == 10
        and "unknown step type 'magic'" in found["spec.steps.1.type"].message
    )


def test_templates_and_conditions_that_do_not_parse_are_found_when_saving() -> None:
    text = workflow(
        """\
    - id: gruss
      type: template
      with: {text: "Guten Tag {{ input.name "}
    - id: pruefen
      type: condition
      with: {when: "steps.gruss.output =="}
      then:
        - id: ausgabe
          type: set_output
          with: {value: {liste: ["{% if x %}offen"]}}
"""
    )
    with pytest.raises(DocumentError) as caught:
        load_workflow(text)
    found = {p.path: p for p in caught.value.problems}
    assert set(found) == {
        "spec.steps.0.with.text",
        "spec.steps.1.with.when",
        "spec.steps.1.then.0.with.value.liste.0",
    }
    assert found["spec.steps.0.with.text"].code == "template" and found["spec.steps.0.with.text"].line == 8
    assert found["spec.steps.1.with.when"].code == "expression"
    assert "endif" in found["spec.steps.1.then.0.with.value.liste.0"].message
