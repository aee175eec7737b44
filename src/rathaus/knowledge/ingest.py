"""Ingestion: keep the original, then parse → cut into passages → embed → index, with progress per document.

`accept` stores uploads as queued documents (fast, inside the request); `process` does the slow part for
one document and is run by the background queue or by `rathaus ingest`. A document that fails keeps its
reason; the others are not affected.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.chunking import chunk
from rathaus.knowledge.files import FileStore, display_name
from rathaus.knowledge.german import index_text
from rathaus.knowledge.index import index_for
from rathaus.knowledge.models import Document, DocumentStatus, Passage
from rathaus.knowledge.parsing import ParseError, media_type, parse
from rathaus.store.base import utcnow
from rathaus.store.db import Database

logger = logging.getLogger(__name__)
EMBED_BATCH = 16
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
            )
            session.add(document)
            session.flush()
            files.save(principal.tenant_id, document.id, upload.data)
            ids.append(document.id)
        collection.updated_at = utcnow()
    return ids


def _update(db: Database, tenant_id: str, document_id: str, **values: object) -> None:
    with db.session(tenant_id) as session:
        document = session.get(Document, document_id)
        if document is not None:
            for key, value in values.items():
                setattr(document, key, value)
            document.updated_at = utcnow()


def process(
    db: Database,
    files: FileStore,
    embed: Embed,
    tenant_id: str,
    document_id: str,
    on_progress: Callable[[float], None] | None = None,
) -> DocumentStatus:
    """Parse, cut, embed and index one document; the result and any failure are stored on the document."""
    with db.session(tenant_id) as session:
        document = session.get(Document, document_id)
        if document is None:
            return DocumentStatus.failed
        filename, uploader = document.filename, document.uploaded_by
        document.status, document.progress, document.error, document.error_code = (
            DocumentStatus.parsing,
            0.05,
            None,
            None,
        )
    principal = Principal(tenant_id=tenant_id, role=Role.builder, user_id=uploader)
    try:
        parsed = parse(files.read(tenant_id, document_id), filename)
        passages = chunk(parsed)
        texts = [f"{parsed.title}\n{p.heading}\n{p.text}" for p in passages]
        _update(
            db,
            tenant_id,
            document_id,
            status=DocumentStatus.embedding,
            progress=0.1,
            title=parsed.title[:300],
        )
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            vectors.extend(embed(principal, texts[start : start + EMBED_BATCH]))
            share = 0.1 + 0.85 * len(vectors) / max(len(texts), 1)
            _update(db, tenant_id, document_id, progress=round(share, 3))
            if on_progress is not None:
                on_progress(share)
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
                )
                for p, t in zip(passages, texts, strict=True)
            ]
            session.add_all(rows)
            session.flush()
            index_for(session).add(session, rows, vectors)
            document.status, document.progress = DocumentStatus.ready, 1.0
            document.chunk_count, document.pages = len(rows), parsed.pages
            document.updated_at = utcnow()
    except ParseError as exc:
        _update(
            db, tenant_id, document_id, status=DocumentStatus.failed, error_code=exc.code, error=exc.reason
        )
        return DocumentStatus.failed
    except Exception as exc:
        logger.exception("ingesting document %s failed", document_id)
        reason = f"the document could not be processed ({type(exc).__name__}); details are in the server log"
        _update(db, tenant_id, document_id, status=DocumentStatus.failed, error_code="internal", error=reason)
        return DocumentStatus.failed
    db.optimize()
    if on_progress is not None:
        on_progress(1.0)
    return DocumentStatus.ready


def pending(db: Database) -> list[tuple[str, str]]:
    """(tenant id, document id) of every document not finished yet, oldest first (system view)."""
    with db.system_session() as session:
        rows = session.execute(
            select(Document.tenant_id, Document.id)
            .where(Document.status.not_in([DocumentStatus.ready, DocumentStatus.failed]))
            .order_by(Document.created_at)
        )
        return [(str(t), str(d)) for t, d in rows]
