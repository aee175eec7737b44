"""Browser fixtures: Debian's Chromium driven by Playwright (no browser download), and axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD

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


def log_in(page: Page, site: str, email: str) -> None:
    """Log in through the login form; the assistant list opens."""
    page.goto(f"{site}/login")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", name="Assistenten", level=1)).to_be_visible()
