"""/api/collections: uploads with bad files in a batch, limits, search with citations, deletion, isolation."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from rathaus.app import create_app
from rathaus.services import Services
from rathaus.settings import Settings
from tests.conftest import TenantFixture

CORPUS = Path(__file__).parents[2] / "src" / "rathaus" / "knowledge" / "demo" / "corpus"


def _file(stem: str) -> tuple[str, bytes]:
    path = next(CORPUS.glob(f"{stem}.*"))
    return path.name, path.read_bytes()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/media/huge.bin", b"\0" * (40 * 1024 * 1024))
    return out.getvalue()


def test_upload_batch_search_and_delete(
    client: TestClient, services: Services, jena: TenantFixture, halle: TenantFixture
) -> None:
    admin = jena.headers()
    assert (
        client.post("/api/collections", json={"name": "dienste"}, headers=jena.headers("staff")).status_code
        == 403
    )
    created = client.post(
        "/api/collections", json={"name": "dienste", "title": "Dienstleistungen"}, headers=admin
    )
    assert created.status_code == 201

    good = [
        _file(s) for s in ("reisepass", "hundesteuer", "baumfaellung", "sperrmuell")
    ]  # pdf, docx, html, md
    kinds = {Path(name).suffix for name, _ in good}
    bad = [
        ("kaputt.pdf", b"%PDF-1.4\n kaputt"),
        ("leer.md", b""),
        ("bombe.docx", _zip_bomb()),
        ("bild.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
        ("../../../etc/passwd.txt", b"Ein harmloser Text mit einem seltsamen Namen."),
    ]
    files = [("files", (name, data)) for name, data in good + bad]
    response = client.post("/api/collections/dienste/documents", files=files, headers=admin)
    assert response.status_code == 202, response.text
    accepted = response.json()["documents"]  # queued; the first may already be in work
    assert len(accepted) == len(files) and all(d["id"] and d["status"] for d in accepted)
    assert services.knowledge.queue.wait_idle(300)

    documents = {
        d["filename"]: d for d in client.get("/api/collections/dienste/documents", headers=admin).json()
    }
    assert {Path(n).suffix for n in documents if documents[n]["status"] == "ready"} >= kinds
    assert [documents[n]["error_code"] for n in ("kaputt.pdf", "leer.md", "bombe.docx", "bild.pdf")] == [
        "corrupt", "empty", "zip_bomb", "wrong_type",
    ]  # fmt: skip
    assert documents["passwd.txt"]["status"] == "ready"  # stored under its id, shown under its own name
    assert not any((services.settings.data_dir / "files").rglob("passwd*"))

    search = client.post(
        "/api/collections/dienste/search", json={"query": "Was kostet ein Express-Reisepass?"}, headers=admin
    )
    top = search.json()["hits"][0]
    assert top["filename"] == "reisepass.pdf" and top["page"] >= 1 and top["heading"] and top["text"]
    original = client.get(f"/api/collections/dienste/documents/{top['document_id']}/original", headers=admin)
    assert original.content == good[0][1]

    assert client.get("/api/collections/dienste", headers=halle.headers()).status_code == 404
    assert (
        client.post(
            "/api/collections/dienste/search", json={"query": "Hund"}, headers=halle.headers()
        ).status_code
        == 404
    )

    hund = documents["hundesteuer.docx"]["id"]
    assert client.delete(f"/api/collections/dienste/documents/{hund}", headers=admin).status_code == 204
    for mode in ("hybrid", "dense", "lexical"):
        hits = client.post(
            "/api/collections/dienste/search",
            json={"query": "Hundesteuer Hundemarke", "k": 20, "mode": mode},
            headers=admin,
        ).json()["hits"]
        assert all(h["document_id"] != hund for h in hits)


def test_unsupported_type_and_size_limits(
    settings: Settings, services: Services, jena: TenantFixture
) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 100_000})
    with TestClient(create_app(small, services)) as client:
        admin = jena.headers()
        client.post("/api/collections", json={"name": "dienste"}, headers=admin)
        unsupported = client.post(
            "/api/collections/dienste/documents",
            files=[("files", ("antrag.md", b"# Antrag\n\nText")), ("files", ("virus.exe", b"MZ"))],
            headers=admin,
        )
        assert unsupported.status_code == 415 and "virus.exe" in unsupported.json()["detail"]
        assert client.get("/api/collections/dienste/documents", headers=admin).json() == []  # nothing stored
        too_big = client.post(
            "/api/collections/dienste/documents",
            files=[("files", ("gross.txt", b"x" * 150_000))],
            headers=admin,
        )
        assert too_big.status_code == 413
        assert client.post("/api/collections/dienste/documents", headers=admin).status_code == 422
