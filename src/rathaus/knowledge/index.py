"""The passage index: vectors and full text, on SQLite (sqlite-vec + FTS5) or PostgreSQL (pgvector).

Callers pass collection ids they have already loaded through a tenant-scoped session; every statement
here is restricted to those collections, so one tenant's search never sees another tenant's passages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from rathaus.knowledge.models import Passage

Scored = list[tuple[str, float]]  # passage id and score, best first


class SearchIndex(Protocol):
    """Where passages are found by meaning (dense vectors) and by words (full text)."""

    def add(self, session: Session, passages: Sequence[Passage], vectors: Sequence[Sequence[float]]) -> None:
        """Index passages already flushed to the database, with their vectors."""
        ...

    def remove(self, session: Session, passage_ids: Sequence[str]) -> None:
        """Drop passages from the index (their rows are deleted by the caller)."""
        ...

    def dense(
        self, session: Session, collection_ids: Sequence[str], vector: Sequence[float], k: int
    ) -> Scored:
        """The k passages closest to the vector; score is the cosine similarity."""
        ...

    def lexical(
        self, session: Session, collection_ids: Sequence[str], terms: Sequence[str], k: int
    ) -> Scored:
        """The k passages that match the normalised terms best; score is the engine's relevance."""
        ...


class SqliteIndex:
    """sqlite-vec (`knowledge_vectors`, one partition per collection) and FTS5 (`knowledge_fts`, BM25)."""

    def add(self, session: Session, passages: Sequence[Passage], vectors: Sequence[Sequence[float]]) -> None:
        """Insert vectors and terms."""
        from sqlite_vec import serialize_float32

        connection = session.connection()
        connection.execute(
            text("INSERT INTO knowledge_vectors(chunk_id, collection_id, embedding) VALUES (:id, :c, :v)"),
            [
                {"id": p.id, "c": p.collection_id, "v": serialize_float32(list(v))}
                for p, v in zip(passages, vectors, strict=True)
            ],
        )
        connection.execute(
            text("INSERT INTO knowledge_fts(lexical, chunk_id, collection_id) VALUES (:t, :id, :c)"),
            [{"t": p.lexical, "id": p.id, "c": p.collection_id} for p in passages],
        )

    def remove(self, session: Session, passage_ids: Sequence[str]) -> None:
        """Delete from both virtual tables."""
        connection = session.connection()
        for start in range(0, len(passage_ids), 500):
            batch = list(passage_ids[start : start + 500])
            for table in ("knowledge_vectors", "knowledge_fts"):
                statement = text(f"DELETE FROM {table} WHERE chunk_id IN :ids")  # table names are fixed
                connection.execute(statement.bindparams(bindparam("ids", expanding=True)), {"ids": batch})

    def dense(
        self, session: Session, collection_ids: Sequence[str], vector: Sequence[float], k: int
    ) -> Scored:
        """Exact k-nearest neighbours per collection, merged."""
        from sqlite_vec import serialize_float32

        if not collection_ids:
            return []
        statement = text(
            "SELECT chunk_id, distance FROM knowledge_vectors "
            "WHERE embedding MATCH :v AND k = :k AND collection_id IN :c"
        ).bindparams(bindparam("c", expanding=True))
        rows = session.connection().execute(
            statement, {"v": serialize_float32(list(vector)), "k": k, "c": list(collection_ids)}
        )
        return _closest(rows, k)

    def lexical(
        self, session: Session, collection_ids: Sequence[str], terms: Sequence[str], k: int
    ) -> Scored:
        """BM25 over the normalised terms, any term matching."""
        unique = _unique(terms)
        if not unique or not collection_ids:
            return []
        query = " OR ".join('"' + t.replace('"', "") + '"' for t in unique)
        statement = text(
            "SELECT chunk_id, bm25(knowledge_fts) AS rank FROM knowledge_fts "
            "WHERE knowledge_fts MATCH :q AND collection_id IN :c ORDER BY rank LIMIT :k"
        ).bindparams(bindparam("c", expanding=True))
        rows = session.connection().execute(statement, {"q": query, "c": list(collection_ids), "k": k})
        return [(str(r[0]), -float(r[1])) for r in rows]


class PostgresIndex:
    """pgvector (HNSW, cosine) on `knowledge_chunks.embedding`; full text on its `lexical_tsv` column."""

    def add(self, session: Session, passages: Sequence[Passage], vectors: Sequence[Sequence[float]]) -> None:
        """Store the vectors on the passages' rows (the terms are indexed by a generated column)."""
        session.connection().execute(
            text("UPDATE knowledge_chunks SET embedding = CAST(:v AS vector) WHERE id = :id"),
            [{"id": p.id, "v": _vector_literal(v)} for p, v in zip(passages, vectors, strict=True)],
        )

    def remove(self, session: Session, passage_ids: Sequence[str]) -> None:
        """Nothing to do: vectors and terms go with the rows."""

    def dense(
        self, session: Session, collection_ids: Sequence[str], vector: Sequence[float], k: int
    ) -> Scored:
        """Approximate nearest neighbours from the HNSW index, filtered by collection."""
        if not collection_ids:
            return []
        connection = session.connection()
        connection.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        connection.execute(text(f"SET LOCAL hnsw.ef_search = {max(40, 2 * int(k))}"))  # SET takes no binds
        rows = connection.execute(
            text(
                "SELECT id, embedding <=> CAST(:v AS vector) AS distance FROM knowledge_chunks "
                "WHERE collection_id = ANY(:c) AND embedding IS NOT NULL ORDER BY distance LIMIT :k"
            ),
            {"v": _vector_literal(vector), "c": list(collection_ids), "k": k},
        )
        return _closest(rows, k)

    def lexical(
        self, session: Session, collection_ids: Sequence[str], terms: Sequence[str], k: int
    ) -> Scored:
        """Cover-density ranking over the normalised terms, any term matching."""
        unique = _unique(terms)
        if not unique or not collection_ids:
            return []
        query = " | ".join("'" + t.replace("'", "") + "'" for t in unique)
        rows = session.connection().execute(
            text(
                "SELECT id, ts_rank(lexical_tsv, q, 1) AS rank "
                "FROM knowledge_chunks, to_tsquery('simple', :q) AS q "
                "WHERE collection_id = ANY(:c) AND lexical_tsv @@ q ORDER BY rank DESC LIMIT :k"
            ),
            {"q": query, "c": list(collection_ids), "k": k},
        )
        return [(str(r[0]), float(r[1])) for r in rows]


def _closest(rows: Iterable[Any], k: int) -> Scored:
    """(id, cosine distance) rows → (id, similarity), most similar first."""
    return sorted(((str(r[0]), 1.0 - float(r[1])) for r in rows), key=lambda item: -item[1])[:k]


def _unique(terms: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t for t in terms if t))


def _vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def index_for(session: Session) -> SearchIndex:
    """The index implementation for the session's database."""
    return PostgresIndex() if session.get_bind().dialect.name == "postgresql" else SqliteIndex()
