"""Ingestion: keep the original, then parse → cut into passages → embed → index, with progress per document.

`accept` stores uploads as queued documents (fast, inside the request); `steps` does the slow part for one
document step by step for the background queue, `process` all at once for `rathaus ingest`. A document
that fails keeps its reason; the others are not affected. A deleted document's work stops at its next step.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from sqlalchemy import select

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections, titles
from rathaus.knowledge.chunking import chunk
from rathaus.knowledge.files import FileStore, display_name
from rathaus.knowledge.german import index_text
from rathaus.knowledge.index import index_for
from rathaus.knowledge.models import Document, DocumentStatus, Passage
from rathaus.knowledge.parsing import ParseError, media_type, parse
from rathaus.knowledge.queue import Step
from rathaus.knowledge.sentences import pack, quotable
from rathaus.store.base import utcnow
from rathaus.store.db import Database

logger = logging.getLogger(__name__)
EMBED_BATCH = 16
ATTEMPTS = 3  # a document that fails for another reason than its content is tried this often
RETRY_PAUSE_S = 10.0  # before the second attempt; twice as long before the third
Embed = Callable[[Principal, list[str]], list[list[float]]]


class UnsupportedType(ValueError):
    """Files of a type Rathaus cannot read; nothing of the batch was stored."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(
            f"cannot read {', '.join(names)}: supported are PDF, DOCX, HTML, Markdown (.md) and text (.txt)"
        )
        self.names = names


@dataclass(frozen=True)
class Upload:
    """A file as it arrived."""

    filename: str
    data: bytes
    source_url: str | None = None  # the official page the document comes from (citizens are linked there)
    data_class: str | None = None  # more sensitive than its collection; None: the collection's class


def accept(
    db: Database, principal: Principal, files: FileStore, collection_name: str, uploads: Sequence[Upload]
) -> list[str]:
    """Store the originals and queue them; returns the new documents' ids (in upload order)."""
    unsupported = [display_name(u.filename) for u in uploads if media_type(display_name(u.filename)) is None]
    if unsupported:
        raise UnsupportedType(unsupported)
    ids = []
    with db.session(principal.tenant_id) as session:
        collection = collections.find(session, principal, collection_name)
        collections.check_can_change(principal, collection)
        for upload in uploads:
            name = display_name(upload.filename)
            document = Document(
                collection_id=collection.id,
                filename=name,
                media_type=media_type(name) or "application/octet-stream",
                size_bytes=len(upload.data),
                sha256=hashlib.sha256(upload.data).hexdigest(),
                status=DocumentStatus.queued,
                uploaded_by=principal.user_id,
                updated_at=utcnow(),
                source_url=upload.source_url,
                data_class=upload.data_class,
            )
            session.add(document)
            session.flush()
            files.save(principal.tenant_id, document.id, upload.data)
            ids.append(document.id)
        collection.updated_at = utcnow()
    return ids


def _update(db: Database, tenant_id: str, document_id: str, **values: object) -> bool:
    """Change the document's fields; False when it is gone (deleted)."""
    with db.session(tenant_id) as session:
        document = session.get(Document, document_id)
        if document is None:
            return False
        for key, value in values.items():
            setattr(document, key, value)
        document.updated_at = utcnow()
        return True


def _exists(db: Database, tenant_id: str, document_id: str) -> bool:
    with db.session(tenant_id, read_only=True) as session:
        return session.get(Document, document_id) is not None


