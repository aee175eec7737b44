"""Administration in a real browser (Debian's Chromium with Playwright), each step checked with axe-core:
inviting a person who then chooses a password through the link, and reading the models and usage pages,
on a desktop screen and on a 390 × 844 phone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from rathaus.accounting.costing import Costed
from rathaus.accounting.footprint import Footprint
from rathaus.accounting.records import record_request
from rathaus.app import create_app
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.llm.backend import Usage
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import TenantFixture
from tests.e2e.conftest import log_in, serious_violations
from tests.servers import serve_in_thread
from tests.web.test_models_page import COLUMNS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
PHONE = {"width": 390, "height": 844}
NEW_PASSWORD = "Rathaus-Pass-2026"


@pytest.fixture
def site(settings: Settings, services: Services, jena: TenantFixture) -> Iterator[str]:
    """The app with a few requests of jena on record, served on loopback."""
    principal = Principal(tenant_id=jena.id, role=Role.staff)
    for model, wh, tokens in (("scripted", 0.4, 120), ("scripted", 0.6, 80), ("scripted-plain", 0.1, 30)):
        costed = Costed(
            Footprint(wh, "measured", 0.5, wh * 0.363, 0.0),
            "extern",
            Footprint(wh * 4, "calibrated", 0.5, wh, 0.0),
        )
        usage = Usage(tokens_in=40, tokens_out=tokens, ttft_ms=300.0, duration_ms=2300.0)
        record_request(
            services.db, principal, services.catalogue.get(model), "v1.chat", usage, "ok", None, costed
        )
    with serve_in_thread(create_app(settings, services)) as url:
        yield url


def _fits_phone(page: Page) -> None:
    """The page does not scroll sideways on a 390 px wide phone."""
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def test_an_invited_person_chooses_a_password_and_logs_in(
    site: str, page: Page, browser: Browser, jena: TenantFixture
) -> None:
    log_in(page, site, jena.admin_email)
    page.get_by_role("link", name="Verwaltung", exact=True).click()
    expect(page.get_by_role("heading", name="Personen und Rollen", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Verwaltung", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("Lädt Personen ein, vergibt Rollen").first).to_be_visible()  # roles explained
    assert serious_violations(page) == []

    page.get_by_label("E-Mail-Adresse").fill("neu@jena.example")
    page.get_by_label("Name").fill("Nina Neu")
    page.get_by_label("Gestaltung").check()
    expect(page.get_by_label("Passwort")).to_have_count(0)  # the administrator types no password
    page.get_by_role("button", name="Einladungslink erstellen").click()
    expect(page.get_by_role("heading", name="Einladung für neu@jena.example erstellt")).to_be_visible()
    link = page.get_by_role("textbox", name="Einladungslink").input_value()
    assert link.startswith(f"{site}/join/")
    expect(page.get_by_role("button", name="Link kopieren")).to_be_visible()
    expect(
        page.get_by_role("button", name="Neuen Einladungslink für neu@jena.example erstellen")
    ).to_be_visible()
    assert serious_violations(page) == []
    _fits_phone(page)

    person = browser.new_context(locale="de-DE").new_page()
    person.goto(link)
    expect(person.get_by_role("heading", name="Einladung annehmen")).to_be_visible()
    expect(person.get_by_text("Regeln für das Passwort: mindestens 10 Zeichen")).to_be_visible()
    assert serious_violations(person) == []
    person.get_by_label("Neues Passwort", exact=True).fill("kurz")
    person.get_by_label("Neues Passwort wiederholen").fill("kurz")
    person.get_by_role("button", name="Passwort speichern und anmelden").click()
    expect(person.get_by_text("Das Passwort ist zu kurz: Es braucht mindestens 10 Zeichen.")).to_be_visible()
    assert serious_violations(person) == []
    person.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
    person.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
    person.get_by_role("button", name="Passwort speichern und anmelden").click()
    expect(person.get_by_role("heading", name="Assistenten", level=1)).to_be_visible()
    expect(person.get_by_role("link", name="Neuer Assistent")).to_be_visible()  # the builder role
    _fits_phone(person)

    person.goto(link)  # a second time: the link is used up
    expect(person.get_by_role("heading", name="Dieser Link gilt nicht mehr")).to_be_visible()
    assert serious_violations(person) == []
    person.context.close()


def test_the_administrator_reads_the_models_and_the_usage_page(
    site: str, page: Page, jena: TenantFixture
) -> None:
    log_in(page, site, jena.admin_email)
    page.goto(f"{site}/admin/users")
    page.get_by_role("navigation", name="Verwaltungsbereiche").get_by_role("link", name="Modelle").click()
    expect(page.get_by_role("heading", name="Modelle", level=1)).to_be_visible()
    table = page.get_by_role("table", name="Modelle dieser Installation")
    for heading in COLUMNS:
        expect(table.get_by_role("columnheader", name=heading, exact=True)).to_be_visible()
    row = table.get_by_role("row").filter(has_text="scripted-plain")
    expect(row).to_contain_text("15 Tokens/s")  # 30 tokens in 2 seconds of writing
    expect(row).to_contain_text("0,1 Wh")
    expect(row).to_contain_text("1 Anfrage")
    assert serious_violations(page) == []
    _fits_phone(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("navigation", name="Verwaltungsbereiche").get_by_role("link", name="Verbrauch").click()
    expect(page.get_by_role("heading", name="Verbrauch", level=1)).to_be_visible()
    tiers = page.get_by_role("img", name="Anfragen je Tag nach Stufe")
    expect(tiers).to_be_visible()
    expect(tiers.locator("text.chart-unit").first).to_have_text("Anfragen")  # the value axis names its unit
    energy = page.get_by_role("img", name="Energie je Tag")
    expect(energy.locator("text.chart-unit").first).to_have_text("Energie in Wh")
    assert energy.locator("text.chart-label").count() > 5  # numbers on the value axis, days on the other
    page.get_by_text("Als Tabelle").first.click()
    expect(page.get_by_role("cell", name="3").first).to_be_visible()
    assert serious_violations(page) == []
    _fits_phone(page)

    # on the phone the main navigation folds behind a menu button
    menu = page.get_by_role("button", name="Menü")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Assistenten", exact=True)).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Verwaltung", exact=True)).to_have_attribute("aria-current", "page")
    assert serious_violations(page) == []
