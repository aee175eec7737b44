"""Tenant isolation: every endpoint that takes an id answers 404 to another tenant's key."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import TenantFixture


def _ids(client: TestClient, tenant: TenantFixture) -> dict[str, str]:
    """One object of each kind the tenant owns, created through the API."""
    headers = tenant.headers()
    client.post(
        "/v1/chat/completions",
        headers=headers,
        json={"model": "scripted", "messages": [{"role": "user", "content": "Hallo"}]},
    )
    key = client.post("/api/api-keys", json={"name": "Fachverfahren"}, headers=headers).json()
    users = client.get("/api/users", headers=headers).json()
    records = client.get("/api/requests", headers=headers).json()
    return {"api-keys": key["id"], "users": users[0]["id"], "requests": records[0]["id"]}


def test_every_id_endpoint_hides_other_tenants_objects(
    client: TestClient, jena: TenantFixture, halle: TenantFixture
) -> None:
    halle_ids = _ids(client, halle)
    jena_ids = _ids(client, jena)
    for kind, object_id in halle_ids.items():
        own = client.get(f"/api/{kind}/{jena_ids[kind]}", headers=jena.headers())
        assert own.status_code == 200, kind
        foreign = client.get(f"/api/{kind}/{object_id}", headers=jena.headers())
        assert foreign.status_code == 404, kind
        assert set(foreign.json()) >= {"status", "detail"} and "email" not in foreign.json()
    revoke = client.delete(f"/api/api-keys/{halle_ids['api-keys']}", headers=jena.headers())
    assert revoke.status_code == 404
    still = client.get(f"/api/api-keys/{halle_ids['api-keys']}", headers=halle.headers())
    assert still.json()["revoked_at"] is None


def test_lists_show_only_own_tenant(client: TestClient, jena: TenantFixture, halle: TenantFixture) -> None:
    _ids(client, halle)
    users = client.get("/api/users", headers=jena.headers()).json()
    assert {u["email"] for u in users} == {jena.admin_email, jena.staff_email, jena.builder_email}
    assert client.get("/api/requests", headers=jena.headers()).json() == []
    assert all(
        k["name"] != "Fachverfahren" for k in client.get("/api/api-keys", headers=jena.headers()).json()
    )


def test_revoked_key_stops_working_at_once(client: TestClient, jena: TenantFixture) -> None:
    created = client.post("/api/api-keys", json={"name": "kurzlebig"}, headers=jena.headers()).json()
    token = created["key"]
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.delete(f"/api/api-keys/{created['id']}", headers=jena.headers()).status_code == 204
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    listed = client.get("/api/api-keys", headers=jena.headers()).json()
    assert all("key" not in k and "secret_hash" not in k for k in listed)


def test_browser_login_cookie_grants_access(client: TestClient, jena: TenantFixture) -> None:
    from tests.conftest import PASSWORD

    bad = client.post("/api/auth/login", json={"email": jena.staff_email, "password": "falsch-falsch"})
    assert bad.status_code == 401
    good = client.post("/api/auth/login", json={"email": jena.staff_email, "password": PASSWORD})
    assert good.status_code == 200
    me = client.get("/api/me").json()
    assert (
        me["role"] == "staff" and me["tenant"]["slug"] == "jena" and me["user"]["email"] == jena.staff_email
    )
    assert client.post("/api/auth/logout", headers={"X-Rathaus-CSRF": "1"}).status_code == 204
    assert client.get("/api/me").status_code == 401


def test_repeated_failed_logins_get_429(client: TestClient, jena: TenantFixture) -> None:
    from rathaus.identity.throttle import MAX_PER_EMAIL
    from tests.conftest import PASSWORD

    for _ in range(MAX_PER_EMAIL):
        assert (
            client.post("/api/auth/login", json={"email": jena.admin_email, "password": "x" * 12}).status_code
            == 401
        )
    blocked = client.post("/api/auth/login", json={"email": jena.admin_email, "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    other = client.post("/api/auth/login", json={"email": jena.staff_email, "password": PASSWORD})
    assert other.status_code == 200  # only the attacked account waits
