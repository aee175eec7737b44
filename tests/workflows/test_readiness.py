"""Whether a workflow can run here: each step's gap is named before a run, a run a person or client starts
is refused while one remains (with nothing stored), and runs whose input would be lost are not refused."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.workflows import readiness
from rathaus.workflows.spec import load_workflow
from tests.conftest import TenantFixture
from tests.mail import Mailbox
from tests.workflows.conftest import BUERGERANFRAGE, signed

YAML = {"Content-Type": "application/yaml"}
STEPS = """\
apiVersion: rathaus/v1
kind: Workflow
metadata: {name: anbindung, title: Anbindung}
spec:
  input: {type: object, properties: {host: {type: string}}}
  steps:
    - {id: akte, title: Akte abrufen, type: http, with: {url: "https://akten.stadt.example/api"}}
    - {id: frei, type: http, with: {url: "https://erlaubt.example:8443/api"}}
    - {id: spaeter, type: http, with: {url: "https://{{ input.host }}/api"}}
    - {id: frage, type: ask, with: {assistant: gibt-es-nicht, question: Hallo}}
    - {id: suche, type: retrieve, with: {collection: fehlt, query: Hallo}}
    - {id: mail, type: send_email, with: {to: a@example.org, subject: Hallo, body: Hallo}}
"""


def _gaps(services: Services, tenant: TenantFixture, text: str) -> list[tuple[str, str, str]]:
    principal = Principal(tenant_id=tenant.id, role=Role.builder)
    with services.db.session(tenant.id) as session:
        found = readiness.gaps(services, session, principal, load_workflow(text))
    return [(g.step_id, g.missing.code, g.missing.subject) for g in found]


def test_each_step_names_what_it_lacks_here(services: Services, jena: TenantFixture) -> None:
    services.settings.workflow_http_hosts = ["erlaubt.example:8443"]
    assert _gaps(services, jena, STEPS) == [
        ("akte", "http_host", "akten.stadt.example"),
        ("frage", "assistant", "gibt-es-nicht"),
        ("suche", "collection", "fehlt"),
        ("mail", "mail_server", ""),
    ]  # the allowed host passes; a host known only from the input is checked when the run gets there
    services.settings.smtp_host = "mail.stadt.example"
    services.settings.workflow_http_hosts = ["erlaubt.example:8443", "akten.stadt.example"]
    assert [code for _, code, _ in _gaps(services, jena, STEPS)] == ["assistant", "collection"]


def test_a_run_started_through_the_api_is_refused_while_a_gap_remains(
    client: TestClient, jena: TenantFixture
) -> None:
    created = client.post("/api/workflows", content=BUERGERANFRAGE, headers={**jena.headers(), **YAML})
    assert created.status_code == 201
    body = {"input": {"nachricht": "Mein Ausweis ist weg.", "email": "eva@example.org"}}
    refused = client.post("/api/workflows/buergeranfrage/runs", json=body, headers=jena.headers())
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem")
    assert refused.json()["code"] == "workflow_not_ready"
    assert refused.json()["gaps"] == [{"step": "senden", "code": "mail_server", "subject": ""}]
    assert client.get("/api/runs", headers=jena.headers()).json() == []

    bad_input = client.post("/api/workflows/buergeranfrage/runs", json={"input": {}}, headers=jena.headers())
    assert bad_input.status_code == 422  # the caller's own mistake is named first
    tried = client.post(
        "/api/workflows/buergeranfrage/runs", json={**body, "test": True}, headers=jena.headers()
    )
    assert tried.status_code == 202  # a test run sends nothing, so it needs no mail server


def test_the_gap_closes_when_it_is_set_up(client: TestClient, jena: TenantFixture, mailbox: Mailbox) -> None:
    client.post("/api/workflows", content=BUERGERANFRAGE, headers={**jena.headers(), **YAML})
    body = {"input": {"nachricht": "Mein Ausweis ist weg.", "email": "eva@example.org"}}
    started = client.post("/api/workflows/buergeranfrage/runs", json=body, headers=jena.headers())
    assert started.status_code == 202


def test_a_webhook_is_taken_even_with_a_gap_so_its_input_is_not_lost(
    client: TestClient, jena: TenantFixture
) -> None:
    webhook = BUERGERANFRAGE.replace("spec:\n", "spec:\n  trigger: {type: webhook}\n", 1)
    client.post("/api/workflows", content=webhook, headers={**jena.headers(), **YAML})
    hook = client.get("/api/workflows/buergeranfrage/webhook", headers=jena.headers()).json()
    body = json.dumps({"nachricht": "Laterne dunkel", "email": "a@example.org"}).encode()
    path = hook["url"].replace("http://testserver", "")
    accepted = client.post(path, content=body, headers=signed(hook["key"], body))
    assert accepted.status_code == 202
    assert [r["trigger"] for r in client.get("/api/runs", headers=jena.headers()).json()] == ["webhook"]
