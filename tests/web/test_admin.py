"""Tenant administration pages: people and roles, API keys shown once, retention; admins only."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

from fastapi.testclient import TestClient

from rathaus.identity.directory import user_by_email
from rathaus.identity.passwords import verify_password
from rathaus.services import Services
from tests.conftest import PASSWORD, TenantFixture
from tests.mail import Mailbox
from tests.web.session import form_token, login


def _member_id(client: TestClient, email: str) -> str:
    page = client.get("/admin/users").text
    found = re.search(
        r'action="/admin/users/([0-9a-f]+)/role"[^<]*\s*<input[^>]*>\s*<label[^>]*>[^<]*' + re.escape(email),
        page,
    )
    assert found, email
    return found.group(1)


def test_only_admins_see_the_administration(client: TestClient, jena: TenantFixture) -> None:
    for email in (jena.staff_email, jena.builder_email):
        client.cookies.clear()
        login(client, email)
        assert client.get("/admin/users").status_code == 403
        assert 'href="/admin/users"' not in client.get("/assistants").text
    client.cookies.clear()
    login(client, jena.admin_email)
    assert 'href="/admin/users"' in client.get("/assistants").text
    assert client.get("/admin/users").status_code == 200


def test_admin_adds_people_and_changes_roles(
    client: TestClient, services: Services, jena: TenantFixture, halle: TenantFixture
) -> None:
    login(client, jena.admin_email)
    token = form_token(client, "/admin/users")
    new = {"csrf": token, "email": "Neu@Jena.example", "name": "Neu", "role": "builder"}
    assert client.post("/admin/users", data={**new, "csrf": "falsch"}).status_code == 403
    created = client.post("/admin/users", data=new, follow_redirects=False)
    assert created.status_code == 200 and "Einladung für neu@jena.example erstellt" in created.text
    assert "Er gilt 7 Tage und nur einmal" in created.text
    link = re.search(r'value="http://testserver(/join/[^"]+)"', created.text)
    assert link
    assert "neu@jena.example" in client.get("/admin/users").text
    assert link.group(1) not in client.get("/admin/users").text  # shown once, never stored

    # an account of another tenant is only invited, and its password stays its own
    joined = client.post(
        "/admin/users",
        data={"csrf": token, "email": halle.staff_email, "role": "staff", "password": "x" * 12},
    )
    assert joined.status_code == 200
    with services.db.system_session() as session:
        user = user_by_email(session, halle.staff_email)
        assert user is not None and verify_password(user.password_hash, PASSWORD)
    again = client.post("/admin/users", data={**new, "email": "keine Adresse"})
    assert again.status_code == 422 and "keine gültige E-Mail-Adresse" in again.text

    newcomer = TestClient(client.app)
    chosen = newcomer.post(link.group(1), data={"password": "x" * 14, "repeated": "x" * 14})
    assert chosen.status_code == 200 and "Assistenten" in chosen.text  # logged in, on the start page
    user_id = _member_id(client, "neu@jena.example")
    changed = client.post(
        f"/admin/users/{user_id}/role", data={"csrf": token, "role": "staff"}, follow_redirects=False
    )
    assert changed.status_code == 303
    client.cookies.clear()
    login(client, "neu@jena.example", "x" * 14)
    assert client.get("/assistants/new").status_code == 403  # staff now


def test_every_role_is_explained_where_it_is_chosen(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.admin_email)
    page = client.get("/admin/users").text
    for sentence in (
        "Lädt Personen ein, vergibt Rollen",
        "Legt Assistenten, Workflows, Chatbots und Wissenssammlungen an",
        "Arbeitet mit den freigegebenen Assistenten und Workflows",
    ):
        assert page.count(sentence) == 2, sentence  # beside the member list and in the invitation form
    assert 'aria-describedby="role-help"' in page and 'aria-describedby="f-role-builder-help"' in page
    client.cookies.set("rathaus_lang", "en")
    assert "Creates and changes assistants, workflows" in client.get("/admin/users").text


def test_last_admin_stays_and_removed_people_are_logged_out(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    staff = TestClient(client.app)
    login(staff, jena.staff_email)
    assert staff.get("/assistants").status_code == 200

    login(client, jena.admin_email)
    token = form_token(client, "/admin/users")
    me = _member_id(client, jena.admin_email)
    refused = client.post(f"/admin/users/{me}/role", data={"csrf": token, "role": "staff"})
    assert refused.status_code == 409 and "mindestens eine Person" in refused.text

    removed = client.post(
        f"/admin/users/{_member_id(client, jena.staff_email)}/remove",
        data={"csrf": token},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert staff.get("/assistants", follow_redirects=False).status_code == 303  # back to the login
    assert jena.staff_email not in client.get("/admin/users").text


def test_api_keys_are_shown_once_and_can_be_revoked(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.admin_email)
    token = form_token(client, "/admin/keys")
    page = client.post("/admin/keys", data={"csrf": token, "name": "Fachverfahren", "role": "staff"})
    assert page.headers["cache-control"] == "no-store"
    key = re.search(r'<code class="new-key" id="new-key">(rh_[^<]+)</code>', page.text)
    assert key
    api = TestClient(client.app)
    auth = {"Authorization": f"Bearer {key.group(1)}"}
    assert api.get("/api/me", headers=auth).json()["role"] == "staff"
    listing = client.get("/admin/keys").text
    assert key.group(1) not in listing and "Fachverfahren" in listing

    key_id = re.search(
        r'action="/admin/keys/([0-9a-f]+)/revoke"[^>]*>\s*<input[^>]*>\s*<button[^>]*Fachverfahren', listing
    )
    assert key_id
    client.post(f"/admin/keys/{key_id.group(1)}/revoke", data={"csrf": token})
    assert api.get("/api/me", headers=auth).status_code == 401
    assert client.post("/admin/keys", data={"csrf": token, "name": " ", "role": "staff"}).status_code == 422


def test_retention_setting_is_validated(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.admin_email)
    token = form_token(client, "/admin/settings")
    assert 'value="30"' in client.get("/admin/settings").text  # the default
    for bad in ("-1", "abc", "99999"):
        assert (
            client.post("/admin/settings", data={"csrf": token, "conversation_days": bad}).status_code == 422
        )
    saved = client.post(
        "/admin/settings", data={"csrf": token, "conversation_days": "0"}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert 'value="0"' in client.get("/admin/settings").text


def test_admin_chooses_the_reference_model(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.admin_email)
    token = form_token(client, "/admin/settings")
    page = client.get("/admin/settings").text
    assert '<option value="" selected>' in page and '<option value="scripted-plain">' in page
    form = {"csrf": token, "conversation_days": "30"}
    refused = client.post("/admin/settings", data={**form, "reference_model": "gpt-unknown"})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    saved = client.post(
        "/admin/settings", data={**form, "reference_model": "scripted-plain"}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert '<option value="scripted-plain" selected>' in client.get("/admin/settings").text


def test_with_a_mail_server_the_link_also_goes_out_by_email(
    client: TestClient, jena: TenantFixture, mailbox: Mailbox
) -> None:
    login(client, jena.admin_email)
    token = form_token(client, "/admin/users")
    data = {"csrf": token, "email": "post@jena.example", "name": "Paula Post", "role": "staff"}
    page = client.post("/admin/users", data=data)
    assert page.status_code == 200 and "Der Link wurde per E-Mail an post@jena.example geschickt" in page.text
    link = re.search(r'value="(http://testserver/join/[^"]+)"', page.text)
    assert link
    [message] = mailbox.messages
    subject = str(make_header(decode_header(message["Subject"])))
    assert message["To"] == "post@jena.example" and subject == "Einladung zu Rathaus – Jena"
    [body] = mailbox.bodies()
    assert link.group(1) in body and "Ihre Rolle: Sachbearbeitung" in body and "gilt 7 Tage" in body
