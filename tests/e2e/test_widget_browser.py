"""The citizen chatbot's widget in a real browser, embedded with one script tag in a city's page served from
another origin: a citizen gets a cited answer, switches to Leichte Sprache, rates it and asks for a person,
whom staff then see in their inbox; everything by keyboard alone; and a page on an origin the chatbot does
not allow gets a clear message. The page with the widget closed and open is checked with axe-core, which
looks into the widget's open shadow root."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, Locator, Page, Response, expect

from rathaus.app import create_app
from rathaus.services import Services
from rathaus.settings import Settings
from tests.chatbots.conftest import PAGES, publish_bot
from tests.conftest import TenantFixture
from tests.e2e.conftest import log_in, serious_violations
from tests.servers import serve_in_thread

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
CITY_PAGE = Path(__file__).with_name("citypage.html")
TITLE = "Bürgerservice Musterstadt"
HUNDESTEUER = f"{PAGES}/hundesteuer/"
QUESTION = "Was kostet die Hundesteuer für zwei Hunde?"
UNAVAILABLE = "Der Chat ist auf dieser Seite nicht verfügbar."
CONSENT = "Ich bin einverstanden, dass die Stadt meine Angaben zur Bearbeitung speichert."


def city_app() -> FastAPI:
    """A city's website: the sample page, with the widget's script tag from `app.state.widget` in it."""
    app = FastAPI()
    app.state.widget = ""

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        return CITY_PAGE.read_text(encoding="utf-8").replace("{{WIDGET}}", app.state.widget)

    @app.get("/datenschutz", response_class=HTMLResponse)
    def privacy() -> str:
        return (
            '<!doctype html><html lang="de"><title>Datenschutz – Stadt Musterstadt</title>'
            "<main><h1>Datenschutz</h1><p>So schützt die Stadt Ihre Daten.</p></main></html>"
        )

    return app


@dataclass(frozen=True)
class Sites:
    """The Rathaus server, the city's page allowed to embed the chatbot, and a page that is not."""

    rathaus: str
    city: str
    elsewhere: str


@pytest.fixture
def sites(settings: Settings, services: Services, jena: TenantFixture) -> Iterator[Sites]:
    """Rathaus and two city sites on their own loopback origins; jena's chatbot allows the first only."""
    city, elsewhere = city_app(), city_app()
    with (
        serve_in_thread(create_app(settings, services)) as rathaus,
        serve_in_thread(city) as city_url,
        serve_in_thread(elsewhere) as elsewhere_url,
    ):
        token = publish_bot(
            services,
            jena,
            title=TITLE,
            origins=[city_url],
            color="#004B87",
            privacy_url=f"{city_url}/datenschutz",
            greeting="Guten Tag! Ich beantworte Ihre Fragen zu den Dienstleistungen der Stadt Musterstadt.",
            languages=["de", "en"],
            handoff=True,
        )
        tag = f'<script src="{rathaus}/widget.js" data-bot="{token}" async></script>'
        city.state.widget = elsewhere.state.widget = tag
        yield Sites(rathaus, city_url, elsewhere_url)


def has_focus(locator: Locator) -> bool:
    """Whether the element has the focus, also inside a shadow root."""
    return bool(locator.evaluate("el => el.getRootNode().activeElement === el"))


def tab_to(page: Page, target: Locator, key: str = "Tab", most: int = 30) -> None:
    """Press `key` until `target` has the focus (as a keyboard user does); fails after `most` presses."""
    for _ in range(most):
        page.keyboard.press(key)
        if has_focus(target):
            return
    pytest.fail(f"{target} not reached with {most} presses of {key}")


