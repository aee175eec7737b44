"""Every page and form in German holds no English UI text: each page a city employee can open (as admin, who
sees them all), the workflow editor's settings of every step type, a failed run and the pages of a
logged-out person. English in a German page is a defect a new employee trips over."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient

from rathaus.assistants import registry
from rathaus.assistants.templates import templates
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.web.i18n import MESSAGES
from rathaus.workflows import registry as workflow_registry
from rathaus.workflows.steps import step_types
from rathaus.workflows.templates import templates as workflow_templates
from tests.chatbots.conftest import publish_bot
from tests.conftest import TenantFixture
from tests.web.session import login
from tests.web.test_workflow_pages import Draft

# Words of English UI text that German text does not use (German words such as "an", "was", "will", "die"
# or "also" are left out on purpose).
WORDS = """
the and of to with for your you is are this that from please by has have which when there here or on at if
any only been does should would could into than these those its our their they we save delete cancel edit add
back search settings error failed invalid required missing loading yes not step steps run runs input output
instructions model models user users role roles password sign log out new none
"""
ENGLISH = frozenset(re.findall(r"[a-z]+", WORDS))
KEY = re.compile(r"\b[a-z_]+\.[a-z_]+\.[a-z_.]+\b")  # an untranslated message key, such as "run.error.x"
PREFIXES = {key.split(".")[0] for key in MESSAGES["de"]}  # what a message key begins with (not a host name)
SKIPPED = {"script", "style", "code", "pre", "textarea"}  # program text, documents, what people typed
ATTRIBUTES = ("aria-label", "placeholder", "title", "alt")


class _Text(HTMLParser):
    """The text a reader sees or hears: element text and labelling attributes, without program text, the
    technical details for IT and parts marked as another language (the language switch)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[bool] = []  # per open element: whether its content is skipped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        skipped = (
            (bool(self.stack) and self.stack[-1])
            or tag in SKIPPED
            or "error-details" in (found.get("class") or "")
            or (found.get("lang") or "de").split("-")[0] != "de"
        )
        if not skipped:
            self.parts += [found[a] or "" for a in ATTRIBUTES if a in found]
        if tag not in ("br", "img", "input", "meta", "link", "hr", "source", "col", "wbr"):
            self.stack.append(skipped)

    def handle_endtag(self, tag: str) -> None:
        if self.stack and tag not in ("br", "img", "input", "meta", "link", "hr", "source", "col", "wbr"):
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def english(page: str) -> list[str]:
    """The English words and untranslated message keys in a page's visible text."""
    reader = _Text()
    reader.feed(page)
    text = " ".join(reader.parts)
    keys = [key for key in KEY.findall(text) if key.split(".")[0] in PREFIXES]
    tokens = re.findall(
        r"[A-Za-z0-9_-]+", KEY.sub(" ", text)
    )  # identifiers (step_1, ids) are names, not text
    words = {w for w in tokens if w.lower() in ENGLISH and not w.isupper()}  # GET, DELETE: method names
    return sorted(words) + keys


def test_the_check_finds_english_and_passes_german() -> None:
    assert english("<p>Please save the form</p>") == ["Please", "save", "the"]
    assert english('<button aria-label="Delete document">x</button>') == ["Delete"]
    assert english("<p>workflows.edit_error.unknown</p>") == ["workflows.edit_error.unknown"]
    assert english("<p>Die Antwort ist an die Stadt gegangen, was also neu ist.</p>") == []
    assert english('<a lang="en" href="/language/en">English</a><pre>the run failed</pre>') == []
    assert english('<details class="error-details"><p>the host is not allowed</p></details>') == []


def prepare(services: Services, tenant: TenantFixture) -> list[str]:
    """A tenant with an assistant with knowledge, a chatbot, the shipped workflow templates and a failed
    run; the pages to start from."""
    builder = Principal(tenant_id=tenant.id, role=Role.builder)
    publish_bot(services, tenant)
    with services.db.session(tenant.id) as session:
        registry.save(session, builder, templates()["leichte-sprache"], services.catalogue)
        for spec in workflow_templates().values():
            workflow_registry.save(session, builder, spec, services.catalogue)
    failed = services.workflows.start(builder, "maengelmeldung", {"description": "Laterne dunkel"}, test=True)
    assert services.workflows.run_here(failed.id, 60) == "failed"
    return ["/assistants", "/invitations", f"/runs/{failed.id}", "/workflows/new", "/nirgends"]


def _pages(client: TestClient, services: Services, tenant: TenantFixture) -> dict[str, str]:
    """Every page of the prepared tenant as the admin sees them, the editor with a step of each type, and
    the login page."""
    start = prepare(services, tenant)
    login(client, tenant.admin_email)
    pages = _crawl(client, start)
    draft = Draft(client)
    for step_type in step_types():
        pages[f"editor: {step_type}"] = draft.op("add", new_type=step_type)
    client.cookies.clear()
    pages["/login"] = client.get("/login").text
    return pages


SKIP = re.compile(r"^/(static|logout|language)/?|/export\.|\.csv$|/original$|^/api/")


def _crawl(client: TestClient, start: list[str], most: int = 150) -> dict[str, str]:
    """The pages reached from `start` by following the site's own links (one page per path without its
    query), as a browser asks for them."""
    pages: dict[str, str] = {}
    queue = list(start)
    while queue and len(pages) < most:
        path = queue.pop(0).split("#")[0]
        if path in pages or SKIP.search(path):
            continue
        response = client.get(path, headers={"Accept": "text/html"})
        pages[path] = response.text
        if "text/html" in response.headers.get("content-type", ""):
            links = re.findall(r'href="(/[^"]*)"', response.text)
            queue += [html.unescape(link).split("?")[0] for link in links]
    return pages


def test_no_page_or_form_holds_english_text(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    pages = _pages(client, services, jena)
    assert len(pages) > 40
    found = {path: words for path, page in pages.items() if (words := english(page))}
    assert found == {}, "\n".join(f"{p}: {w}" for p, w in found.items())
