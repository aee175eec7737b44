"""Adding a person who has an account elsewhere is an invitation they accept; nobody's account is pulled
into another tenant, the answers do not tell which addresses exist, a new person chooses their own
password through the invitation link, and a login without a tenant opens the person's home tenant."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from rathaus.cli import app as cli
from rathaus.identity.directory import memberships_of, user_by_email
from rathaus.identity.models import Invitation, User
from rathaus.services import Services
from rathaus.store.base import utcnow
from tests.conftest import PASSWORD, TenantFixture
from tests.web.session import CSRF, accept_at_login, form_token, invitation_forms, login

FIRST_PASSWORD = "erstes-passwort-123"
LINK = re.compile(r'value="http://testserver(/join/[A-Za-z0-9_-]+)"')


def _invite(client: TestClient, email: str, role: str = "staff") -> Any:
    token = form_token(client, "/admin/users")
    data = {"csrf": token, "email": email, "name": "Eingetragen", "role": role}
    return client.post("/admin/users", data=data, follow_redirects=False)


def _link(page: Any) -> str:
    """The invitation link shown once on the page after inviting (its path)."""
    found = LINK.search(page.text)
    assert found, page.text
    return found.group(1)


def _join(client: TestClient, link: str, password: str = FIRST_PASSWORD) -> Any:
    return client.post(link, data={"password": password, "repeated": password}, follow_redirects=False)


def _tenants_of(services: Services, email: str) -> list[str]:
    with services.db.system_session() as session:
        user = user_by_email(session, email)
        assert user is not None
        return [tenant.slug for tenant, _role in memberships_of(session, user)]


def _exists(services: Services, email: str) -> bool:
    with services.db.system_session() as session:
        return user_by_email(session, email) is not None


def _me(client: TestClient) -> dict[str, object]:
    response = client.get("/api/me")
    assert response.status_code == 200, response.text
    me: dict[str, object] = response.json()
    return me


def _api_login(client: TestClient, email: str, tenant: str | None = None) -> Any:
    return client.post("/api/auth/login", json={"email": email, "password": PASSWORD, "tenant": tenant})


@pytest.fixture
def admin_of_halle(client: TestClient, halle: TenantFixture) -> TestClient:
    """A browser logged in as halle's administrator: the tenant whose name sorts before jena's."""
    login(client, halle.admin_email)
    return client


def test_an_invitation_gives_no_access_until_the_person_accepts(
    admin_of_halle: TestClient, services: Services, jena: TenantFixture, halle: TenantFixture
) -> None:
    invited = _invite(admin_of_halle, jena.staff_email, role="admin")
    assert invited.status_code == 200 and invited.headers["cache-control"] == "no-store"
    assert _tenants_of(services, jena.staff_email) == ["jena"]

    person = TestClient(admin_of_halle.app)
    # without a tenant the login opens the home tenant, although "halle" sorts first
    assert _api_login(person, jena.staff_email).json() == {
        "email": jena.staff_email,
        "tenant": "jena",
        "invitations": 1,
    }
    assert _me(person)["tenant"] == {"id": jena.id, "slug": "jena", "name": "Jena"}
    person.cookies.clear()
    # asking for the inviting tenant gives no session there, only the invitation to decide on
    refused = _api_login(person, jena.staff_email, "halle")
    assert refused.status_code == 403 and refused.json()["code"] == "invitation_pending"
    page = person.post("/login", data={"email": jena.staff_email, "password": PASSWORD, "tenant": "halle"})
    assert page.status_code == 200 and "Halle" in page.text and "rathaus_session" not in page.cookies
    assert page.headers["cache-control"] == "no-store"
    assert person.get("/assistants", follow_redirects=False).status_code == 303  # to the login
    # halle's administration does not count the invited person as a member
    members = admin_of_halle.get("/api/users").json()
    assert jena.staff_email not in {m["email"] for m in members}

    accept_at_login(person, jena.staff_email, PASSWORD, tenant="halle")
    assert _me(person)["tenant"] == {"id": halle.id, "slug": "halle", "name": "Halle"}
    assert _me(person)["role"] == "admin"
    assert _tenants_of(services, jena.staff_email) == ["jena", "halle"]
    # a login without a tenant still opens the home tenant, not the one joined later
    person.cookies.clear()
    assert _api_login(person, jena.staff_email).json()["tenant"] == "jena"


def test_the_answer_does_not_tell_whether_the_address_has_an_account(
    admin_of_halle: TestClient, services: Services, jena: TenantFixture
) -> None:
    with services.db.system_session() as session:
        user = user_by_email(session, jena.staff_email)
        assert user is not None
        user.name = "Jana Jenaer"

    def answer(email: str) -> tuple[int, str]:
        """The status and what the page says about this invitation (the box with the link, or the error)."""
        response = _invite(admin_of_halle, email)
        said = re.search(
            r'<section class="kern-alert.*?</section>|<div class="kern-alert.*?</div>', response.text, re.S
        )
        assert said, response.text
        return response.status_code, re.sub(
            r"/join/[A-Za-z0-9_-]+", "LINK", said.group(0).replace(email, "ADDRESS")
        )

    refused = answer("kein-adresse"), answer("auch keine")
    assert refused[0][0] == 422 and "keine gültige E-Mail-Adresse" in refused[0][1]
    known, unknown = answer(jena.staff_email), answer("neu@halle.example")
    assert known == unknown and known[0] == 200 and "Einladungslink" in known[1]

    page = admin_of_halle.get("/admin/users").text
    assert "Jana Jenaer" not in page  # nothing of jena's account shows

    def row(email: str) -> str:
        found = re.search(r"<tr[^>]*>\s*<td[^>]*>" + re.escape(email) + r"</td>.*?</tr>", page, re.S)
        assert found, email
        text = re.sub(r"/admin/invitations/[0-9a-f]{32}/", "ID", found.group(0).replace(email, "ADDRESS"))
        text = re.sub(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d", "WHEN", text)
        return re.sub(r'datetime="[^"]+"', "WHEN", text)

    assert row(jena.staff_email) == row("neu@halle.example")
    # both stay invitations: the listing cannot tell the known address from the new one either
    listed = {m["email"] for m in admin_of_halle.get("/api/users").json()}
    assert {jena.staff_email, "neu@halle.example"}.isdisjoint(listed)


def test_accept_and_decline_on_the_invitations_page_and_through_the_api(
    admin_of_halle: TestClient, services: Services, jena: TenantFixture, halle: TenantFixture
) -> None:
    _invite(admin_of_halle, jena.staff_email, role="builder")
    _invite(admin_of_halle, jena.builder_email)
    _invite(admin_of_halle, "neu@halle.example")
    staff, builder = TestClient(admin_of_halle.app), TestClient(admin_of_halle.app)

    # the browser: after the login the invitation is shown first, with accept and decline
    shown = staff.post(
        "/login", data={"email": jena.staff_email, "password": PASSWORD}, follow_redirects=False
    )
    assert shown.headers["location"].startswith("/invitations")
    page = staff.get(shown.headers["location"]).text
    assert "<strong>Halle</strong> (halle)" in page
    assert "Jena (jena) · Sachbearbeitung · Heimatmandant" in page
    forms = invitation_forms(page)
    [decline] = [action for action in forms if action.endswith("/decline")]
    assert staff.post(decline, data={"csrf": "falsch"}).status_code == 403
    declined = staff.post(decline, data=forms[decline], follow_redirects=False)
    assert declined.headers["location"] == "/invitations?done=declined"
    assert "Keine offenen Einladungen" in staff.get("/invitations").text
    assert _tenants_of(services, jena.staff_email) == ["jena"]
    assert _exists(services, jena.staff_email)  # declining never deletes a used account

    # the API: the caller's own invitations only
    _api_login(builder, jena.builder_email)
    pending = builder.get("/api/invitations").json()
    assert [(p["tenant"]["slug"], p["role"]) for p in pending] == [("halle", "staff")]
    with services.db.system_session() as session:
        others = session.scalars(select(Invitation.id).where(Invitation.id != pending[0]["id"])).all()
    assert others  # the invitation of someone else
    for other in others:
        assert builder.post(f"/api/invitations/{other}/accept", headers=CSRF).status_code == 404
    assert builder.post(f"/api/invitations/{pending[0]['id']}/accept").status_code == 403  # no script header
    accepted = builder.post(f"/api/invitations/{pending[0]['id']}/accept", headers=CSRF)
    assert accepted.json() == {"tenant": {"slug": "halle", "name": "Halle"}, "role": "staff"}
    assert builder.get("/api/invitations").json() == []
    assert _tenants_of(services, jena.builder_email) == ["jena", "halle"]
    # API keys stand for no person and have no invitations
    keyed = admin_of_halle.get("/api/invitations", headers=halle.headers())
    assert keyed.status_code == 403 and keyed.json()["code"] == "person_only"


def test_a_new_person_chooses_a_password_through_the_link_once(
    admin_of_halle: TestClient, services: Services, halle: TenantFixture
) -> None:
    link = _link(_invite(admin_of_halle, "neu@halle.example", role="builder"))
    assert _link(_invite(admin_of_halle, "weg@halle.example"))
    # the new account has no password: nobody, not even the administrator, can log in to it yet
    newcomer = TestClient(admin_of_halle.app)
    refused = newcomer.post("/login", data={"email": "neu@halle.example", "password": "irgendwas-1234"})
    assert refused.status_code == 401

    page = newcomer.get(link)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Halle lädt Sie zu Rathaus ein" in page.text and "Gestaltung" in page.text
    assert "mindestens 10 Zeichen" in page.text  # the rules come before the first attempt
    short = _join(newcomer, link, "kurz")
    assert short.status_code == 422 and "Das Passwort ist zu kurz" in short.text
    differ = newcomer.post(link, data={"password": FIRST_PASSWORD, "repeated": FIRST_PASSWORD + "x"})
    assert differ.status_code == 422 and "stimmen nicht überein" in differ.text
    joined = _join(newcomer, link)
    assert joined.status_code == 303 and joined.headers["location"] == "/assistants"
    newcomer.cookies.set("rathaus_session", joined.cookies["rathaus_session"])
    assert _me(newcomer)["tenant"] == {"id": halle.id, "slug": "halle", "name": "Halle"}
    assert _me(newcomer)["role"] == "builder"
    assert "neu@halle.example" in {m["email"] for m in admin_of_halle.get("/api/users").json()}

    # the link works once; afterwards it says so in German, and the password is the person's
    again = TestClient(admin_of_halle.app)
    used = again.get(link)
    assert used.status_code == 404 and "Dieser Link gilt nicht mehr" in used.text
    assert _join(again, link, "noch-ein-passwort-1").status_code == 404
    login(again, "neu@halle.example", FIRST_PASSWORD)


def test_links_expire_end_when_renewed_or_withdrawn_and_ask_existing_accounts_to_log_in(
    admin_of_halle: TestClient, services: Services, jena: TenantFixture
) -> None:
    first = _link(_invite(admin_of_halle, "spaet@halle.example"))
    with services.db.system_session() as session:
        invitation = session.scalars(select(Invitation)).one()
        invitation.expires_at = utcnow() - timedelta(minutes=1)
    person = TestClient(admin_of_halle.app)
    expired = person.get(first)
    assert expired.status_code == 410 and "Dieser Link ist abgelaufen" in expired.text
    assert _join(person, first).status_code == 410
    page = admin_of_halle.get("/admin/users").text
    assert "abgelaufen" in page

    # a new link replaces the old one; withdrawing ends the new one too
    renew = re.search(r'action="(/admin/invitations/[0-9a-f]{32}/renew)"', page)
    assert renew
    renewed = admin_of_halle.post(renew.group(1), data={"csrf": form_token(admin_of_halle, "/admin/users")})
    second = _link(renewed)
    assert second != first and person.get(first).status_code == 404
    assert person.get(second).status_code == 200
    withdraw = renew.group(1).replace("/renew", "/withdraw")
    admin_of_halle.post(withdraw, data={"csrf": form_token(admin_of_halle, "/admin/users")})
    assert person.get(second).status_code == 404
    assert not _exists(services, "spaet@halle.example")

    # an existing account never gets a password through a link: its owner logs in and accepts
    link = _link(_invite(admin_of_halle, jena.staff_email))
    page = person.get(link)
    assert page.status_code == 200 and "schon ein Konto" in page.text and 'name="password"' not in page.text
    taken = _join(person, link, "uebernommen-123")
    assert taken.status_code == 303 and "rathaus_session" not in taken.cookies
    login(person, jena.staff_email)  # the old password still works


def test_the_login_ticket_cannot_be_forged(
    admin_of_halle: TestClient, services: Services, jena: TenantFixture
) -> None:
    _invite(admin_of_halle, jena.staff_email)
    person = TestClient(admin_of_halle.app)
    page = person.post("/login", data={"email": jena.staff_email, "password": PASSWORD, "tenant": "halle"})
    forms = invitation_forms(page.text)
    [accept] = [action for action in forms if action.endswith("/accept")]
    forged = person.post(accept, data={**forms[accept], "ticket": forms[accept]["ticket"][:-2] + "xx"})
    assert forged.status_code == 401 and "abgelaufen" in forged.text
    elsewhere = person.post(accept, data=forms[accept], headers={"Origin": "https://boese.example"})
    assert elsewhere.status_code == 403

    [decline] = [action for action in forms if action.endswith("/decline")]
    gone = person.post(decline, data=forms[decline])
    assert gone.status_code == 200 and "Die Einladung wurde abgelehnt" in gone.text
    assert _exists(services, jena.staff_email)  # declining never deletes a used account
    assert jena.staff_email not in admin_of_halle.get("/admin/users").text


def test_withdrawing_stays_inside_the_tenant(
    client: TestClient, services: Services, jena: TenantFixture, halle: TenantFixture
) -> None:
    login(client, halle.admin_email)
    _invite(client, jena.staff_email)
    _invite(client, "neu@halle.example")
    with services.db.session(halle.id) as session:
        rows = session.execute(select(User.email, Invitation.id).join(User, User.id == Invitation.user_id))
        ids = {email: invitation_id for email, invitation_id in rows}
    # another tenant's administrator can neither see nor withdraw halle's invitations
    other = TestClient(client.app)
    login(other, jena.admin_email)
    page = other.get("/admin/users").text
    assert "Keine offenen Einladungen" in page and "neu@halle.example" not in page
    token = form_token(other, "/admin/users")
    foreign = other.post(f"/admin/invitations/{ids[jena.staff_email]}/withdraw", data={"csrf": token})
    assert foreign.status_code == 404

    token = form_token(client, "/admin/users")
    for email in (jena.staff_email, "neu@halle.example"):
        withdrawn = client.post(
            f"/admin/invitations/{ids[email]}/withdraw", data={"csrf": token}, follow_redirects=False
        )
        assert withdrawn.headers["location"] == "/admin/users?done=withdrawn"
    assert "Keine offenen Einladungen" in client.get("/admin/users").text
    assert _exists(services, jena.staff_email)  # the account of jena stays as it was
    assert not _exists(services, "neu@halle.example")  # made for the invitation, never used


def test_an_operator_attaches_directly(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    admin_of_halle: TestClient,
    services: Services,
    jena: TenantFixture,
) -> None:
    _invite(admin_of_halle, jena.staff_email, role="admin")
    for name in list(os.environ):
        if name.startswith("RATHAUS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RATHAUS_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("RATHAUS_DATABASE_URL", database_url)
    added = CliRunner().invoke(cli, ["user", "add", jena.staff_email, "--tenant", "halle"])
    assert added.exit_code == 0, added.output
    assert _tenants_of(services, jena.staff_email) == ["jena", "halle"]
    with services.db.system_session() as session:
        assert session.scalar(select(func.count(Invitation.id))) == 0  # the open invitation is settled
    # "halle" sorts first, but the login without a tenant keeps to the home tenant
    person = TestClient(admin_of_halle.app)
    assert _api_login(person, jena.staff_email).json()["tenant"] == "jena"
    assert "Keine offenen Einladungen" in admin_of_halle.get("/admin/users").text
