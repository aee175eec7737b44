"""Workflow pages: a builder takes over a template and tries it; staff start a run, decide the approval in
the inbox with an edit, and follow every step in the run's page; bad input is shown at the form."""

from __future__ import annotations

import html
import json
import re
import time

from fastapi.testclient import TestClient

from rathaus.services import Services
from tests.conftest import TenantFixture
from tests.mail import Mailbox
from tests.web.session import form_token, login

CITIZEN = {
    "nachricht": "Guten Tag, ich brauche einen neuen Reisepass. Eva Muster",
    "email": "eva@example.org",
}


def _run_id(response_url: str) -> str:
    found = re.search(r"/runs/([0-9a-f]{32})$", response_url)
    assert found, response_url
    return found.group(1)


def _wait(client: TestClient, run_id: str, status: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] == status:
            return str(client.get(f"/runs/{run_id}").text)
        time.sleep(0.1)
    raise AssertionError(f"run is {run['status']}")


def test_a_builder_takes_a_template_and_test_runs_it(
    client: TestClient, jena: TenantFixture, services: Services
) -> None:
    services.workflows.executor.start()
    login(client, jena.builder_email)
    token = form_token(client, "/workflows")
    page = client.post("/workflows/templates/buergeranfrage", data={"csrf": token})
    assert page.status_code == 200 and "Gespeichert als Version 1." in page.text
    assert "Antwort prüfen und freigeben" in page.text and "Freigabe durch eine Person" in page.text

    bad = client.post(
        "/workflows/buergeranfrage/runs", data={"csrf": token, "input": json.dumps({"email": 1}), "test": "1"}
    )
    assert bad.status_code == 422
    assert (
        "passt nicht zum Eingabeschema" in bad.text
        and "&#39;nachricht&#39; is a required property" in bad.text
    )

    started = client.post(
        "/workflows/buergeranfrage/runs", data={"csrf": token, "input": json.dumps(CITIZEN), "test": "1"}
    )
    assert started.status_code == 200
    page = _wait(client, _run_id(str(started.url)), "succeeded")
    assert "Probelauf" in page and "would_send" in page and "eva@example.org" in page
    assert page.count("Versuche: 1") == 5  # five steps, each with its time and energy


def test_staff_start_a_run_and_approve_it_with_an_edit_in_the_inbox(
    client: TestClient, jena: TenantFixture, services: Services, mailbox: Mailbox
) -> None:
    services.workflows.executor.start()
    login(client, jena.builder_email)
    client.post("/workflows/templates/buergeranfrage", data={"csrf": form_token(client, "/workflows")})
    client.cookies.clear()
    login(client, jena.staff_email)
    token = form_token(client, "/workflows/buergeranfrage")
    assert 'name="test"' not in client.get("/workflows/buergeranfrage").text  # test runs are for builders
    started = client.post(
        "/workflows/buergeranfrage/runs", data={"csrf": token, "input": json.dumps(CITIZEN)}
    )
    run_id = _run_id(str(started.url))
    _wait(client, run_id, "waiting")

    inbox = client.get("/approvals").text
    approval = re.search(r'action="/approvals/([0-9a-f]{32})"', inbox)
    assert approval and "Antwort an eva@example.org" in inbox and "Reisepass" in inbox
    undecided = client.post(f"/approvals/{approval.group(1)}", data={"csrf": token, "text": "x"})
    assert undecided.status_code == 422 and "Bitte „Freigeben“ oder „Ablehnen“ wählen." in undecided.text
    assert "Zuordnung „Zuständiges Amt bestimmen“" in inbox  # the classify step's label, to correct
    assert '<option value="Bauamt">Bauamt</option>' in inbox
    assert '<option value="Bürgerbüro" selected>Bürgerbüro</option>' in inbox
    edited = "Sehr geehrte Frau Muster, den Reisepass beantragen Sie im Bürgerbüro."
    wrong = client.post(
        f"/approvals/{approval.group(1)}",
        data={"csrf": token, "decision": "approved", "text": edited, "label.abteilung": "Zoo"},
    )
    assert wrong.status_code == 422 and "Diese Zuordnung gibt es für den Schritt nicht." in wrong.text
    assert 'action="/approvals/' in wrong.text  # still open, nothing decided
    decided = client.post(
        f"/approvals/{approval.group(1)}",
        data={"csrf": token, "decision": "approved", "text": edited, "label.abteilung": "Ordnungsamt"},
    )
    assert decided.status_code == 200 and "Freigegeben. Der Ablauf geht weiter." in decided.text
    assert "Die Zuordnung ist korrigiert." in decided.text
    assert "Keine offenen Freigaben." in decided.text
    page = _wait(client, run_id, "succeeded")
    assert mailbox.bodies() == [edited + "\n"]
    assert "erledigt" in page and "&#34;edited&#34;: true" in page
    assert "&#34;corrected_from&#34;: &#34;Bürgerbüro&#34;" in page  # the run shows the correction


