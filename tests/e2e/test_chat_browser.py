"""Staff chat in a real browser: ask, stop, ask again, and turn an answer or any text into Leichte Sprache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from rathaus.app import create_app
from rathaus.assistants import registry
from rathaus.assistants.spec import AssistantSpec
from rathaus.assistants.templates import templates
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import TenantFixture
from tests.e2e.conftest import log_in, serious_violations
from tests.servers import serve_in_thread

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
QUESTION = (
    "Ich bin vor drei Wochen innerhalb der Stadt umgezogen und habe mich noch nicht umgemeldet. Welche "
    "Unterlagen brauche ich für die Ummeldung, muss ich persönlich kommen und was kostet das?"
)


@pytest.fixture
def site(settings: Settings, services: Services, jena: TenantFixture) -> Iterator[str]:
    """The app with an assistant that writes its answers slowly enough to be stopped."""
    document = templates()["zusammenfassen"].model_dump(by_alias=True)
    document["metadata"].update(name="auskunft", title="Auskunft Bürgeramt")
    document["spec"]["model"] = {"mode": "profile", "profile": "scripted-paced"}
    with services.db.session(jena.id) as session:
        registry.save(
            session,
            Principal(tenant_id=jena.id, role=Role.builder),
            AssistantSpec.model_validate(document),
            services.catalogue,
        )
    with serve_in_thread(create_app(settings, services)) as url:
        yield url


def test_staff_stop_ask_again_and_get_leichte_sprache(site: str, page: Page, jena: TenantFixture) -> None:
    log_in(page, site, jena.staff_email)
    page.get_by_role("link", name="Auskunft Bürgeramt").click()
    page.get_by_label("Ihre Nachricht").fill(QUESTION)
    page.get_by_role("button", name="Senden").click()
    answer = page.locator(".chat-message--assistant .chat-message__text").last
    expect(page.locator(".chat-progress")).to_be_visible()  # says what is happening while it waits
    expect(answer).to_contain_text("Echo: Ich bin")  # part of the answer is on screen
    page.get_by_role("button", name="Stopp").click()
    expect(page.get_by_role("status")).to_have_text("Angehalten.")
    expect(answer).not_to_contain_text("was kostet das?")  # stopped before the end
    assert serious_violations(page) == []

    page.get_by_role("button", name="Erneut fragen").click()
    answer = page.locator(".chat-message--assistant .chat-message__text").last
    expect(answer).to_contain_text("was kostet das?", timeout=30_000)
    expect(page.get_by_role("status")).to_have_text("Antwort vollständig.")
    expect(page.get_by_role("button", name="Erneut fragen")).to_have_count(0)

    page.get_by_role("button", name="In Leichte Sprache", exact=True).last.click()
    expect(page.locator(".chat-message--user .chat-message__text").last).to_have_text(
        "Bitte die Antwort in Leichte Sprache übertragen."
    )
    simplified = page.locator(".chat-message--assistant").last
    expect(simplified.locator(".chat-check")).to_contain_text("Prüfung auf Leichte Sprache")
    expect(simplified.locator(".chat-check")).to_contain_text("Immer „Sie“ oder immer „du“")
    expect(simplified.get_by_role("button", name="Kopieren")).to_be_visible()
    assert serious_violations(page) == []

    page.get_by_label("Ihre Nachricht").fill("Die Anmeldung hat binnen zwei Wochen zu erfolgen.")
    page.get_by_role("button", name="Text in Leichte Sprache übertragen").click()
    expect(page.locator(".chat-message--user").last).to_contain_text("binnen zwei Wochen")
    expect(page.locator(".chat-message--assistant .chat-check")).to_have_count(2)
    expect(page.get_by_label("Ihre Nachricht")).to_have_value("")

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
