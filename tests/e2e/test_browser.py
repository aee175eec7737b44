"""The staff web interface in a real browser (Debian's Chromium driven by Playwright), with axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from rathaus.app import create_app
from rathaus.assistants import registry
from rathaus.assistants.templates import templates
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import PASSWORD, TenantFixture
from tests.servers import serve_in_thread

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the operating system (no browser download)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def site(settings: Settings, services: Services, jena: TenantFixture) -> Iterator[str]:
    """The app with one assistant, served on loopback."""
    builder = Principal(tenant_id=jena.id, role=Role.builder)
    with services.db.session(jena.id) as session:
        registry.save(session, builder, templates()["buergeranfrage"])
    with serve_in_thread(create_app(settings, services)) as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab with its own cookies."""
    context = browser.new_context(locale="de-DE")
    yield context.new_page()
    context.close()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core violations of serious or critical impact, with the offending elements."""
    response = Axe().run(page).response
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_login_by_keyboard_and_assistant_list(site: str, page: Page, jena: TenantFixture) -> None:
    page.goto(f"{site}/assistants")
    expect(page).to_have_url(f"{site}/login?next=/assistants")
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    assert serious_violations(page) == []

    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.get_by_role("link", name="Zum Inhalt springen")).to_be_focused()
    page.get_by_label("E-Mail-Adresse").focus()
    page.keyboard.type(jena.staff_email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Passwort")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{site}/assistants")
    expect(page.get_by_role("heading", name="Assistenten", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Bürgeranfrage beantworten")).to_be_visible()
    assert serious_violations(page) == []

    page.get_by_label("Assistenten durchsuchen").fill("gibt es nicht")
    expect(page.get_by_text("Keine Assistenten gefunden.")).to_be_visible()

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Assistants", level=1)).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{site}/login")


def test_wrong_password_shows_an_accessible_error(site: str, page: Page, jena: TenantFixture) -> None:
    page.goto(f"{site}/login")
    page.get_by_label("E-Mail-Adresse").fill(jena.staff_email)
    page.get_by_label("Passwort").fill("falsches-passwort")
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("alert")).to_contain_text("E-Mail-Adresse oder Passwort ist falsch.")
    assert serious_violations(page) == []


def test_staff_chats_and_sees_the_answer_stream_in(
    site: str, page: Page, services: Services, jena: TenantFixture
) -> None:
    from rathaus.assistants.spec import AssistantSpec

    document = templates()["buergeranfrage"].model_dump(by_alias=True)
    document["metadata"]["name"] = "auskunft"
    document["metadata"]["title"] = "Auskunft Bürgeramt"
    document["spec"]["model"] = {"mode": "profile", "profile": "scripted-paced"}
    document["spec"]["instructions"] = "Antworte kurz."
    with services.db.session(jena.id) as session:
        registry.save(
            session, Principal(tenant_id=jena.id, role=Role.builder), AssistantSpec.model_validate(document)
        )

    page.goto(f"{site}/login")
    page.get_by_label("E-Mail-Adresse").fill(jena.staff_email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_role("link", name="Auskunft Bürgeramt").click()
    expect(page.get_by_role("heading", name="Auskunft Bürgeramt", level=1)).to_be_visible()
    assert serious_violations(page) == []

    page.get_by_role("button", name="Wann wird bei uns der Sperrmüll abgeholt?").click()
    expect(page.get_by_label("Ihre Nachricht")).to_have_value("Wann wird bei uns der Sperrmüll abgeholt?")
    page.get_by_role("button", name="Senden").click()
    answer = page.locator(".chat-message--assistant .chat-message__text").last
    expect(answer).to_have_attribute("aria-busy", "true")
    page.wait_for_function(  # part of the answer is on screen while it is still being written
        """() => {
             const e = [...document.querySelectorAll('.chat-message--assistant .chat-message__text')].pop();
             return e.getAttribute('aria-busy') === 'true' && e.textContent.length > 0;
           }"""
    )
    expect(answer).to_contain_text("Echo: Wann wird bei uns der Sperrmüll abgeholt?")
    expect(answer).not_to_have_attribute("aria-busy", "true")
    expect(page.get_by_role("status")).to_have_text("Antwort vollständig.")
    assert serious_violations(page) == []

    page.get_by_role("link", name="Meine Unterhaltungen").click()
    expect(
        page.get_by_role("link", name="Wann wird bei uns der Sperrmüll abgeholt?", exact=True)
    ).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("link", name="Wann wird bei uns der Sperrmüll abgeholt?", exact=True).click()
    expect(page.locator(".chat-message")).to_have_count(2)  # the stored conversation, both messages
    page.get_by_role("link", name="Meine Unterhaltungen").click()
    page.get_by_role(
        "button", name="Unterhaltung „Wann wird bei uns der Sperrmüll abgeholt?“ löschen"
    ).click()
    expect(page.get_by_text("Noch keine Unterhaltungen.")).to_be_visible()
