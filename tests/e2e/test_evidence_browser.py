"""Staff chat in a real browser: the evidence and its sources first, then the answer; stop and ask again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from rathaus.app import create_app
from rathaus.services import Services
from rathaus.settings import Settings
from tests.assistants.test_grounding import _setup
from tests.conftest import TenantFixture
from tests.e2e.conftest import log_in, serious_violations
from tests.servers import serve_in_thread

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
QUESTION = "Was kostet die Hundesteuer für zwei Hunde?"


@pytest.fixture
def site(settings: Settings, services: Services, jena: TenantFixture) -> Iterator[str]:
    """An assistant over two demo pages whose model writes a long answer slowly."""
    _setup(services, jena, model="scripted-sentences")
    with serve_in_thread(create_app(settings, services)) as url:
        yield url


def test_the_evidence_comes_first_and_the_answer_can_be_stopped_and_asked_again(
    site: str, page: Page, jena: TenantFixture
) -> None:
    log_in(page, site, jena.staff_email)
    page.goto(f"{site}/chat/auskunft")
    page.get_by_label("Ihre Nachricht").fill(QUESTION)
    started = time.monotonic()
    page.get_by_role("button", name="Senden").click()

    evidence = page.locator(".chat-evidence").last
    expect(evidence).to_be_visible(timeout=2000)
    seen = time.monotonic() - started
    assert seen < 2.0, seen
    expect(evidence).to_contain_text("Gefunden in den Quellen")
    expect(evidence).to_contain_text("Euro")  # the rates are among the sentences found
    expect(page.locator(".chat-sources").last).to_contain_text("Hundesteuer")
    expect(page.locator(".chat-progress").last).to_contain_text("wird aus diesen Fundstellen formuliert")
    answer = page.locator(".chat-message--assistant .chat-message__text").last
    expect(answer).to_contain_text("Die Steuer wird im Jahr erhoben [1].")  # sentence by sentence
    assert serious_violations(page) == []

    page.get_by_role("button", name="Stopp").click()
    expect(page.get_by_role("status")).to_have_text("Angehalten.")
    expect(page.get_by_role("button", name="Stopp")).to_have_count(0)
    stopped = answer.text_content() or ""
    page.wait_for_timeout(1000)
    assert answer.text_content() == stopped  # nothing more arrives
    assert serious_violations(page) == []

    page.get_by_role("button", name="Erneut fragen").click()
    expect(page.locator(".chat-message--user")).to_have_count(2)
    expect(page.locator(".chat-message--user").last).to_have_text(f"Sie{QUESTION}")
    expect(page.locator(".chat-evidence")).to_have_count(2)
