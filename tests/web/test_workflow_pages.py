"""Workflow pages: a builder takes over a template and tries it; staff start a run, decide the approval in
the inbox with an edit, and follow every step in the run's page; bad input is shown at the form."""

from __future__ import annotations

import html
import re
import time

from fastapi.testclient import TestClient
from httpx import Response

from rathaus.services import Services
from tests.conftest import TenantFixture
from tests.mail import Mailbox
from tests.web.session import form_token, login

CITIZEN = {
    "nachricht": "Guten Tag, ich brauche einen neuen Reisepass. Eva Muster",
    "email": "eva@example.org",
}


def _form(data: dict[str, str]) -> dict[str, str]:
    """The start form's fields for an input."""
    return {f"in.{key}": value for key, value in data.items()}


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

    # The start form is made from the input schema: a field per property, nothing to type as JSON.
    assert 'name="in.nachricht"' in page.text and 'type="email"' in page.text and "JSON" not in page.text
    # No mail server here: the page says so at the step, and what a test run leaves out.
    assert "Dieser Ablauf kann so noch nicht laufen" in page.text
    assert "Es ist kein E-Mail-Server eingerichtet" in page.text
    assert "„Antwort senden“: wird nicht gesendet" in page.text
    assert "„Antwort prüfen und freigeben“: niemand wird gefragt" in page.text
    assert 'name="test" value="1" aria-describedby' in page.text  # not ticked unless chosen

    empty = client.post(
        "/workflows/buergeranfrage/runs",
        data={"csrf": token, "in.nachricht": " ", "in.email": "eva@example.org", "test": "1"},
    )
    assert empty.status_code == 422 and "Bitte prüfen Sie die markierten Angaben." in empty.text
    assert "Bitte ausfüllen." in empty.text and 'value="eva@example.org"' in empty.text  # kept
    bad = client.post(
        "/workflows/buergeranfrage/runs",
        data={"csrf": token, "in.nachricht": "Hallo", "in.email": "eva(at)example.org", "test": "1"},
    )
    assert bad.status_code == 422 and "Bitte eine E-Mail-Adresse eingeben" in bad.text
    assert ">Hallo</textarea>" in bad.text
    refused = client.post("/workflows/buergeranfrage/runs", data={"csrf": token, **_form(CITIZEN)})
    assert refused.status_code == 409 and "Der Lauf wurde nicht gestartet" in refused.text
    assert client.get("/api/runs").json() == []

    started = client.post(
        "/workflows/buergeranfrage/runs", data={"csrf": token, **_form(CITIZEN), "test": "1"}
    )
    assert started.status_code == 200
    page = _wait(client, _run_id(str(started.url)), "succeeded")
    assert "Probelauf" in page and "würde senden" in page and "eva@example.org" in page
    assert page.count("Versuche: 1") == 6  # six steps, each with its time and energy


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
    page = client.get("/workflows/buergeranfrage").text
    assert "Dieser Ablauf kann so noch nicht laufen" not in page  # the mail server is set up
    started = client.post("/workflows/buergeranfrage/runs", data={"csrf": token, **_form(CITIZEN)})
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
        data={"csrf": token, "in.description": "Laterne dunkel", "test": "1"},
    )
    run_id = _run_id(str(started.url))
    page = _wait(client, run_id, "failed")
    assert "Der Schritt „An das Fachverfahren weiterleiten“ ist fehlgeschlagen." in page
    # each step by its title, settings and results as named rows, the input named as in its form
    assert '<h3 class="kern-heading-small">An das Fachverfahren weiterleiten' in page
    assert (
        '<dt class="kern-label">Beschreibung des Mangels</dt><dd class="kern-body">Laterne dunkel</dd>'
        in page
    )
    assert '<dt class="kern-label">Adresse</dt>' in page and '"description":' not in page
    said = html.unescape(page)  # in German, the technical message folded away for IT
    assert "Der Server „fachverfahren.stadt.example“ ist für Abläufe nicht freigegeben." in said
    assert "Technische Angaben für die IT" in said and "not on the allow-list" in said
    api = client.get(f"/api/runs/{run_id}").json()
    assert api["error_code"] == "host_not_allowed" and "allow-list" in api["error"]
    assert api["error_values"] == {"host": "fachverfahren.stadt.example"}
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


