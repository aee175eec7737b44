"""Workflows in a real browser: a builder takes over the Bürgeranfrage template and test-runs it; a staff
member is told before starting that no mail server is set up (and a start is refused), then, with one,
starts a case, approves the drafted reply with an edit in the inbox, and the e-mail with the edited text
arrives at a local SMTP server. Every page is checked with axe-core."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from rathaus.app import create_app
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import TenantFixture
from tests.e2e.conftest import log_in, serious_violations
from tests.mail import Mailbox
from tests.servers import serve_in_thread

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
CITIZEN = {
    "nachricht": "Guten Tag, mein Reisepass ist abgelaufen. Was muss ich tun? Eva Muster",
    "email": "eva@example.org",
}


@pytest.fixture
def site(settings: Settings, services: Services, mailbox: Mailbox) -> Iterator[str]:
    """The app with its workflow workers and an SMTP server, served on loopback."""
    services.workflows.executor.start()
    with serve_in_thread(create_app(settings, services)) as url:
        yield url


def test_a_case_from_template_to_approved_mail(
    site: str, browser: Browser, page: Page, jena: TenantFixture, mailbox: Mailbox, services: Services
) -> None:
    log_in(page, site, jena.builder_email)
    page.get_by_role("link", name="Abläufe").click()
    expect(page.get_by_role("heading", name="Abläufe (Workflows)", level=1)).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("link", name="Als Entwurf öffnen: Bürgeranfrage zuordnen und beantworten").click()
    expect(page.get_by_role("heading", name="Neuer Ablauf", level=1)).to_be_visible()
    assert serious_violations(page) == []
    configure = page.get_by_role("button", name="Schritt Antwort entwerfen einstellen")  # by keyboard
    configure.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Einstellungen von „Antwort entwerfen“")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_label("Bezeichnung").fill("Antwort kurz entwerfen")
    page.get_by_label("Höchstzahl der Wörter").fill("120")
    page.get_by_role("button", name="Einstellungen übernehmen").click()
    page.get_by_label("Art des Schritts").select_option(label="Textvorlage")
    page.get_by_role("button", name="Hinzufügen").click()
    # A value of an earlier step is chosen from a menu and inserted at the cursor: no {{ }} to type.
    text = page.get_by_label("Text *", exact=True)
    text.fill("Vorgang beantwortet: ")
    page.get_by_label("Angabe für „Text“ einfügen").select_option(
        label="Zuständiges Amt bestimmen: Zuordnung"
    )
    page.get_by_role("button", name="Einfügen").click()
    expect(text).to_have_value("Vorgang beantwortet: «Zuständiges Amt bestimmen: Zuordnung»")
    page.get_by_role("button", name="Einstellungen übernehmen").click()
    expect(page.get_by_text("Antwort kurz entwerfen", exact=True)).to_be_visible()
    expect(page.locator(".reference-chip")).to_have_text(["Zuständiges Amt bestimmen: Zuordnung"])
    assert serious_violations(page) == []
    page.get_by_role("button", name="Prüfen und speichern").click()
    expect(page.get_by_role("status").first).to_contain_text("Gespeichert als Version 1.")
    steps = page.get_by_role("list", name="Schritte")
    expect(steps.get_by_role("listitem")).to_have_count(7)
    assert serious_violations(page) == []

    # The start form is made from the input schema; a test run is chosen, not preset, and says what it skips.
    page.get_by_label("Nachricht").fill(CITIZEN["nachricht"])
    page.get_by_label("E-Mail-Adresse").fill(CITIZEN["email"])
    test_run = page.get_by_label("Probelauf")
    expect(test_run).not_to_be_checked()
    expect(page.locator("#f-test-hint")).to_contain_text("„Antwort senden“: wird nicht gesendet")
    test_run.check()
    page.get_by_role("button", name="Starten").click()
    expect(page.get_by_role("status")).to_contain_text("erledigt", timeout=30_000)
    expect(page.get_by_text("Versuche: 1")).to_have_count(7)
    expect(page.get_by_text("würde senden", exact=True).first).to_be_visible()  # named, not a JSON key
    expect(page.locator("dd").filter(has_text="Vorgang beantwortet: Bürgerbüro").first).to_be_attached()
    assert serious_violations(page) == []
    assert mailbox.messages == []  # a test run sends nothing

    staff = browser.new_context(locale="de-DE").new_page()
    log_in(staff, site, jena.staff_email)
    # Without a mail server the page says so at the step before anyone starts, and a start is refused.
    smtp_host, services.settings.smtp_host = services.settings.smtp_host, None
    staff.goto(f"{site}/workflows/buergeranfrage")
    expect(staff.get_by_text("Dieser Ablauf kann so noch nicht laufen")).to_be_visible()
    expect(staff.get_by_text("Es ist kein E-Mail-Server eingerichtet").first).to_be_visible()
    staff.get_by_label("Nachricht").fill(CITIZEN["nachricht"])
    staff.get_by_label("E-Mail-Adresse").fill(CITIZEN["email"])
    staff.get_by_role("button", name="Starten").click()
    expect(staff.get_by_text("Der Lauf wurde nicht gestartet").first).to_be_visible()
    assert serious_violations(staff) == []
    services.settings.smtp_host = smtp_host
    staff.goto(f"{site}/workflows/buergeranfrage")
    staff.get_by_label("Nachricht").fill(CITIZEN["nachricht"])
    staff.get_by_label("E-Mail-Adresse").fill(CITIZEN["email"])
    staff.get_by_role("button", name="Starten").click()
    expect(staff.get_by_role("status")).to_contain_text("wartet auf Freigabe", timeout=30_000)
    staff.get_by_role("link", name="Freigaben", exact=True).click()
    approval = staff.get_by_role("region").filter(has_text="Antwort an eva@example.org")
    expect(approval).to_be_visible()
    assert serious_violations(staff) == []
    assigned = approval.get_by_label("Zuordnung „Zuständiges Amt bestimmen“")  # correctable, if wrong
    expect(assigned).to_have_value("Bürgerbüro")
    edited = "Sehr geehrte Frau Muster, einen neuen Reisepass beantragen Sie persönlich im Bürgerbüro."
    approval.get_by_label("Text").fill(edited)
    approval.get_by_role("button", name="Freigeben").click()
    expect(staff.get_by_role("status")).to_contain_text("Freigegeben. Der Ablauf geht weiter.")
    expect(staff.get_by_text("Keine offenen Freigaben.")).to_be_visible()

    staff.get_by_role("link", name="Abläufe").click()
    staff.get_by_role("link", name="Alle Läufe ansehen").click()
    expect(staff.get_by_role("table")).to_contain_text("erledigt", timeout=30_000)
    assert mailbox.bodies() == [edited + "\n"]
    assert mailbox.messages[0]["To"] == "eva@example.org"
