"""A person changes their own password: German messages, other logins end; a password someone else chose
must be replaced at the first login."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from rathaus.identity.directory import add_user, tenant_by_slug
from rathaus.identity.models import Role
from rathaus.identity.passwords import WeakPassword, check_strength
from rathaus.services import Services
from tests.conftest import PASSWORD, TenantFixture
from tests.web.session import form_token, login

NEW = "ein-ganz-neues-passwort"


def _change(client: TestClient, current: str, new: str, repeated: str | None = None) -> Any:
    data = {"csrf": form_token(client, "/account/password"), "current": current, "new": new}
    data["repeated"] = new if repeated is None else repeated
    return client.post("/account/password", data=data, follow_redirects=False)


def test_the_password_rules_have_codes_the_pages_translate() -> None:
    for weak, code in (("kurz", "too_short"), (" " * 12, "blank")):
        try:
            check_strength(weak)
        except WeakPassword as exc:
            assert exc.code == code
        else:
            raise AssertionError(weak)


def test_a_person_changes_their_password_and_other_logins_end(
    client: TestClient, jena: TenantFixture
) -> None:
    login(client, jena.staff_email)
    page = client.get("/assistants").text
    assert 'href="/account/password"' in page and "Passwort ändern" in page
    form = client.get("/account/password")
    assert "Regeln für das Passwort: mindestens 10 Zeichen" in form.text
    assert form.headers["cache-control"] == "no-store"
    elsewhere = TestClient(client.app)
    login(elsewhere, jena.staff_email)

    wrong = _change(client, "falsch-falsch", NEW)
    assert wrong.status_code == 422 and "Das bisherige Passwort ist falsch." in wrong.text
    short = _change(client, PASSWORD, "kurz")
    assert short.status_code == 422 and "Das Passwort ist zu kurz" in short.text
    assert "the password must" not in short.text  # the rule's English wording stays inside
    differ = _change(client, PASSWORD, NEW, NEW + "!")
    assert differ.status_code == 422 and "stimmen nicht überein" in differ.text
    same = _change(client, PASSWORD, PASSWORD)
    assert same.status_code == 422 and "Ihr bisheriges" in same.text
    assert elsewhere.get("/assistants").status_code == 200  # nothing changed yet

    done = _change(client, PASSWORD, NEW)
    assert done.status_code == 303
    assert "Ihr Passwort wurde geändert" in client.get("/account/password?done=changed").text
    assert client.get("/assistants").status_code == 200  # this login stays
    assert elsewhere.get("/assistants", follow_redirects=False).status_code == 303  # the other one ended
    fresh = TestClient(client.app)
    assert fresh.post("/login", data={"email": jena.staff_email, "password": PASSWORD}).status_code == 401
    login(fresh, jena.staff_email, NEW)

    client.cookies.set("rathaus_lang", "en")
    english = _change(client, "falsch-falsch", NEW + "2")
    assert "The current password is wrong." in english.text


def test_a_password_an_operator_chose_must_be_changed_first(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    with services.db.system_session() as session:
        tenant = tenant_by_slug(session, "jena")
        assert tenant is not None
        add_user(session, tenant, "neu@jena.example", Role.staff, "vom-betrieb-123", temporary_password=True)
    login(client, "neu@jena.example", "vom-betrieb-123")
    sent = client.get("/assistants", follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/account/password"
    assert client.get("/workflows", follow_redirects=False).headers["location"] == "/account/password"
    page = client.get("/account/password").text
    assert "Ihr Passwort wurde von der Administration vergeben" in page
    assert 'href="/workflows"' not in page  # no way around it, only logging out
    assert _change(client, "vom-betrieb-123", NEW).status_code == 303
    assert client.get("/assistants").status_code == 200