class Draft:
    """A new workflow from a template in the editor, changed by a builder operation by operation."""

    def __init__(self, client: TestClient, template: str = "buergeranfrage") -> None:
        self.client = client
        self.token = form_token(client, "/workflows")
        self.document = _document_of(client.get(f"/workflows/new?template={template}").text)

    def send(self, **fields: str) -> Response:
        """The editor's form sent with the document as it is now."""
        data = {"csrf": self.token, "document": self.document, **fields}
        return self.client.post("/workflows/new", data=data)

    def op(self, value: str, **fields: str) -> str:
        """One operation, which must work; the document is then as the page shows it."""
        page = self.send(op=value, **fields)
        assert page.status_code == 200, page.text[page.text.find("kern-alert") :][:300]
        self.document = _document_of(page.text)
        return page.text

    def step_ids(self) -> list[str]:
        lines = self.document.splitlines()
        return [line.split("id: ")[1] for line in lines if line.strip().startswith("- id: ")]


def _form_part(page: str) -> str:
    """The selected step's form (without the document below it)."""
    return page.split('id="step-form-heading"')[1].split('class="workflow-yaml"')[0]


def test_a_builder_composes_steps_in_the_form_without_writing_yaml(
    client: TestClient, jena: TenantFixture
) -> None:
    login(client, jena.builder_email)
    draft = Draft(client)
    page = draft.op("add", new_type="template")
    assert "id: template_1" in draft.document and 'name="s.text"' in page  # its form is open
    draft.op("configure:template_1", step_title="Gruß", **{"s.text": "Guten Tag «Eingabe: E-Mail-Adresse»"})
    assert "title: Gruß" in draft.document and "text: Guten Tag {{ input.email }}" in draft.document
    form = _form_part(draft.op("select:template_1"))
    assert ">Guten Tag «Eingabe: E-Mail-Adresse»</textarea>" in form and "{{" not in form
    menu = form.split('name="ref.text"')[1].split("</select>")[0]
    assert "Zuständiges Amt bestimmen: Zuordnung" in menu and "Antwort senden" not in menu  # earlier steps
    inserted = draft.op(
        "insert:template_1:text",
        step_title="Gruß",
        **{"s.text": "Guten Tag", "ref.text": "«Antwort entwerfen: Entwurf»"},
    )
    assert "text: Guten Tag {{ steps.entwurf.output.text }}" in draft.document
    assert '<span class="reference-chip">Antwort entwerfen: Entwurf</span>' in inserted
    assert draft.step_ids()[-2:] == ["senden", "template_1"]
    draft.op("up:template_1")
    assert draft.step_ids()[-2:] == ["template_1", "senden"]
    draft.op("move:template_1:0")
    assert draft.document.index("id: template_1") < draft.document.index("id: abteilung")
    draft.op("remove:template_1")
    assert "template_1" not in draft.document
    refused = draft.send(op="configure:fehlt")
    assert refused.status_code == 422 and "Den Schritt „fehlt“ gibt es nicht (mehr)." in refused.text
    assert "Gespeichert als Version 1." in draft.send(save="1").text


