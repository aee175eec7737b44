"""The workflow API: documents with line-exact errors, runs with checked input, signed webhooks,
the approvals inbox and retries — each bad input answered in problem JSON, nothing half-created."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.testclient import TestClient

from rathaus.services import Services
from tests.conftest import TenantFixture
from tests.mail import Mailbox
from tests.workflows.conftest import BUERGERANFRAGE, signed

YAML = {"Content-Type": "application/yaml"}
WEBHOOK = BUERGERANFRAGE.replace("spec:\n", "spec:\n  trigger: {type: webhook}\n", 1)


def create(client: TestClient, tenant: TenantFixture, text: str = BUERGERANFRAGE) -> None:
    response = client.post("/api/workflows", content=text, headers={**tenant.headers(), **YAML})
    assert response.status_code == 201, response.text


def wait_for(client: TestClient, tenant: TenantFixture, run_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}", headers=tenant.headers()).json()
        if run["status"] == status:
            return dict(run)
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} is {run['status']}, not {status}: {run}")


def test_an_invalid_document_is_refused_with_the_path_and_the_yaml_line(
    client: TestClient, jena: TenantFixture
) -> None:
    broken = BUERGERANFRAGE.replace("type: extract", "type: extrakt")
    response = client.post("/api/workflows", content=broken, headers={**jena.headers(), **YAML})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    [problem] = response.json()["problems"]
    assert problem["path"] == "spec.steps.1.type" and problem["line"] == 22
    assert client.get("/api/workflows", headers=jena.headers()).json() == []


def test_a_run_with_input_off_the_schema_is_refused(client: TestClient, jena: TenantFixture) -> None:
    create(client, jena)
    response = client.post(
        "/api/workflows/buergeranfrage/runs", json={"input": {"email": 3}}, headers=jena.headers()
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert {p["path"] for p in body["problems"]} == {"", "email"}
    assert client.get("/api/runs", headers=jena.headers()).json() == []


def test_a_webhook_needs_the_right_signature(
    client: TestClient, jena: TenantFixture, services: Services
) -> None:
    create(client, jena, WEBHOOK)
    hook = client.get("/api/workflows/buergeranfrage/webhook", headers=jena.headers()).json()
    assert (
        client.get("/api/workflows/buergeranfrage/webhook", headers=jena.headers("staff")).status_code == 403
    )
    body = json.dumps({"nachricht": "Falschparker vor meiner Einfahrt", "email": "a@example.org"}).encode()
    path = hook["url"].replace("http://testserver", "")

    wrong = client.post(path, content=body, headers={"X-Rathaus-Signature": "sha256=" + "0" * 64})
    missing = client.post(path, content=body)
    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert wrong.json()["code"] == "bad_signature"
    assert client.get("/api/runs", headers=jena.headers()).json() == []

    accepted = client.post(path, content=body, headers=signed(hook["key"], body))
    assert accepted.status_code == 202
    [run] = client.get("/api/runs", headers=jena.headers()).json()
    assert run["id"] == accepted.json()["id"] and run["trigger"] == "webhook"


def test_staff_approve_in_the_inbox_with_an_edit_and_the_mail_goes_out(
    client: TestClient, jena: TenantFixture, services: Services, mailbox: Mailbox, executor: str
) -> None:
    create(client, jena)
    started = client.post(
        "/api/workflows/buergeranfrage/runs",
        json={"input": {"nachricht": "Wo beantrage ich einen Reisepass?", "email": "b@example.org"}},
        headers=jena.headers("staff"),
    )
    assert started.status_code == 202
    run_id = started.json()["id"]
    wait_for(client, jena, run_id, "waiting")

    [approval] = client.get("/api/approvals", headers=jena.headers("staff")).json()
    assert approval["run_id"] == run_id
    decided = client.post(
        f"/api/approvals/{approval['id']}",
        json={"decision": "approved", "text": "Guten Tag, den Reisepass beantragen Sie im Bürgerbüro."},
        headers=jena.headers("staff"),
    )
    assert decided.status_code == 200
    again = client.post(
        f"/api/approvals/{approval['id']}", json={"decision": "rejected"}, headers=jena.headers("staff")
    )
    assert again.status_code == 409

    run = wait_for(client, jena, run_id, "succeeded")
    assert mailbox.bodies() == ["Guten Tag, den Reisepass beantragen Sie im Bürgerbüro.\n"]
    steps = {s["id"]: s for s in run["steps"]}
    assert steps["freigabe"]["output"]["edited"] is True
    assert all(s["status"] == "succeeded" for s in run["steps"])
    assert client.post(f"/api/runs/{run_id}/retry", headers=jena.headers()).status_code == 409


def test_another_tenants_runs_and_approvals_are_not_there(
    client: TestClient, jena: TenantFixture, halle: TenantFixture, services: Services
) -> None:
    create(client, jena)
    started = client.post(
        "/api/workflows/buergeranfrage/runs",
        json={"input": {"nachricht": "Hallo", "email": "c@example.org"}, "test": True},
        headers=jena.headers(),
    )
    run_id = started.json()["id"]
    assert client.get(f"/api/runs/{run_id}", headers=halle.headers()).status_code == 404
    assert client.post(f"/api/runs/{run_id}/cancel", headers=halle.headers()).status_code == 404
    assert client.get("/api/workflows/buergeranfrage", headers=halle.headers()).status_code == 404


def test_an_upload_workflow_starts_from_a_file_and_refuses_what_it_cannot_read(
    client: TestClient, jena: TenantFixture, services: Services
) -> None:
    from rathaus.formats.documents import dump_document
    from rathaus.workflows.templates import templates

    text = dump_document(templates()["leichte-sprache"])
    assert client.post("/api/workflows", content=text, headers={**jena.headers(), **YAML}).status_code == 201
    notice = "# Wohngeld\n\nDer Antrag ist bis zum 31. März 2027 beim Sozialamt einzureichen.\n".encode()
    path = "/api/workflows/leichte-sprache/upload"
    started = client.post(
        path, files={"file": ("wohngeld.md", notice, "text/markdown")}, headers=jena.headers()
    )
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["trigger"] == "upload" and run["input"]["filename"] == "wohngeld.md"
    assert "31. März 2027" in run["input"]["text"] and run["input"]["title"] == "Wohngeld"

    unreadable = client.post(
        path, files={"file": ("programm.exe", b"MZ\x90", "application/octet-stream")}, headers=jena.headers()
    )
    empty = client.post(path, files={"file": ("leer.txt", b"   ", "text/plain")}, headers=jena.headers())
    missing = client.post(path, data={"x": "1"}, headers=jena.headers())
    assert (unreadable.status_code, empty.status_code, missing.status_code) == (415, 422, 422)
    assert unreadable.json()["code"] == "unsupported_media_type" and "empty" in empty.json()["detail"]
    create(client, jena)  # a workflow that is not started by uploads
    manual = client.post(
        "/api/workflows/buergeranfrage/upload",
        files={"file": ("a.txt", b"Hallo", "text/plain")},
        headers=jena.headers(),
    )
    assert manual.status_code == 409
    assert len(client.get("/api/runs", headers=jena.headers()).json()) == 1


def test_inputs_json_cannot_carry_and_odd_signatures_are_refused_cleanly(
    client: TestClient, jena: TenantFixture
) -> None:
    create(client, jena)
    nan = client.post(
        "/api/workflows/buergeranfrage/runs",
        content=b'{"input": {"nachricht": "x", "email": "a@example.org", "n": NaN}}',
        headers={**jena.headers(), "Content-Type": "application/json"},
    )
    assert nan.status_code == 422 and nan.json()["problems"][0]["path"] == "n"
    deep = client.post(
        "/api/workflows/buergeranfrage/runs",
        content=b"[" * 5000,
        headers={**jena.headers(), "Content-Type": "application/json"},
    )
    assert deep.status_code == 400
    hook = client.get("/api/workflows/buergeranfrage/webhook", headers=jena.headers()).json()
    path = hook["url"].replace("http://testserver", "")
    odd = client.post(path, content=b"{}", headers={"X-Rathaus-Signature": "sha256=ä".encode()})
    assert odd.status_code == 401
    body = json.dumps({"nachricht": "x", "email": "a@example.org"}).encode()
    assert client.get("/api/runs", headers=jena.headers()).json() == []
    accepted = client.post(path, content=body, headers=signed(hook["key"], body))
    assert (
        accepted.status_code == 409 and accepted.json()["code"] == "not_webhook"
    )  # buergeranfrage is manual
