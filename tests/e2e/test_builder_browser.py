"""The assistant builder with knowledge, in a real browser: a builder fills a collection, gives a document
a better title, makes an assistant that answers from the collection by ticking it in the form (no YAML
typed), and the test chat cites the document by its new title. Every page is checked with axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from rathaus.app import create_app
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
CORPUS = Path(__file__).parents[2] / "src" / "rathaus" / "knowledge" / "demo" / "corpus"


@pytest.fixture
def site(settings: Settings, services: Services) -> Iterator[str]:
    """The app served on loopback."""
    with serve_in_thread(create_app(settings, services)) as url:
        yield url


def test_builder_picks_knowledge_and_renames_a_document(site: str, page: Page, jena: TenantFixture) -> None:
    log_in(page, site, jena.builder_email)
    page.get_by_role("link", name="Wissen").click()
    page.get_by_label("Titel").fill("Dienstleistungen")
    page.get_by_label("Kurzname").fill("dienste")
    page.get_by_role("button", name="Anlegen").click()
    expect(page.get_by_role("heading", name="Dienstleistungen", level=1)).to_be_visible()
    page.get_by_label("Dokumente hochladen").set_input_files([str(next(CORPUS.glob("hundesteuer.*")))])
    page.get_by_role("button", name="Hochladen", exact=True).click()
    expect(page.locator("#documents .kern-badge--success")).to_have_count(1, timeout=120_000)
    expect(page.locator(".document-title")).to_have_text("Hundesteuer und Hundemarke")  # from its heading
    assert serious_violations(page) == []

    # the title citations show is changed in place; an empty one is refused at the field
    page.get_by_text("Titel ändern").click()
    field = page.get_by_label("Titel von „hundesteuer.docx“")
    field.fill("")
    page.get_by_role("button", name="Titel speichern").click()
    expect(page.get_by_role("alert").filter(has_text="Bitte geben Sie einen Titel ein.")).to_be_visible()
    expect(page.get_by_label("Titel von „hundesteuer.docx“")).to_have_attribute("aria-invalid", "true")
    assert serious_violations(page) == []
    page.get_by_label("Titel von „hundesteuer.docx“").fill("Hundesteuersatzung Musterstadt")
    page.get_by_role("button", name="Titel speichern").click()
    expect(
        page.get_by_role("status").filter(has_text="Der Titel ist jetzt „Hundesteuersatzung Musterstadt“.")
    ).to_be_visible()
    expect(page.locator(".document-title")).to_have_text("Hundesteuersatzung Musterstadt")
    assert serious_violations(page) == []

    # a new assistant answers from the collection, ticked in the form
    page.get_by_role("link", name="Assistenten", exact=True).first.click()
    page.get_by_role("link", name="Neuen Assistenten anlegen").click()
    expect(page.get_by_role("heading", name="Neuer Assistent", level=1)).to_be_visible()
    picker = page.get_by_role("group", name="Wissen: Sammlungen, aus denen der Assistent antwortet")
    expect(picker.get_by_text("1 Dokument bereit", exact=False)).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_label("Titel", exact=True).fill("Auskunft Hundesteuer")
    page.get_by_label("Kurzname").fill("auskunft-hundesteuer")
    page.get_by_label("Anweisungen").fill("Beantworte Fragen zur Hundesteuer aus den Unterlagen.")
    page.get_by_label("Aufgabe").select_option("qa")
    picker.get_by_label("Dienstleistungen").check()
    page.get_by_label("Modellwahl").select_option("profile")
    page.get_by_label("Bestimmtes Modell", exact=True).select_option("scripted")
    page.get_by_label("Höchste Datenklasse").select_option("öffentlich")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("status").filter(has_text="Version 1 gespeichert.")).to_be_visible()
    expect(picker.get_by_label("Dienstleistungen")).to_be_checked()
    assert serious_violations(page) == []

    # the YAML tab shows the same choice, typed by no one
    page.get_by_role("tab", name="YAML").click()
    expect(page.get_by_label("Dokument als YAML")).to_have_value(re.compile(r"knowledge:\n  - dienste\n"))
    page.get_by_role("tab", name="Formular").click()

    # the test chat cites the document by its new title
    page.get_by_label("Testnachricht").fill("Was kostet die Hundesteuer für zwei Hunde?")
    page.get_by_role("button", name="Test senden").click()
    source = page.locator("#preview-messages .chat-sources a").first
    expect(source).to_contain_text("Hundesteuersatzung Musterstadt", timeout=30_000)
    assert serious_violations(page) == []
