"""Cross-site protection of the pages' forms, and errors shown as pages to browsers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, TenantFixture
from tests.web.session import form_token, login


def test_login_only_from_this_site(client: TestClient, jena: TenantFixture) -> None:
    data = {"email": jena.staff_email, "password": PASSWORD}
    foreign = client.post("/login", data=data, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    own = client.post("/login", data=data, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert own.status_code == 303


def test_logout_needs_the_form_token(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.staff_email)
    assert client.post("/logout").status_code == 403
    assert client.get("/assistants", follow_redirects=False).status_code == 200  # still logged in
    token = form_token(client)
    assert client.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/assistants", follow_redirects=False).status_code == 303


def test_tokens_are_bound_to_the_login_session(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.staff_email)
    first = form_token(client)
    other = TestClient(client.app)
    login(other, jena.staff_email)
    assert form_token(other) != first
    assert other.post("/logout", data={"csrf": first}).status_code == 403


def test_browsers_get_error_pages_and_scripts_get_json(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.staff_email)
    page = client.get("/chat/gibt-es-nicht", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and "<h1" in page.text and "Nicht gefunden" in page.text
    script = client.get("/chat/gibt-es-nicht", headers={"Accept": "application/json"})
    assert script.status_code == 404 and script.json()["status"] == 404
    api = client.get("/api/assistants/gibt-es-nicht", headers={"Accept": "text/html"})
    assert api.headers["content-type"] == "application/problem+json"