def test_a_failed_run_shows_its_step_and_reason_and_can_be_retried(
    client: TestClient, jena: TenantFixture, services: Services
) -> None:
    services.workflows.executor.start()
    login(client, jena.builder_email)
    token = form_token(client, "/workflows")
    client.post("/workflows/templates/maengelmeldung", data={"csrf": token})
    started = client.post(
        "/workflows/maengelmeldung/runs",
        data={"csrf": token, "input": json.dumps({"description": "Laterne dunkel"}), "test": "1"},
    )
    run_id = _run_id(str(started.url))
    page = _wait(client, run_id, "failed")
    assert "Der Schritt „weiterleiten“ ist fehlgeschlagen." in page and "not on the allow-list" in page
    services.settings.workflow_http_hosts = ["fachverfahren.stadt.example"]
    retried = client.post(f"/runs/{run_id}/retry", data={"csrf": token})
    assert retried.status_code == 200
    _wait(client, run_id, "succeeded")
    assert client.get("/runs?status=succeeded").text.count(f"/runs/{run_id}") == 1


def test_a_builder_edits_the_document_and_sees_each_problem_at_its_line(
    client: TestClient, jena: TenantFixture, services: Services
) -> None:
    login(client, jena.builder_email)
    token = form_token(client, "/workflows")
    draft = client.get("/workflows/new?template=leichte-sprache")
    assert draft.status_code == 200 and "name: leichte-sprache" in draft.text
    text = draft.text.split('name="document"')[1].split(">", 1)[1].split("</textarea>")[0]
    document = html.unescape(text)
    assert "timeout_seconds" not in document and "then: []" not in document  # defaults are not repeated
    broken = document.replace("type: simplify", "type: vereinfachen")
    refused = client.post("/workflows/new", data={"csrf": token, "document": broken})
    assert refused.status_code == 422
    [line] = [n for n, row in enumerate(broken.splitlines(), 1) if row.strip() == "type: vereinfachen"]
    assert f"Zeile {line}, Spalte" in refused.text and "spec.steps.1.type" in refused.text
    assert "Diesen Schritt-Typ gibt es nicht." in refused.text and "vereinfachen" in refused.text

    saved = client.post("/workflows/new", data={"csrf": token, "document": document})
    assert saved.status_code == 200 and "Gespeichert als Version 1." in saved.text
    again = client.post("/workflows/new", data={"csrf": token, "document": document})
    assert again.status_code == 409
    changed = document.replace("title: Zusammenfassen", "title: Kurz fassen")
    edited = client.post("/workflows/leichte-sprache/edit", data={"csrf": token, "document": changed})
    assert "Gespeichert als Version 2." in edited.text and "Kurz fassen" in edited.text

    client.cookies.clear()
    login(client, jena.staff_email)
    assert client.get("/workflows/leichte-sprache/edit").status_code == 403
    assert "/workflows/leichte-sprache/edit" not in client.get("/workflows/leichte-sprache").text