def test_a_citizen_gets_a_cited_answer_and_reaches_a_person(
    sites: Sites, browser: Browser, page: Page, jena: TenantFixture
) -> None:
    page.goto(sites.city)
    launcher = page.get_by_role("button", name="Chat mit der KI")
    expect(launcher).to_be_visible()
    assert serious_violations(page) == []

    launcher.click()
    chat = page.get_by_role("dialog", name=TITLE)
    expect(chat).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    field = chat.get_by_label("Ihre Frage")
    expect(field).to_be_focused()
    expect(chat).to_contain_text(
        "Sie chatten mit einer KI. Die Antworten werden automatisch erstellt und können Fehler enthalten."
    )
    privacy = chat.get_by_role("link", name="Datenschutzhinweise (öffnet in neuem Tab)")
    expect(privacy).to_have_attribute("href", f"{sites.city}/datenschutz")
    expect(privacy).to_have_attribute("target", "_blank")
    expect(chat.get_by_role("button", name="Was kostet die Hundesteuer?")).to_be_visible()
    expect(chat.get_by_text("0 von 500 Zeichen")).to_be_visible()
    assert serious_violations(page) == []

    field.fill(QUESTION)
    chat.get_by_role("button", name="Senden").click()
    log = chat.get_by_role("log")
    helpful = log.get_by_role("button", name="Hilfreich", exact=True)
    expect(helpful).to_have_count(1, timeout=30_000)
    expect(log).to_contain_text("144 Euro")
    cited = log.locator(f'a[href="{HUNDESTEUER}"]')  # in the answer and in its sources
    expect(cited.first).to_be_visible()
    expect(cited.first).to_have_attribute("target", "_blank")
    expect(field).to_have_value("")
    assert serious_violations(page) == []

    chat.get_by_role("switch", name="Leichte Sprache").check()
    field.fill("Wie viel kostet ein Hund?")
    field.press("Enter")
    expect(helpful).to_have_count(2, timeout=30_000)

    helpful.last.click()
    expect(helpful.last).to_have_attribute("aria-pressed", "true")
    expect(chat.get_by_text("Danke für Ihre Rückmeldung.")).to_be_visible()

    chat.get_by_role("button", name="Mit einem Menschen sprechen").click()
    expect(chat.get_by_label("Name (freiwillig)")).to_be_focused()
    expect(chat.get_by_label("Ihr Anliegen")).to_have_value("Wie viel kostet ein Hund?")
    chat.get_by_role("button", name="Anfrage senden").click()  # without contact and consent
    contact = chat.get_by_label("E-Mail oder Telefon")
    expect(contact).to_be_focused()
    expect(contact).to_have_attribute("aria-invalid", "true")
    expect(contact).to_have_accessible_description(
        "Bitte geben Sie Ihre E-Mail-Adresse oder Telefonnummer an."
    )
    assert serious_violations(page) == []
    contact.fill("eva@example.org")
    chat.get_by_label(CONSENT).check()
    chat.get_by_role("button", name="Anfrage senden").click()
    received = chat.get_by_text(re.compile(r"Ihre Anfrage ist eingegangen\. Ihre Vorgangsnummer: \S+"))
    expect(received).to_be_focused()
    found = re.search(r"Vorgangsnummer: (\S+)", received.inner_text())
    assert found is not None
    reference = found.group(1)
    assert serious_violations(page) == []
    assert page.context.cookies() == []  # nothing kept in the citizen's browser
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    staff = browser.new_context(locale="de-DE").new_page()
    log_in(staff, sites.rathaus, jena.staff_email)
    staff.goto(f"{sites.rathaus}/handoffs")
    expect(staff.get_by_text(reference)).to_be_visible()
    assert serious_violations(staff) == []
    staff.context.close()


def test_the_widget_works_by_keyboard_alone(sites: Sites, page: Page) -> None:
    page.goto(sites.city)
    launcher = page.get_by_role("button", name="Chat mit der KI")
    expect(launcher).to_be_attached()
    tab_to(page, launcher)
    page.keyboard.press("Enter")
    chat = page.get_by_role("dialog", name=TITLE)
    expect(chat.get_by_label("Ihre Frage")).to_be_focused()

    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    helpful = chat.get_by_role("log").get_by_role("button", name="Hilfreich", exact=True)
    expect(helpful).to_be_visible(timeout=30_000)
    expect(chat.get_by_label("Ihre Frage")).to_be_focused()  # the focus stays where the citizen types

    tab_to(page, helpful, "Shift+Tab")
    assert helpful.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"  # a visible focus ring
    page.keyboard.press("Space")
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(chat.get_by_text("Danke für Ihre Rückmeldung.")).to_be_visible()

    page.keyboard.press("Escape")
    expect(chat).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")


