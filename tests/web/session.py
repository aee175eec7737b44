"""Helpers for page tests: log in through the form, read a page's form token, split server-sent events."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD

CSRF = {"X-Rathaus-CSRF": "1"}


def login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Log in through the login form; the client keeps the session cookie."""
    response = client.post("/login", data={"email": email, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text


def invitation_forms(page: str) -> dict[str, dict[str, str]]:
    """The accept/decline forms of an invitations page: action path -> hidden fields."""
    form = r'<form method="post" action="([^"]+/(?:accept|decline))"[^>]*>(.*?)</form>'
    forms = re.findall(form, page, re.S)
    return {
        action: dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body))
        for action, body in forms
    }


def accept_at_login(client: TestClient, email: str, password: str = PASSWORD, tenant: str = "") -> None:
    """Log in as a person who is only invited and accept the (single) invitation shown."""
    page = client.post("/login", data={"email": email, "password": password, "tenant": tenant})
    assert page.status_code == 200 and "ticket" in page.text, page.text
    forms = invitation_forms(page.text)
    [action] = [a for a in forms if a.endswith("/accept")]
    accepted = client.post(action, data=forms[action], follow_redirects=False)
    assert accepted.status_code == 303, accepted.text


def form_token(client: TestClient, path: str = "/assistants") -> str:
    """The form token printed into a page's forms for the logged-in session."""
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text)
    assert found, f"no form token on {path}"
    return found.group(1)


def events(text: str) -> list[tuple[str, str]]:
    """Server-sent events as (event, data) pairs."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    return [
        (b.split("\n")[0].removeprefix("event: "), b.split("\n")[1].removeprefix("data: ")) for b in blocks
    ]
