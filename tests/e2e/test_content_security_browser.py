"""The pages under their Content Security Policy in a real browser (Debian's Chromium): every page and its
scripts work with this site's own code only, and the browser reports no violation."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from rathaus.app import create_app
from rathaus.assistants import registry
from rathaus.assistants.spec import AssistantSpec
from rathaus.assistants.templates import templates
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import TenantFixture
from tests.e2e.conftest import log_in
from tests.servers import serve_in_thread

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
BRANCHED = """\
apiVersion: rathaus/v1
kind: Workflow
metadata: {name: betrag, title: Betrag prüfen}
spec:
  steps:
    - id: pruefen
      type: condition
      with: {when: "input.betrag > 1000"}
      then:
        - id: gross
          type: template
          with: {text: "Großer Betrag"}
    - id: ergebnis
      type: set_output
      with: {value: {fertig: true}}
"""
PAGES = [
    "/assistants",
    "/assistants/new",
    "/conversations",
    "/workflows",
    "/workflows/new",
    "/workflows/betrag",
    "/workflows/betrag/edit",
    "/runs",
    "/approvals",
    "/knowledge",
    "/chatbots",
    "/chatbots/new",
    "/handoffs",
    "/admin/users",
    "/admin/keys",
    "/admin/settings",
    "/admin/budgets",
    "/admin/usage",
    "/gibt-es-nicht",
]


@pytest.fixture
def site(settings: Settings, services: Services, jena: TenantFixture) -> Iterator[str]:
    """The app with an assistant and a workflow with a branch, served on loopback."""
    document = templates()["buergeranfrage"].model_dump(by_alias=True)
    document["metadata"].update(name="auskunft", title="Auskunft Bürgeramt")
    document["spec"]["model"] = {"mode": "profile", "profile": "scripted"}
    builder = Principal(tenant_id=jena.id, role=Role.builder)
    with services.db.session(jena.id) as session:
        registry.save(session, builder, AssistantSpec.model_validate(document), services.catalogue)
    with serve_in_thread(create_app(settings, services)) as url:
        yaml = {**jena.headers(), "Content-Type": "application/yaml"}
        assert httpx.post(f"{url}/api/workflows", content=BRANCHED, headers=yaml).status_code == 201
        yield url


@pytest.fixture
def violations(page: Page) -> list[str]:
    """What the browser reports about the policy (it logs every refused script, style or frame)."""
    found: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            found.append(f"{page.url}: {message.text}")

    page.on("console", seen)
    return found


def test_every_page_works_without_a_policy_violation(
    site: str, page: Page, jena: TenantFixture, violations: list[str]
) -> None:
    log_in(page, site, jena.admin_email)
    for path in PAGES:
        page.goto(f"{site}{path}")
        page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto(f"{site}/workflows/betrag")
    indented = page.get_by_role("listitem").filter(has_text="gross")
    assert indented.evaluate("e => getComputedStyle(e).marginInlineStart") == "32px"  # 2rem: one level
    assert violations == []


def test_scripts_still_run_chat_search_and_builder(
    site: str, page: Page, jena: TenantFixture, violations: list[str]
) -> None:
    log_in(page, site, jena.admin_email)
    page.get_by_label("Assistenten durchsuchen").fill("gibt es nicht")  # htmx
    expect(page.get_by_text("Keine Assistenten gefunden.")).to_be_visible()
    page.goto(f"{site}/chat/auskunft")
    page.get_by_label("Ihre Nachricht").fill("Wo beantrage ich einen Reisepass?")
    page.get_by_role("button", name="Senden").click()  # conversation.js streams the answer in
    answer = page.locator(".chat-message--assistant .chat-message__text").last
    expect(answer).to_contain_text("Echo: Wo beantrage ich einen Reisepass?")
    page.goto(f"{site}/assistants/new")
    page.get_by_role("tab", name="YAML").click()  # builder.js fetches the YAML from the server
    expect(page.get_by_label("Dokument als YAML")).to_have_value(re.compile("apiVersion"))
    page.get_by_role("button", name="Abmelden").click()
    expect(page).to_have_url(f"{site}/login")
    assert violations == []


def test_another_site_cannot_frame_a_page(
    site: str, page: Page, jena: TenantFixture, violations: list[str]
) -> None:
    page.set_content(f'<iframe src="{site}/login" title="fremd"></iframe>')
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Anmelden")).to_have_count(0)
    assert violations, "the browser reports the refused frame"
