"""Cross-site requests: every change made with the login cookie needs the header `X-Rathaus-CSRF: 1`, which
another site cannot send; API keys need nothing of the sort."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, TenantFixture

SCRIPT = {"X-Rathaus-CSRF": "1"}
# Not made with the cookie: the login itself, the public widget and webhooks signed by other systems.
WITHOUT_COOKIE = ("/api/auth/login", "/api/widget/", "/api/webhooks/")


def log_in(client: TestClient, tenant: TenantFixture) -> None:
    """Log in through the API; the client keeps the session cookie."""
    response = client.post("/api/auth/login", json={"email": tenant.admin_email, "password": PASSWORD})
    assert response.status_code == 200, response.text


def test_logout_from_another_site_is_refused_and_from_this_one_works(
    client: TestClient, jena: TenantFixture
) -> None:
    log_in(client, jena)

    forged = client.post("/api/auth/logout")  # what another site's form can send
    assert forged.status_code == 403
    assert forged.headers["content-type"] == "application/problem+json"
    assert forged.json()["code"] == "csrf" and "X-Rathaus-CSRF" in forged.json()["detail"]
    assert client.get("/api/me").status_code == 200  # still logged in

    assert client.post("/api/auth/logout", headers=SCRIPT).status_code == 204
    assert client.get("/api/me").status_code == 401


def test_every_change_with_the_cookie_needs_the_header(client: TestClient, jena: TenantFixture) -> None:
    log_in(client, jena)
    changes = [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, operations in client.get("/openapi.json").json()["paths"].items()
        if path.startswith(("/api/", "/v1/")) and not path.startswith(WITHOUT_COOKIE)
        for method in operations
        if method in ("post", "put", "patch", "delete")
    ]
    assert ("POST", "/api/auth/logout") in changes and len(changes) > 20
    for method, path in changes:
        refused = client.request(method, path, json={})
        body = refused.json()
        code = body["error"]["code"] if path.startswith("/v1/") else body["code"]  # each API its format
        assert (refused.status_code, code) == (403, "csrf"), (method, path)
    assert client.get("/api/me").status_code == 200


def test_api_keys_need_no_header_even_next_to_a_cookie(client: TestClient, jena: TenantFixture) -> None:
    log_in(client, jena)
    created = client.post("/api/collections", json={"name": "satzungen"}, headers=jena.headers())
    assert created.status_code == 201, created.text
    assert client.post("/api/auth/logout").status_code == 403
    client.cookies.clear()
    assert client.post("/api/auth/logout").status_code == 204  # no session, nothing to forge
