"""Finding passages: dense (meaning), lexical (words) or hybrid (both, fused by reciprocal rank).

Reciprocal rank fusion needs no score calibration between the two lists: each passage scores
Σ 1 / (RRF_K + rank) over the lists it appears in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rathaus.knowledge.german import terms
from rathaus.knowledge.index import index_for
from rathaus.knowledge.models import Document, Passage

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
DEFAULT_MODE: Mode = "dense"  # on the Musterstadt set dense alone beats hybrid (docs/benchmarks.md)
RRF_K = 60
CANDIDATES = 30


@dataclass(frozen=True)
class Hit:
    """A passage found for a query, with where it comes from and why it ranked."""

    passage_id: str
    document_id: str
    collection_id: str
    document_title: str
    filename: str
    heading: str
    page: int | None
    text: str
    score: float
    similarity: float | None
    dense_rank: int | None
    lexical_rank: int | None
    source_url: str | None = None


def search(
    session: Session,
    collection_ids: Sequence[str],
    query: str,
    vector: Sequence[float] | None,
    k: int = 5,
    mode: Mode = DEFAULT_MODE,
) -> list[Hit]:
    """The k best passages for the query in these collections (already checked for the caller).

    `vector` is the query's embedding; it is needed unless the mode is lexical.
    """
    index = index_for(session)
    pool = max(k, CANDIDATES)
    if mode != "lexical" and vector is None:
        raise ValueError("dense and hybrid search need the query's vector")
    dense = (
        index.dense(session, collection_ids, vector, pool) if vector is not None and mode != "lexical" else []
    )
    lexical = index.lexical(session, collection_ids, terms(query), pool) if mode != "dense" else []
    dense_rank = {pid: rank for rank, (pid, _) in enumerate(dense, start=1)}
    lexical_rank = {pid: rank for rank, (pid, _) in enumerate(lexical, start=1)}
    similarity = dict(dense)
    scores: dict[str, float] = {}
    for ranks in (dense_rank, lexical_rank):
        for pid, rank in ranks.items():
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (RRF_K + rank)
    best = sorted(scores, key=lambda pid: -scores[pid])[:k]
    if not best:
        return []
    rows = {
        p.id: (p, d)
        for p, d in session.execute(
            select(Passage, Document)
            .join(Document, Document.id == Passage.document_id)
            .where(Passage.id.in_(best))
        )
    }
    return [
        Hit(
            passage_id=pid,
            document_id=rows[pid][1].id,
            collection_id=rows[pid][0].collection_id,
            document_title=rows[pid][1].title or rows[pid][1].filename,
            filename=rows[pid][1].filename,
            heading=rows[pid][0].heading,
            page=rows[pid][0].page,
            text=rows[pid][0].text,
            score=scores[pid],
            similarity=similarity.get(pid),
            dense_rank=dense_rank.get(pid),
            source_url=rows[pid][1].source_url,
            lexical_rank=lexical_rank.get(pid),
        )
        for pid in best
        if pid in rows
    ]
