"""Every page a person can reach, in Chromium: axe-core finds nothing serious or critical, and on a phone
(390 × 844) no page scrolls sideways. The pages are found by following the site's own links as the admin,
who sees them all, in a tenant with an assistant with knowledge, a chatbot, the workflow templates and a
failed run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from rathaus.app import create_app
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import TenantFixture
from tests.e2e.conftest import log_in, serious_violations
from tests.servers import serve_in_thread
from tests.web.test_german_pages import SKIP, prepare

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def site(settings: Settings, services: Services, jena: TenantFixture) -> Iterator[tuple[str, list[str]]]:
    """The app served on loopback, and the pages to start from."""
    with serve_in_thread(create_app(settings, services)) as url:
        yield url, prepare(services, jena)


def _links(page: Page) -> list[str]:
    found = page.eval_on_selector_all("a[href^='/']", "links => links.map(a => a.getAttribute('href'))")
    return [link.split("#")[0].split("?")[0] for link in found]


def test_every_page_is_accessible_and_fits_a_phone(
    site: tuple[str, list[str]], browser: Browser, jena: TenantFixture
) -> None:
    url, start = site
    context = browser.new_context(locale="de-DE", viewport=PHONE)
    page = context.new_page()
    log_in(page, url, jena.admin_email)
    seen: dict[str, dict[str, object]] = {}
    queue = list(start)
    while queue and len(seen) < 120:
        path = queue.pop(0)
        if path in seen or SKIP.search(path):
            continue
        page.goto(f"{url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        seen[path] = {"axe": serious_violations(page), "width": width}
        queue += _links(page)
    context.close()
    assert len(seen) > 25, sorted(seen)
    problems = {path: found for path, found in seen.items() if found["axe"] or int(str(found["width"])) > 390}
    assert problems == {}, "\n".join(f"{path}: {found}" for path, found in problems.items())
