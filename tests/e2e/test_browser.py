"""The staff web interface in a real browser (Debian's Chromium driven by Playwright), with axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from rathaus.app import create_app
from rathaus.assistants import registry
from rathaus.assistants.templates import templates
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import PASSWORD, TenantFixture
from tests.e2e.conftest import log_in, serious_violations
from tests.servers import serve_in_thread

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def site(settings: Settings, services: Services, jena: TenantFixture) -> Iterator[str]:
    """The app with one assistant, served on loopback."""
    builder = Principal(tenant_id=jena.id, role=Role.builder)
    with services.db.session(jena.id) as session:
        registry.save(session, builder, templates()["buergeranfrage"], services.catalogue)
    with serve_in_thread(create_app(settings, services)) as url:
        yield url


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
            session,
            Principal(tenant_id=jena.id, role=Role.builder),
            AssistantSpec.model_validate(document),
            services.catalogue,
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
    page.get_by_text("Warum dieses Modell?").click()  # the route, opened by the person
    expect(page.locator(".chat-route").last).to_contain_text("vom Assistenten fest eingestellt")
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


def test_builder_creates_tests_and_versions_an_assistant(
    site: str, browser: Browser, page: Page, jena: TenantFixture
) -> None:
    log_in(page, site, jena.builder_email)
    page.get_by_role("link", name="Neuen Assistenten anlegen").click()
    page.get_by_role("link", name="Vermerk schreiben").click()
    expect(page.get_by_label("Titel", exact=True)).to_have_value("Vermerk schreiben")
    assert serious_violations(page) == []

    page.get_by_label("Titel", exact=True).fill("Vermerk Ordnungsamt")
    page.get_by_label("Kurzname").fill("vermerk-ordnungsamt")
    page.get_by_label("Modellwahl").select_option("profile")
    expect(page.get_by_label("Leistungsstufe")).to_be_hidden()
    page.get_by_label("Bestimmtes Modell", exact=True).select_option("scripted-paced")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("status").filter(has_text="Version 1 gespeichert.")).to_be_visible()

    # edit the instructions and try them in the test chat before saving, by keyboard only
    page.get_by_label("Anweisungen").fill("Schreibe einen Vermerk in drei Sätzen.")
    page.get_by_label("Testnachricht").focus()
    page.keyboard.type("Anruf von Herrn Beispiel wegen Lärm")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Test senden")).to_be_focused()
    page.keyboard.press("Enter")
    answer = page.locator("#preview-messages .chat-message--assistant .chat-message__text").last
    expect(answer).to_contain_text("Echo: Anruf von Herrn Beispiel wegen Lärm", timeout=20_000)
    expect(page.locator("#preview-messages .copy")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("status").filter(has_text="Version 2 gespeichert.")).to_be_visible()
    expect(page.get_by_label("Anweisungen")).to_have_value("Schreibe einen Vermerk in drei Sätzen.")
    expect(page.get_by_text("Version 2 ·")).to_be_visible()

    # the YAML tab edits the same document; a mistake is shown at its line
    page.get_by_role("tab", name="Formular").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="YAML")).to_have_attribute("aria-selected", "true")
    yaml_box = page.get_by_label("Dokument als YAML")
    expect(yaml_box).to_have_value(re.compile("Schreibe einen Vermerk in drei Sätzen."))
    text = yaml_box.input_value()
    lines = text.split("\n")
    line = next(i for i, row in enumerate(lines, 1) if row.strip().startswith("creativity:"))
    yaml_box.fill("\n".join("  creativity: sehr" if i == line else r for i, r in enumerate(lines, 1)))
    page.get_by_role("button", name="YAML prüfen").click()
    expect(page.locator(".yaml-problem")).to_contain_text("spec.creativity")
    expect(page.get_by_role("button", name=f"Zeile {line}")).to_be_visible()
    expect(page.locator(".yaml-lines__error")).to_have_text(str(line))
    assert serious_violations(page) == []
    page.get_by_role("button", name=f"Zeile {line}").click()
    expect(yaml_box).to_be_focused()

    # a staff member chats with the saved assistant and sees the answer stream in
    context = browser.new_context(locale="de-DE")
    staff = context.new_page()
    log_in(staff, site, jena.staff_email)
    staff.get_by_role("link", name="Vermerk Ordnungsamt").click()
    staff.get_by_label("Ihre Nachricht").fill("Ortstermin Parkstraße")
    staff.get_by_role("button", name="Senden").click()
    staff.wait_for_function(
        """() => {
             const e = [...document.querySelectorAll('.chat-message--assistant .chat-message__text')].pop();
             return e && e.getAttribute('aria-busy') === 'true' && e.textContent.length > 0;
           }"""
    )
    reply = staff.locator(".chat-message--assistant .chat-message__text").last
    expect(reply).to_contain_text("Echo: Ortstermin Parkstraße")
    expect(reply).not_to_have_attribute("aria-busy", "true")
    assert "Schreibe einen Vermerk in drei Sätzen." in reply.inner_text()  # version 2's instructions
    expect(staff.get_by_role("button", name="Kopieren")).to_be_visible()
    assert staff.get_by_role("link", name="Neuer Assistent").count() == 0  # staff cannot build
    context.close()


def test_admin_pages_are_accessible(site: str, page: Page, jena: TenantFixture) -> None:
    log_in(page, site, jena.admin_email)
    page.get_by_role("link", name="Verwaltung", exact=True).click()
    expect(page.get_by_role("heading", name="Personen und Rollen", level=1)).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("link", name="API-Schlüssel").click()
    page.get_by_label("Bezeichnung").fill("Fachverfahren Bürgeramt")
    page.get_by_role("button", name="Erstellen").click()
    expect(page.locator("#new-key")).to_contain_text("rh_")
    assert serious_violations(page) == []
    page.get_by_role("link", name="Einstellungen").click()
    page.get_by_label("Unterhaltungen aufbewahren (Tage)").fill("0")
    reference = page.get_by_label("Vergleichsmodell für Einsparungen")
    chosen = reference.select_option(index=1)  # the first chat model after the installation's default
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("status")).to_contain_text("Die Einstellungen wurden gespeichert.")
    expect(reference).to_have_value(chosen[0])
    assert serious_violations(page) == []
    page.get_by_role("link", name="Budgets").click()
    page.get_by_label("Euro je Monat").fill("25")
    page.get_by_label("Wenn aufgebraucht").select_option("downgrade")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("status")).to_contain_text("Das Budget wurde gespeichert.")
    assert serious_violations(page) == []
    page.get_by_role("link", name="Verbrauch").click()
    expect(page.get_by_role("heading", name="Anfragen je Tag nach Stufe")).to_be_visible()
    page.get_by_text("Als Tabelle").first.click()
    assert serious_violations(page) == []


def test_upload_search_and_cited_answer(
    site: str, browser: Browser, page: Page, services: Services, jena: TenantFixture
) -> None:
    from pathlib import Path

    from rathaus.assistants.spec import AssistantSpec

    corpus = Path(__file__).parents[2] / "src" / "rathaus" / "knowledge" / "demo" / "corpus"
    chosen = [next(corpus.glob(f"{stem}.*")) for stem in ("reisepass", "hundesteuer", "sperrmuell")]
    assert {p.suffix for p in chosen} == {".pdf", ".docx", ".html"}

    log_in(page, site, jena.builder_email)
    page.get_by_role("link", name="Wissen").click()
    page.get_by_label("Titel").fill("Dienstleistungen")
    page.get_by_label("Kurzname").fill("dienste")
    page.get_by_role("button", name="Anlegen").click()
    expect(page.get_by_role("heading", name="Dienstleistungen", level=1)).to_be_visible()
    page.get_by_label("Dokumente hochladen").set_input_files([str(p) for p in chosen])
    page.get_by_role("button", name="Hochladen", exact=True).click()
    expect(page.locator("#documents .kern-badge--success")).to_have_count(
        3, timeout=120_000
    )  # polled in place
    assert serious_violations(page) == []

    page.get_by_label("Frage").fill("Wie viel kostet ein Reisepass im Expressverfahren?")
    page.get_by_role("button", name="Suchen").click()
    page.locator(".hit a").first.click()
    expect(page.locator(".passage--cited mark")).to_be_visible()
    assert serious_violations(page) == []

    document = {
        "metadata": {"name": "auskunft", "title": "Auskunft Bürgerservice"},
        "spec": {
            "instructions": "Beantworte Fragen.",
            "task": "qa",
            "knowledge": ["dienste"],
            "model": {"mode": "profile", "profile": "scripted"},
            "data_class": "öffentlich",
        },
    }
    with services.db.session(jena.id) as session:
        registry.save(
            session,
            Principal(tenant_id=jena.id, role=Role.builder),
            AssistantSpec.model_validate(document),
            services.catalogue,
        )
    context = browser.new_context(locale="de-DE")
    staff = context.new_page()
    log_in(staff, site, jena.staff_email)
    staff.get_by_role("link", name="Auskunft Bürgerservice").click()
    staff.get_by_label("Ihre Nachricht").fill("Was kostet die Hundesteuer?")
    staff.get_by_role("button", name="Senden").click()
    expect(staff.get_by_role("status")).to_have_text("Antwort vollständig.", timeout=30_000)
    source = staff.locator(".chat-sources a").first
    expect(source).to_contain_text("Hundesteuer")
    assert serious_violations(staff) == []
    source.click()
    expect(staff.locator(".passage--cited mark")).to_be_visible()
    context.close()
