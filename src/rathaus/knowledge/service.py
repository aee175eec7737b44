"""The knowledge service of a running Rathaus: uploads, the ingestion queue, search (for APIs and pages)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from rathaus.identity.principal import Principal
from rathaus.knowledge import collections, ingest, retrieval
from rathaus.knowledge.files import FileStore
from rathaus.knowledge.models import DocumentStatus
from rathaus.knowledge.queue import IngestQueue, Step
from rathaus.routing.gateway import ModelGateway
from rathaus.settings import Settings
from rathaus.store.db import Database
from rathaus.store.tenancy import NotFound


class Knowledge:
    """Collections of documents: ingestion in the background, hybrid search."""

    def __init__(self, settings: Settings, db: Database, gateway: ModelGateway) -> None:
        self.settings = settings
        self.db = db
        self.gateway = gateway
        self.files = FileStore(settings.data_dir / "files")
        self.queue = IngestQueue(self.steps)

    @property
    def embedding_model(self) -> str:
        """The model that embeds passages and questions."""
        return self.settings.embedding_model

    def embed_passages(self, principal: Principal, texts: list[str]) -> list[list[float]]:
        """Vectors for passages (recorded as requests of the uploader)."""
        return self.gateway.embed(
            principal, self.embedding_model, texts, "passage", "knowledge.ingest"
        ).vectors

    def query_embedder(self, principal: Principal) -> Callable[[str], list[float]]:
        """A function that embeds one question (recorded as a request of the asker)."""

        def embed(query: str) -> list[float]:
            return self.gateway.embed(
                principal, self.embedding_model, [query], "query", "knowledge.search"
            ).vectors[0]

        return embed

    def upload(self, principal: Principal, collection: str, uploads: Sequence[ingest.Upload]) -> list[str]:
        """Store the files and queue them for ingestion; returns the document ids."""
        ids = ingest.accept(self.db, principal, self.files, collection, uploads)
        for document_id in ids:
            self.queue.submit(principal.tenant_id, document_id)
        return ids

    def process(
        self, tenant_id: str, document_id: str, on_progress: Callable[[float], None] | None = None
    ) -> DocumentStatus:
        """Ingest one document now (`rathaus ingest`)."""
        return ingest.process(self.db, self.files, self.embed_passages, tenant_id, document_id, on_progress)

    def steps(self, tenant_id: str, document_id: str) -> Iterator[Step]:
        """Ingest one document step by step (the queue's job: tenants take turns between steps)."""
        return ingest.steps(self.db, self.files, self.embed_passages, tenant_id, document_id)

    def resume(self) -> int:
        """Queue every document a stopped server left unfinished; returns how many."""
        waiting = ingest.pending(self.db)
        for tenant_id, document_id in waiting:
            self.queue.submit(tenant_id, document_id)
        return len(waiting)

    def search(
        self,
        principal: Principal,
        collection_names: Sequence[str],
        query: str,
        k: int = 5,
        mode: retrieval.Mode = retrieval.DEFAULT_MODE,
        skip_invisible: bool = False,
    ) -> list[retrieval.Hit]:
        """The best passages for the question in the collections the caller may see.

        A collection the caller may not see is NotFound, or left out with `skip_invisible` (an assistant
        answers each asker only from the collections that person may see).
        """
        with self.db.session(principal.tenant_id) as session:
            ids = []
            for name in collection_names:
                try:
                    ids.append(collections.find(session, principal, name).id)
                except NotFound:
                    if not skip_invisible:
                        raise
        if not ids:
            return []
        # embedded outside the session: the embedding's request record is written meanwhile (SQLite)
        vector = self.query_embedder(principal)(query) if mode != "lexical" else None
        with self.db.session(principal.tenant_id) as session:
            return retrieval.search(session, ids, query, vector, k, mode)

    def close(self) -> None:
        """Stop the ingestion worker."""
        self.queue.close()
