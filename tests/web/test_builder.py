"""The builder pages: roles, form tokens, errors at their fields and lines, versions, the test chat."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from rathaus.assistants import form
from rathaus.assistants.templates import templates
from rathaus.services import Services
from tests.conftest import TenantFixture
from tests.web.session import CSRF, events, form_token, login


def _form_of(template: str, **changes: str) -> dict[str, str]:
    document = templates()[template].model_dump(mode="json", by_alias=True)
    document["spec"]["model"] = {"mode": "profile", "profile": "scripted"}
    values = form.form_from_document(document)
    values["document"] = json.dumps(document)
    values.update(changes)
    return values


def test_staff_cannot_open_the_builder(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.staff_email)
    page = client.get("/assistants/new", headers={"Accept": "text/html"})
    assert page.status_code == 403 and "Keine Berechtigung" in page.text and "<html" in page.text
    assert 'href="/assistants/new"' not in client.get("/assistants").text
    script = client.post("/builder/yaml", json={"form": {}}, headers=CSRF)
    assert script.status_code == 403 and script.json()["code"] == "forbidden"


def test_builder_creates_from_template_and_saves_versions(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.builder_email)
    page = client.get("/assistants/new?template=vermerk")
    assert page.status_code == 200 and 'value="Vermerk schreiben"' in page.text
    values = _form_of("vermerk", name="vermerk-bauamt", title="Vermerk Bauamt")

    assert client.post("/assistants/new", data=values).status_code == 403  # no form token
    values["csrf"] = form_token(client)
    created = client.post("/assistants/new", data=values, follow_redirects=False)
    assert (
        created.status_code == 303
        and created.headers["location"] == "/assistants/vermerk-bauamt/edit?saved=1"
    )

    taken = client.post("/assistants/new", data=values)
    assert taken.status_code == 422 and "Dieser Kurzname ist schon vergeben." in taken.text

    values["instructions"] = "Schreibe einen knappen Vermerk."
    values["name"] = "anderer-name"  # ignored: the name is the assistant's identity
    saved = client.post("/assistants/vermerk-bauamt/edit", data=values, follow_redirects=False)
    assert saved.headers["location"] == "/assistants/vermerk-bauamt/edit?saved=2"
    page = client.get("/assistants/vermerk-bauamt/edit?saved=2")
    assert "Version 2 gespeichert." in page.text and "Schreibe einen knappen Vermerk." in page.text
    versions = client.get("/api/assistants/vermerk-bauamt/versions").json()
    assert [v["version"] for v in versions] == [2, 1]


def test_form_errors_are_shown_at_their_fields(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.builder_email)
    values = _form_of("brief", name="Brief Mit Leerzeichen", instructions="", csrf=form_token(client))
    page = client.post("/assistants/new", data=values)
    assert page.status_code == 422
    name_input = page.text.split('id="f-name"')[1].split(">")[0]
    assert 'aria-invalid="true"' in name_input and "f-name-error" in name_input
    assert 'id="f-name-error"' in page.text and 'id="f-instructions-error"' in page.text
    assert 'href="#f-name"' in page.text  # the summary links to the field
    assert "Nur Kleinbuchstaben, Ziffern und Bindestriche" in page.text and "Bitte ausfüllen." in page.text
    assert 'value="Brief Mit Leerzeichen"' in page.text  # nothing typed is lost


def test_yaml_tab_converts_and_reports_lines(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.builder_email)
    text = client.post("/builder/yaml", json={"form": _form_of("brief")}, headers=CSRF).json()["yaml"]
    assert text.startswith("apiVersion: rathaus/v1\nkind: Assistant\n")
    assert client.post("/builder/check", json={"yaml": text}).status_code == 403  # header missing

    valid = client.post("/builder/check", json={"yaml": text}, headers=CSRF).json()
    assert valid["valid"] is True and valid["form"]["title"] == "E-Mail oder Brief formulieren"

    lines = text.split("\n")
    line = next(i for i, row in enumerate(lines, 1) if row.strip().startswith("creativity:"))
    broken = "\n".join("  creativity: sehr" if i == line else row for i, row in enumerate(lines, 1))
    result = client.post("/builder/check", json={"yaml": broken}, headers=CSRF).json()
    assert result["valid"] is False
    assert [(p["path"], p["line"], p["field"]) for p in result["problems"]] == [
        ("spec.creativity", line, "creativity")
    ]
    assert result["problems"][0]["text"] == "Erlaubt sind: 'low', 'medium' oder 'high'."
    assert result["form"]["creativity"] == "sehr"  # the form shows what was typed

    unreadable = client.post("/builder/check", json={"yaml": "spec: [\n  offen"}, headers=CSRF).json()
    assert unreadable["form"] is None and unreadable["problems"][0]["line"] == 2


def test_preview_chats_with_the_unsaved_document(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    login(client, jena.builder_email)
    values = _form_of("brief", name="entwurf", instructions="Sei sehr höflich.")
    body = {"form": values, "messages": [{"role": "user", "content": "Bitte um Rückruf"}]}
    response = client.post("/builder/preview", json=body, headers=CSRF)
    kinds = [kind for kind, _ in events(response.text)]
    assert kinds[0] == "meta" and kinds[-1] == "done"
    done = json.loads(events(response.text)[-1][1])
    assert "Bitte um Rückruf" in done["html"]
    assert client.get("/api/assistants/entwurf").status_code == 404  # nothing saved
    assert client.get("/conversations").text.count("conversation-item") == 0

    values["creativity"] = "sehr"
    invalid = client.post("/builder/preview", json={**body, "form": values}, headers=CSRF)
    assert invalid.status_code == 422
    assert [p["field"] for p in invalid.json()["problems"]] == ["creativity"]