def test_step_settings_are_named_in_the_page_language_with_choices_for_known_values(
    client: TestClient, jena: TenantFixture
) -> None:
    login(client, jena.builder_email)
    draft = Draft(client)
    page = draft.op("select:abteilung")
    assert ">Text, der zugeordnet wird *</label>" in page and ">Zuordnungen *</span>" in page
    assert ">Sprachmodell</label>" in page and ">Automatisch wählen (empfohlen)</option>" in page
    assert ">model</label>" not in page and "(classify)" not in page and "router" not in page
    assert "Es ist kein E-Mail-Server eingerichtet" in page  # the gap, at the sending step in the list
    approval = draft.op("select:freigabe")
    assert ">Wer freigibt</label>" in approval and '<option value="staff" selected>' in approval
    sending = draft.op("select:senden")
    assert ">Empfänger *</label>" in sending and "Eine E-Mail-Adresse pro Zeile." in sending
    assert "⚠ Es ist kein E-Mail-Server eingerichtet" in _form_part(sending)
    added = {"s.to": "amt@stadt.example", "s.subject": "Ihre Anfrage", "s.body": "Text"}
    draft.op("insert:senden:to", **added, **{"ref.to": "«Eingabe: E-Mail-Adresse»"})
    assert "- amt@stadt.example\n      - '{{ input.email }}'" in draft.document  # a line of its own

    client.cookies.set("rathaus_lang", "en")
    english = draft.op("select:abteilung")
    assert ">Text to sort *</label>" in english and ">Choose automatically (recommended)</option>" in english


def test_categories_and_details_are_rows_in_the_form_not_yaml(
    client: TestClient, jena: TenantFixture
) -> None:
    login(client, jena.builder_email)
    draft = Draft(client)
    page = draft.op("add", new_type="classify")
    assert 'name="t.labels.0.value"' in page and 'name="s.labels"' not in page  # rows, no YAML
    labels = {
        "t.labels.0.value": "Dringend",
        "t.labels.0.description": "Gefahr, Frist in den nächsten Tagen",
        "t.labels.0.examples": "Der Baum droht umzustürzen.\nMorgen läuft die Frist ab.",
        "t.labels.1.value": "Normal",
        "t.labels.2.value": "",
    }
    draft.op("configure:classify_1", **{"s.text": "«Eingabe: Nachricht»"}, **labels)
    step = draft.document.split("id: classify_1")[1]
    assert "text: '{{ input.nachricht }}'" in step and "value: Dringend" in step and "value: Normal" in step
    assert "- Der Baum droht umzustürzen." in step

    page = draft.op("select:anliegen")
    assert 'value="Eine genannte Frist oder ein Termin"' in page  # the template's details as rows
    rows = {
        "t.schema.0.key": "name", "t.schema.0.title": "name", "t.schema.0.type": "text",
        "t.schema.1.key": "anliegen", "t.schema.1.title": "anliegen", "t.schema.1.type": "text",
        "t.schema.1.always": "1",
        "t.schema.2.key": "", "t.schema.2.title": "Telefonnummer", "t.schema.2.type": "text",
    }  # fmt: skip
    draft.op("configure:anliegen", **{"s.text": "«Eingabe: Nachricht»"}, **rows)
    document = draft.document
    assert "telefonnummer:" in document and "title: Telefonnummer" in document and "frist:" not in document
    assert "Gespeichert als Version 1." in draft.send(save="1").text


def test_a_condition_is_put_together_from_three_fields_and_gets_steps_in_its_branches(
    client: TestClient, jena: TenantFixture
) -> None:
    login(client, jena.builder_email)
    draft = Draft(client)
    page = draft.op("add", new_type="condition")
    assert 'name="c.left"' in page and 'name="s.when"' not in page  # three fields, no expression
    offered = '<option value="steps.abteilung.output.label">Zuständiges Amt bestimmen: Zuordnung</option>'
    assert offered in page
    fields = {"c.left": "steps.abteilung.output.label", "c.operator": "is", "c.right": "Bauamt"}
    draft.op("configure:condition_1", step_title="Bauamt?", **fields)
    expected = 'when: (steps.abteilung.output.label | string | trim | lower) == ("Bauamt" | lower)'
    assert expected in draft.document
    page = draft.op("select:condition_1")
    assert '<option value="is" selected>ist</option>' in page
    assert 'name="c.right" type="text" value="Bauamt"' in page
    assert '<option value="condition_1:then">In „Bauamt?“, wenn ja</option>' in page
    draft.op("add", new_type="template", where="condition_1:else")
    branch = draft.document.split("id: condition_1")[1]
    assert "else:" in branch and "id: template_1" in branch.split("else:")[1]
    refused = draft.send(op="configure:condition_1", **{**fields, "c.operator": "greater"})
    assert refused.status_code == 422 and "bitte eine Zahl als Vergleichswert eingeben" in refused.text
    draft.op("configure:template_1", **{"s.text": "Kein Bauamt"})
    saved = draft.send(save="1").text
    assert "sonst („Zuständiges Amt bestimmen: Zuordnung ist Bauamt“)" in saved  # the branch, in words


