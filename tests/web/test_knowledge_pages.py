"""Knowledge pages: create a collection, upload with progress, test retrieval, the cited passage, roles."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from rathaus.knowledge.models import Document
from rathaus.services import Services
from tests.conftest import TenantFixture
from tests.web.session import form_token, login

CORPUS = Path(__file__).parents[2] / "src" / "rathaus" / "knowledge" / "demo" / "corpus"


def test_builder_uploads_and_tests_retrieval(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    login(client, jena.builder_email)
    token = form_token(client, "/knowledge")
    created = client.post(
        "/knowledge",
        data={"csrf": token, "title": "Dienstleistungen", "name": "dienste"},
        follow_redirects=False,
    )
    assert created.headers["location"] == "/knowledge/dienste"
    again = client.post("/knowledge", data={"csrf": token, "title": "Doppelt", "name": "dienste"})
    assert again.status_code == 422 and "already exists" in again.text

    source = next(CORPUS.glob("sperrmuell.*"))
    files = [("files", (source.name, source.read_bytes())), ("files", ("kaputt.pdf", b"%PDF-1.4 kaputt"))]
    assert client.post("/knowledge/dienste/upload", files=files).status_code == 403  # no form token
    uploaded = client.post(
        "/knowledge/dienste/upload", data={"csrf": token}, files=files, follow_redirects=False
    )
    assert uploaded.status_code == 303
    assert services.knowledge.queue.wait_idle(120)
    page = client.get("/knowledge/dienste").text
    assert "Bereit" in page and "Die Datei ist beschädigt" in page and "hx-trigger" not in page

    results = client.get("/knowledge/dienste", params={"q": "Wie melde ich Sperrmüll an?"}).text
    passage = re.search(r'href="(/knowledge/passages/([0-9a-f]+))#p-\2"', results)
    assert passage, results
    cited = client.get(passage.group(1)).text
    assert (
        '<section id="p-' + passage.group(2) + '" class="passage passage--cited"' in cited
        and "<mark" in cited
    )

    exe = [("files", ("x.exe", b"MZ"))]
    unsupported = client.post(
        "/knowledge/dienste/upload", data={"csrf": token}, files=exe, headers={"Accept": "text/html"}
    )
    assert unsupported.status_code == 415 and "<h1" in unsupported.text


def test_staff_can_search_but_not_upload(client: TestClient, services: Services, jena: TenantFixture) -> None:
    login(client, jena.builder_email)
    client.post(
        "/knowledge", data={"csrf": form_token(client, "/knowledge"), "title": "Dienste", "name": "dienste"}
    )
    client.cookies.clear()
    login(client, jena.staff_email)
    page = client.get("/knowledge/dienste")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' not in page.text
    token = form_token(client, "/knowledge/dienste")
    denied = client.post(
        "/knowledge/dienste/upload", data={"csrf": token}, files=[("files", ("a.md", b"# A\n\nText"))]
    )
    assert denied.status_code == 403


def test_the_upload_form_keeps_the_official_page_address(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    login(client, jena.builder_email)
    token = form_token(client, "/knowledge")
    client.post("/knowledge", data={"csrf": token, "title": "Dienste", "name": "dienste"})
    assert 'name="source_url"' in client.get("/knowledge/dienste").text
    page = [("files", ("sperrmuell.txt", "Sperrmüll holen wir zweimal im Jahr ab.".encode()))]
    refused = client.post(
        "/knowledge/dienste/upload",
        data={"csrf": token, "source_url": "javascript:alert(1)"},
        files=page,
        headers={"Accept": "text/html"},
    )
    assert refused.status_code == 422 and "is not a web address" in refused.text
    address = "https://www.jena.example/sperrmuell/"
    uploaded = client.post(
        "/knowledge/dienste/upload",
        data={"csrf": token, "source_url": address},
        files=page,
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    with services.db.session(jena.id) as session:
        assert session.scalars(select(Document.source_url)).one() == address