def _document_of(page: str) -> str:
    return html.unescape(page.split('name="document"')[1].split(">", 1)[1].split("</textarea>")[0])


def test_a_builder_composes_steps_in_the_form_without_writing_yaml(
    client: TestClient, jena: TenantFixture
) -> None:
    login(client, jena.builder_email)
    token = form_token(client, "/workflows")
    document = _document_of(client.get("/workflows/new?template=buergeranfrage").text)

    def op(value: str, **fields: str) -> str:
        page = client.post(
            "/workflows/new", data={"csrf": token, "document": document, "op": value, **fields}
        )
        assert page.status_code == 200, page.text[-500:]
        return page.text

    page = op("add", new_type="template")
    document = _document_of(page)
    assert "id: template_1" in document and 'name="s.text"' in page  # its form is open
    document = _document_of(
        op("configure:template_1", step_title="Gruß", **{"s.text": "Guten Tag {{ input.email }}"})
    )
    assert "title: Gruß" in document and "text: Guten Tag {{ input.email }}" in document
    ids = [line.split("id: ")[1] for line in document.splitlines() if line.strip().startswith("- id: ")]
    assert ids[-2:] == ["senden", "template_1"]
    document = _document_of(op("up:template_1"))
    ids = [line.split("id: ")[1] for line in document.splitlines() if line.strip().startswith("- id: ")]
    assert ids[-2:] == ["template_1", "senden"]
    document = _document_of(op("move:template_1:0"))
    assert document.index("id: template_1") < document.index("id: abteilung")
    document = _document_of(op("remove:template_1"))
    assert "template_1" not in document
    refused = client.post(
        "/workflows/new", data={"csrf": token, "document": document, "op": "configure:fehlt"}
    )
    assert refused.status_code == 422 and "there is no step &#39;fehlt&#39;" in refused.text

    saved = client.post("/workflows/new", data={"csrf": token, "document": document, "save": "1"})
    assert "Gespeichert als Version 1." in saved.text


def test_staff_start_an_upload_workflow_with_a_file(
    client: TestClient, jena: TenantFixture, services: Services
) -> None:
    services.workflows.executor.start()
    login(client, jena.builder_email)
    client.post("/workflows/templates/leichte-sprache", data={"csrf": form_token(client, "/workflows")})
    client.cookies.clear()
    login(client, jena.staff_email)
    page = client.get("/workflows/leichte-sprache").text
    assert 'enctype="multipart/form-data"' in page and "Hochladen und starten" in page
    token = form_token(client, "/workflows/leichte-sprache")
    text = "Der Antrag auf Wohngeld ist bis zum 31. März 2027 beim Sozialamt einzureichen."
    started = client.post(
        "/workflows/leichte-sprache/upload",
        data={"csrf": token},
        files={"file": ("wohngeld.txt", text.encode(), "text/plain")},
    )
    page = _wait(client, _run_id(str(started.url)), "succeeded")
    assert "wohngeld.txt" in page and "leichte_sprache" in page
    refused = client.post(
        "/workflows/leichte-sprache/upload",
        data={"csrf": token},
        files={"file": ("bild.png", b"\x89PNG", "image/png")},
    )
    assert refused.status_code == 415 and "bild.png" in refused.text


def test_problems_in_the_yaml_are_named_in_german(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.builder_email)
    token = form_token(client, "/workflows")
    document = _document_of(client.get("/workflows/new?template=buergeranfrage").text)
    broken = document.replace("to: '{{ input.email }}'", "to: kein-empfaenger").replace(
        "Ihre Anfrage an die Stadtverwaltung", "Ihre Anfrage {{ input.email"
    )
    assert broken.count("kein-empfaenger") == 1 and "Anfrage {{ input.email\n" in broken
    page = client.post("/workflows/new", data={"csrf": token, "document": broken, "save": "1"})
    assert page.status_code == 422
    text = html.unescape(page.text)
    assert "„kein-empfaenger“ ist keine E-Mail-Adresse." in text
    assert "Die Vorlage ist nicht lesbar (" in text
