"""The knowledge service of a running Rathaus: uploads, the ingestion queue, search (for APIs and pages)."""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar

from rathaus.identity.principal import Principal
from rathaus.knowledge import collections, ingest, retrieval, sentences
from rathaus.knowledge.files import FileStore
from rathaus.knowledge.models import DocumentStatus
from rathaus.knowledge.queue import IngestQueue, Step
from rathaus.llm.embeddings import InputType
from rathaus.routing.gateway import ModelGateway
from rathaus.routing.route import Route
from rathaus.settings import Settings
from rathaus.store.db import Database
from rathaus.store.tenancy import NotFound

T = TypeVar("T")


SENTENCE_CACHE = 20_000  # sentence vectors kept in memory (4-byte floats: about 30 MB at 384 dimensions)
QUESTION_CACHE = 5_000  # question vectors kept in memory (about 8 MB)


class LruCache(Generic[T]):
    """A thread-safe mapping of text to value that forgets the least recently used beyond `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> T | None:
        """The value, marked as used; None when absent."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: str, value: T) -> None:
        """Keep a value, forgetting the oldest beyond the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class Knowledge:
    """Collections of documents: ingestion in the background, hybrid search."""

    def __init__(self, settings: Settings, db: Database, gateway: ModelGateway) -> None:
        self.settings = settings
        self.db = db
        self.gateway = gateway
        self.files = FileStore(settings.data_dir / "files")
        self.queue = IngestQueue(self.steps)
        self._sentences: LruCache[array[float]] = LruCache(SENTENCE_CACHE)
        self._questions: LruCache[array[float]] = LruCache(QUESTION_CACHE)

    @property
    def embedding_model(self) -> str:
        """The model that embeds passages and questions."""
        return self.settings.embedding_model

    def embed_passages(self, principal: Principal, texts: list[str]) -> list[list[float]]:
        """Vectors for passages (recorded as requests of the uploader)."""
        return self.gateway.embed(
            principal, self.embedding_model, texts, "passage", "knowledge.ingest"
        ).vectors

    def sentence_vectors(
        self,
        principal: Principal,
        texts: list[str],
        endpoint: str,
        route: Route | None = None,
        stored: Mapping[str, array[float]] | None = None,
    ) -> list[Sequence[float]]:
        """Vectors for sentences of passages: those `stored` with their passage when it was read (not kept
        in memory: the database has them), those embedded before from memory (passages read before
        sentences were stored); only the others are embedded and recorded."""
        known = stored or {}
        needed = [t for t in texts if t not in known]
        remembered = iter(self._remembered(self._sentences, "passage", principal, needed, endpoint, route))
        return [known[t] if t in known else next(remembered) for t in texts]

    def stored_sentences(
        self, principal: Principal, passages: Sequence[tuple[str, str, str]]
    ) -> dict[str, array[float]]:
        """The sentence vectors stored with passages (id, text, context), by sentence; passages read
        before sentences were stored, or cut differently now, have none."""
        with self.db.session(principal.tenant_id, read_only=True) as session:
            stored = collections.sentence_vectors(session, [p for p, _, _ in passages])
        found: dict[str, array[float]] = {}
        for passage_id, text, context in passages:
            found.update(sentences.unpack(sentences.quotable(text, context), stored.get(passage_id)))
        return found

    def question_vectors(
        self, principal: Principal, texts: list[str], endpoint: str, route: Route | None = None
    ) -> list[Sequence[float]]:
        """Vectors for questions (or parts of one); a question asked before comes from memory (the same
        questions come again and again), only new ones are embedded and recorded."""
        return self._remembered(self._questions, "query", principal, texts, endpoint, route)

    def _remembered(
        self,
        cache: LruCache[array[float]],
        kind: InputType,
        principal: Principal,
        texts: list[str],
        endpoint: str,
        route: Route | None,
    ) -> list[Sequence[float]]:
        missing = [t for t in dict.fromkeys(texts) if cache.get(t) is None]
        if missing:
            vectors = self.gateway.embed(
                principal, self.embedding_model, missing, kind, endpoint, route=route
            ).vectors
            for text, vector in zip(missing, vectors, strict=True):
                cache.put(text, array("f", vector))
        found = [cache.get(t) for t in texts]
        return [v if v is not None else array("f") for v in found]

    def query_embedder(self, principal: Principal) -> Callable[[str], Sequence[float]]:
        """A function that embeds one question (recorded as a request of the asker unless remembered)."""
        return lambda query: self.question_vectors(principal, [query], "knowledge.search")[0]

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
        with self.db.session(principal.tenant_id, read_only=True) as session:
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
        with self.db.session(principal.tenant_id, read_only=True) as session:
            return retrieval.search(session, ids, query, vector, k, mode)

    def close(self) -> None:
        """Stop the ingestion worker."""
        self.queue.close()