def test_a_failure_without_a_known_code_gets_the_general_sentence() -> None:
    from rathaus.web.i18n import translator
    from rathaus.web.run_errors import error_text

    t = translator("de")
    assert error_text("timeout", {"seconds": "30"}, t) == (
        "Der Schritt hat länger als 30 Sekunden gedauert und wurde abgebrochen."
    )
    assert (
        error_text("from_a_plugin", None, t) == error_text(None, None, t) == "Der Schritt ist fehlgeschlagen."
    )
    assert error_text("timeout", {"wrong": 1}, t) == "Der Schritt ist fehlgeschlagen."
    assert error_text("http_status", {"status": 502}, translator("en")) == (
        "The server answered with error code 502."
    )


def test_every_setting_of_every_step_type_has_a_label_in_both_languages() -> None:
    from rathaus.web.i18n import MESSAGES
    from rathaus.web.step_texts import setting_text
    from rathaus.workflows.editing import fields_of
    from rathaus.workflows.steps import step_types

    assert set(MESSAGES["de"]) == set(MESSAGES["en"])  # every text in both languages
    for step_type in step_types():
        for field in fields_of(step_type):
            for lang in ("de", "en"):
                label = setting_text(MESSAGES[lang], step_type, field.name)
                assert label and label != field.name, (lang, step_type, field.name)


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


def test_error_pages_speak_the_page_language(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.staff_email)
    html_only = {"Accept": "text/html"}  # as a browser asks
    missing = client.get("/workflows/gibt-es-nicht", headers=html_only)
    assert missing.status_code == 404 and "Diese Seite oder diesen Eintrag gibt es nicht" in missing.text
    assert "not found" not in missing.text.lower()
    forbidden = client.get("/workflows/new", headers=html_only)
    assert forbidden.status_code == 403 and "Dafür fehlt Ihnen die Berechtigung." in forbidden.text
    assert "builder" not in forbidden.text.split("<main")[1]
    client.cookies.set("rathaus_lang", "en")
    assert (
        "This page or entry does not exist" in client.get("/workflows/gibt-es-nicht", headers=html_only).text
    )


def test_a_runs_values_read_as_named_rows_in_the_page_language() -> None:
    from rathaus.web.i18n import MESSAGES, translator
    from rathaus.web.run_view import Row, output_rows, settings_rows

    t, messages = translator("de"), MESSAGES["de"]
    decided = {"decision": "approved", "text": "Guten Tag", "edited": False, "comment": ""}
    assert output_rows(messages, "approval", decided, t) == [
        Row("Entscheidung", "freigegeben"),
        Row("freigegebener Text", "Guten Tag"),
        Row("geändert", "nein"),
        Row("Kommentar der Freigabe", ""),
    ]
    sorted_out = output_rows(messages, "classify", {"label": "Bürgerbüro", "unsure": True}, t)
    assert sorted_out == [Row("Zuordnung", "Bürgerbüro"), Row("unsicher", "ja")]
    mail = settings_rows(
        messages, "send_email", {"to": ["a@example.org", "b@example.org"], "subject": "x"}, t
    )
    assert mail[0].text == "a@example.org, b@example.org" and not mail[0].structured
    nested = output_rows(messages, "extract", {"result": {"name": "Eva", "frist": None}}, t)
    assert nested[0].label == "Ergebnis" and nested[0].structured and '"name": "Eva"' in nested[0].text
    assert output_rows(messages, "template", None, t) == [] and output_rows(messages, "x", 2.5, t) == [
        Row("", "2,5")
    ]