def test_a_page_on_another_origin_gets_no_chat(sites: Sites, page: Page) -> None:
    answers: list[Response] = []
    page.on("response", lambda r: answers.append(r) if "/api/widget/" in r.url else None)
    page.goto(sites.elsewhere)
    page.get_by_role("button", name="Chat mit der KI").click()
    chat = page.get_by_role("dialog", name="Chat mit der KI")
    expect(chat.get_by_text(UNAVAILABLE)).to_be_visible()
    expect(chat.get_by_text(UNAVAILABLE)).to_be_focused()
    expect(chat.get_by_label("Ihre Frage")).to_be_hidden()
    assert [r.status for r in answers][:1] == [403]
    assert serious_violations(page) == []


def test_on_a_small_screen_the_chat_keeps_the_focus(sites: Sites, page: Page) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(sites.city)
    page.get_by_role("button", name="Chat mit der KI").click()
    chat = page.get_by_role("dialog", name=TITLE)
    expect(chat).to_have_attribute("aria-modal", "true")  # it covers the page: nothing behind it is reachable
    field = chat.get_by_label("Ihre Frage")
    expect(field).to_be_focused()
    for key in ["Tab"] * 25 + ["Shift+Tab"] * 25:  # however far one tabs, the focus never leaves the chat
        page.keyboard.press(key)
        assert page.evaluate("document.activeElement.hasAttribute('data-rathaus-widget')"), key
    closer = chat.get_by_role("button", name="Chat schließen")
    tab_to(page, closer)
    assert serious_violations(page) == []


def test_a_question_whose_answer_times_out_still_counts_as_sent(sites: Sites, page: Page) -> None:
    page.clock.install()
    page.goto(sites.city)
    held: list[object] = []
    page.route("**/messages", lambda route: held.append(route))  # the server never answers
    page.get_by_role("button", name="Chat mit der KI").click()
    chat = page.get_by_role("dialog", name=TITLE)
    chat.get_by_label("Ihre Frage").fill(QUESTION)
    with page.expect_request("**/messages"):  # the widget starts its wait with this request
        chat.get_by_role("button", name="Senden").click()
    expect(chat.get_by_text("Antwort wird erstellt …")).to_be_visible()

    page.clock.run_for(121_000)  # past the widget's wait of 120 seconds

    expect(
        chat.get_by_text("Die Antwort dauert zu lange. Bitte versuchen Sie es noch einmal.")
    ).to_be_visible()
    expect(chat.get_by_text("Nicht gesendet.")).to_have_count(0)  # it was sent: only the answer is missing
    assert held  # the question did leave the browser


def test_an_answer_that_takes_too_long_to_write_comes_as_the_evidence(
    settings: Settings, services: Services, jena: TenantFixture, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("rathaus.chatbots.answers.WRITE_SECONDS", 1)
    city = city_app()
    with serve_in_thread(create_app(settings, services)) as rathaus, serve_in_thread(city) as city_url:
        token = publish_bot(services, jena, model="scripted-sentences", title=TITLE, origins=[city_url])
        city.state.widget = f'<script src="{rathaus}/widget.js" data-bot="{token}" async></script>'
        page.goto(city_url)
        page.get_by_role("button", name="Chat mit der KI").click()
        chat = page.get_by_role("dialog", name=TITLE)
        chat.get_by_label("Ihre Frage").fill(QUESTION)
        chat.get_by_role("button", name="Senden").click()
        log = chat.get_by_role("log")
        expect(log.get_by_role("button", name="Hilfreich", exact=True)).to_have_count(1, timeout=30_000)
        expect(log).to_contain_text("Euro")  # the rates, quoted from the page
        expect(log).not_to_contain_text("Die Steuer wird im Jahr erhoben")  # the slow model's text stopped
        expect(chat.get_by_text("Nicht gesendet.")).to_have_count(0)