def steps(
    db: Database,
    files: FileStore,
    embed: Embed,
    tenant_id: str,
    document_id: str,
    on_progress: Callable[[float], None] | None = None,
) -> Generator[Step, None, DocumentStatus]:
    """Parse, cut, embed and index one document, yielding between steps (parsing, each batch of passages
    embedded) so that the queue can do other tenants' work meanwhile; the result and any failure are
    stored on the document.

    A file that cannot be read fails at once with its reason. Any other failure (the database, the
    embedding model) is tried again after a pause — yielded as seconds — `ATTEMPTS` times in all; then the
    document fails with a readable reason. A document deleted meanwhile stops at the next step.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            status = yield from _attempt(db, files, embed, tenant_id, document_id, on_progress)
        except ParseError as exc:
            _update(
                db,
                tenant_id,
                document_id,
                status=DocumentStatus.failed,
                error_code=exc.code,
                error=exc.reason,
            )
            return DocumentStatus.failed
        except Exception as exc:
            if not _exists(db, tenant_id, document_id):  # deleted while it was being read
                return DocumentStatus.failed
            if attempt < ATTEMPTS:
                pause = RETRY_PAUSE_S * 2 ** (attempt - 1)
                logger.warning(
                    "ingesting document %s failed (attempt %d of %d); trying again in %.0f s",
                    document_id, attempt, ATTEMPTS, pause, exc_info=True,
                )  # fmt: skip
                _update(db, tenant_id, document_id, status=DocumentStatus.queued, progress=0.0)
                yield pause
                continue
            logger.exception("ingesting document %s failed %d times; giving up", document_id, ATTEMPTS)
            reason = (
                f"the document could not be processed ({type(exc).__name__}), also not in {ATTEMPTS} "
                "attempts; details are in the server log"
            )
            _update(
                db, tenant_id, document_id, status=DocumentStatus.failed, error_code="internal", error=reason
            )
            return DocumentStatus.failed
        if status == DocumentStatus.ready:
            try:
                db.optimize()
            except Exception:  # statistics are refreshed again later; the document is ready
                logger.warning("could not refresh the database statistics", exc_info=True)
            if on_progress is not None:
                on_progress(1.0)
        return status
    return DocumentStatus.failed  # not reached: the last attempt returns


def _attempt(
    db: Database,
    files: FileStore,
    embed: Embed,
    tenant_id: str,
    document_id: str,
    on_progress: Callable[[float], None] | None,
) -> Generator[Step, None, DocumentStatus]:
    with db.session(tenant_id) as session:
        document = session.get(Document, document_id)
        if document is None:
            return DocumentStatus.failed
        filename, uploader, kept = document.filename, document.uploaded_by, document.title
        document.status, document.progress, document.error, document.error_code = (
            DocumentStatus.parsing,
            0.05,
            None,
            None,
        )
    principal = Principal(tenant_id=tenant_id, role=Role.builder, user_id=uploader)
    parsed = parse(files.read(tenant_id, document_id), filename)
    passages = chunk(parsed)
    # a title once given (or changed by hand) stays; one taken from an address, a program or the bare file
    # name (as earlier versions did) is chosen again
    replaced = titles.generated(kept) or kept == PurePath(filename).stem
    title = (kept if not replaced else "") or parsed.title[:300] or filename
    texts = [f"{title}\n{p.heading}\n{p.text}" for p in passages]
    started = _update(db, tenant_id, document_id, status=DocumentStatus.embedding, progress=0.1, title=title)
    if not started:
        return DocumentStatus.failed
    yield None
    cuts = [quotable(p.text, f"{title} {p.heading}") for p in passages]
    units = list(dict.fromkeys(u for cut in cuts for u in cut))
    wanted = texts + units  # the passages for retrieval, their sentences for evidence
    vectors: list[list[float]] = []
    for start in range(0, len(wanted), EMBED_BATCH):
        vectors.extend(embed(principal, wanted[start : start + EMBED_BATCH]))
        share = 0.1 + 0.85 * len(vectors) / max(len(wanted), 1)
        if not _update(db, tenant_id, document_id, progress=round(share, 3)):
            return DocumentStatus.failed  # deleted while it was being read: no further work for it
        if on_progress is not None:
            on_progress(share)
        yield None
    of_unit = dict(zip(units, vectors[len(texts) :], strict=True))
    with db.session(tenant_id) as session:
        document = session.get(Document, document_id)
        if document is None:  # deleted while it was being read
            return DocumentStatus.failed
        collections.drop_passages(session, document)
        rows = [
            Passage(
                collection_id=document.collection_id,
                document_id=document.id,
                ordinal=p.ordinal,
                heading=p.heading,
                page=p.page,
                text=p.text,
                tokens=p.tokens,
                lexical=index_text(t),
                sentence_vectors=pack(cut, [of_unit[u] for u in cut]) if cut else None,
            )
            for p, t, cut in zip(passages, texts, cuts, strict=True)
        ]
        session.add_all(rows)
        session.flush()
        index_for(session).add(session, rows, vectors[: len(texts)])
        document.status, document.progress = DocumentStatus.ready, 1.0
        document.chunk_count, document.pages = len(rows), parsed.pages
        document.updated_at = utcnow()
    return DocumentStatus.ready


def process(
    db: Database,
    files: FileStore,
    embed: Embed,
    tenant_id: str,
    document_id: str,
    on_progress: Callable[[float], None] | None = None,
) -> DocumentStatus:
    """Ingest one document now, all steps in a row (`rathaus ingest`), pausing before another attempt."""
    work = steps(db, files, embed, tenant_id, document_id, on_progress)
    while True:
        try:
            pause = next(work)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if pause:
            time.sleep(pause)


def pending(db: Database) -> list[tuple[str, str]]:
    """(tenant id, document id) of every document not finished yet, oldest first (system view)."""
    with db.system_session() as session:
        rows = session.execute(
            select(Document.tenant_id, Document.id)
            .where(Document.status.not_in([DocumentStatus.ready, DocumentStatus.failed]))
            .order_by(Document.created_at)
        )
        return [(str(t), str(d)) for t, d in rows]
