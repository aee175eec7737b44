#!/usr/bin/env python3
"""Build the evaluation sets on real administration texts from the corpora and the written questions.

Sources (not part of the repository): a folder of corpora as described in ``bench/datasets/*/README.md``,
``muenchen-sadb-dienstleistungen/`` (City of Munich service descriptions, EUPL-1.2) and
``bw-ortsrecht-ragsource/`` (Baden-Württemberg local statutes; RAGSource preparation, CC BY 4.0).

Kept in the repository and edited by hand: ``bench/datasets/<set>/questions.jsonl`` (the questions with
their facts and documents) and, for the statutes, ``documents.txt`` (which statutes are used). This script
writes next to them, deterministically:

* ``corpus.jsonl`` — BEIR corpus (``_id``, ``title``, ``text``), the documents' text without front matter;
* ``queries.jsonl`` and ``qrels/test.tsv`` — the questions in BEIR form, with ``metadata`` (answerable,
  facts, kind, set);
* for Munich also ``queries-keywords.jsonl`` and ``qrels/keywords.tsv`` — the city's own search keywords
  that point to exactly one service (single-target retrieval);
* for Munich also ``muenchen-zustaendigkeit/`` — a classification set: the service areas of the hand-kept
  ``areas.json`` (each with its LeiKa groups and a description) as labels with three service titles of
  the area as examples, and the city's search keywords of the area's other services as tasks (the area
  of the service a keyword points to is its reference label);
* the licence and source files of the corpus.

Every fact of an answerable question must occur in one of its documents; the script stops otherwise.

Usage::

    python scripts/build-real-datasets.py --corpora ../shared/corpora
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "bench" / "datasets"
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _body(markdown: str) -> tuple[str, str]:
    """(first heading, the rest) of a Markdown document without front matter."""
    text = FRONT_MATTER.sub("", markdown).strip()
    first, _, rest = text.partition("\n")
    if first.startswith("# "):
        return first[2:].strip(), rest.strip()
    return "", text


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("\u00a0", " ").split())


def _questions(folder: Path, corpus: dict[str, dict[str, str]]) -> None:
    """queries.jsonl and qrels/test.tsv from questions.jsonl; each fact must be in one of its documents."""
    rows = [json.loads(line) for line in (folder / "questions.jsonl").read_text("utf-8").splitlines() if line]
    problems = []
    queries, qrels = [], ["query-id\tcorpus-id\tscore"]
    for row in rows:
        for doc_id in row["doc_ids"]:
            if doc_id not in corpus:
                problems.append(f"{row['id']}: unknown document {doc_id}")
        texts = [
            _normalise(corpus[d]["title"] + " " + corpus[d]["text"]) for d in row["doc_ids"] if d in corpus
        ]
        for group in row["facts"]:
            if not any(_normalise(fact) in text for fact in group for text in texts):
                problems.append(f"{row['id']}: fact {group} not in {row['doc_ids']}")
        metadata = {
            "answerable": row["answerable"],
            "facts": row["facts"],
            "kind": row["kind"],
            "set": row["set"],
        }
        queries.append({"_id": row["id"], "text": row["question"], "metadata": metadata})
        qrels += [f"{row['id']}\t{doc_id}\t1" for doc_id in row["doc_ids"]]
    if problems:
        sys.exit("\n".join(problems))
    _write_jsonl(folder / "queries.jsonl", queries)
    (folder / "qrels").mkdir(exist_ok=True)
    (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    print(f"{folder.name}: {len(rows)} questions, {sum(1 for r in rows if not r['answerable'])} unanswerable")


def munich(source: Path) -> None:
    """The 237 service descriptions, the questions and the city's single-target search keywords."""
    folder = DATASETS / "muenchen"
    corpus: dict[str, dict[str, str]] = {}
    for path in sorted((source / "documents").glob("*.md")):
        title, text = _body(path.read_text("utf-8"))
        corpus[path.stem] = {"_id": path.stem, "title": title, "text": text}
    _write_jsonl(folder / "corpus.jsonl", list(corpus.values()))
    keywords, qrels = [], ["query-id\tcorpus-id\tscore"]
    for line in (source / "keyword_labels.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        if len(row["relevant_doc_ids"]) == 1 and row["relevant_doc_ids"][0] in corpus:
            query_id = f"k{len(keywords) + 1:03d}"
            keywords.append({"_id": query_id, "text": row["query"], "metadata": {"answerable": True}})
            qrels.append(f"{query_id}\t{row['relevant_doc_ids'][0]}\t1")
    _write_jsonl(folder / "queries-keywords.jsonl", keywords)
    (folder / "qrels").mkdir(exist_ok=True)
    (folder / "qrels" / "keywords.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    for name in ("SOURCE.md", "LICENSE-EUPL-1.2.txt"):
        shutil.copyfile(source / name, folder / name)
    print(f"muenchen: {len(corpus)} documents, {len(keywords)} single-target keywords")
    _questions(folder, corpus)


EXAMPLES_PER_AREA = 3


def munich_areas(source: Path) -> None:
    """Service areas as labels (examples: service titles) and the search keywords of the area's other
    services as classify tasks, in the form of bench/datasets/tasks (labels.json, classify.jsonl)."""
    folder = DATASETS / "muenchen-zustaendigkeit"
    areas = json.loads((folder / "areas.json").read_text("utf-8"))
    services = [json.loads(line) for line in (source / "documents.jsonl").read_text("utf-8").splitlines()]
    keywords = [
        json.loads(line) for line in (source / "keyword_labels.jsonl").read_text("utf-8").splitlines()
    ]
    pointing = {}
    for row in keywords:
        if len(row["relevant_doc_ids"]) == 1:
            pointing.setdefault(row["relevant_doc_ids"][0], []).append(row["query"])
    labels, tasks = [], []
    for area in areas:
        members = sorted(
            (s for s in services if (s["leika"] or "")[:5] in area["leika"]),
            key=lambda s: (len(pointing.get(s["doc_id"], [])), s["doc_id"]),
        )
        examples, rest = members[:EXAMPLES_PER_AREA], members[EXAMPLES_PER_AREA:]
        labels.append(
            {
                "value": area["value"],
                "description": area["description"],
                "examples": [s["title"] for s in examples],
            }
        )
        for service in rest:
            for query in pointing.get(service["doc_id"], []):
                tasks.append({"input": query, "reference": area["value"], "service": service["doc_id"]})
    tasks.sort(key=lambda t: (t["input"].lower(), t["service"]))
    rows = [{"id": f"zustaendigkeit-{n + 1:03d}", "type": "classify", **t} for n, t in enumerate(tasks)]
    (folder / "labels.json").write_text(json.dumps(labels, ensure_ascii=False, indent=2) + "\n", "utf-8")
    _write_jsonl(folder / "classify.jsonl", rows)
    for name in ("SOURCE.md", "LICENSE-EUPL-1.2.txt"):
        shutil.copyfile(source / name, folder / name)
    print(f"muenchen-zustaendigkeit: {len(labels)} areas, {len(rows)} keywords to sort")


def statutes(source: Path) -> None:
    """The statutes listed in documents.txt (title with the issuing town where the title lacks it)."""
    folder = DATASETS / "bw-ortsrecht"
    index = {}
    for line in (source / "index.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        index[row["doc_id"]] = row
    wanted = [d.strip() for d in (folder / "documents.txt").read_text("utf-8").splitlines() if d.strip()]
    corpus: dict[str, dict[str, str]] = {}
    for doc_id in wanted:
        row = index[doc_id]
        _, text = _body((source / row["path"]).read_text("utf-8"))
        title = row["title"]
        issuer = row["gemeinde"] or row["verband"] or row["kreis"] or ""
        if issuer and issuer.lower() not in title.lower():
            title = f"{title} – {issuer}"  # the original's letterhead names the issuer; the Markdown lost it
        corpus[doc_id] = {"_id": doc_id, "title": title, "text": text}
    _write_jsonl(folder / "corpus.jsonl", list(corpus.values()))
    for name in ("SOURCE.md", "LICENSE-ragsource-content.txt"):
        shutil.copyfile(source / name, folder / name)
    print(f"bw-ortsrecht: {len(corpus)} statutes")
    _questions(folder, corpus)


def demo_questions() -> None:
    """The demo city's question tasks (bench/datasets/tasks/qa.jsonl) as an answer set on its corpus, so
    that `rathaus bench answers` compares the demo with the real sets in the same run."""
    folder = DATASETS / "musterstadt-qa"
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DATASETS / "musterstadt" / "corpus.jsonl", folder / "corpus.jsonl")
    tasks = [json.loads(line) for line in (DATASETS / "tasks" / "qa.jsonl").read_text("utf-8").splitlines()]
    queries, qrels = [], ["query-id\tcorpus-id\tscore"]
    for number, task in enumerate(tasks):
        answerable = task.get("answerable", True)
        metadata = {
            "answerable": answerable,
            "facts": [[fact] for fact in task["key_facts"]],
            "kind": "frage" if answerable else "unbeantwortbar",
            "set": "dev" if number % 2 == 0 else "test",
        }
        queries.append({"_id": task["id"], "text": task["question"], "metadata": metadata})
        qrels += [f"{task['id']}\t{page}\t1" for page in task["pages"]]
    _write_jsonl(folder / "queries.jsonl", queries)
    (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    print(f"musterstadt-qa: {len(queries)} questions")


def main() -> None:
    """Build the sets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, required=True, help="folder with the two corpora")
    args = parser.parse_args()
    munich(args.corpora / "muenchen-sadb-dienstleistungen")
    munich_areas(args.corpora / "muenchen-sadb-dienstleistungen")
    statutes(args.corpora / "bw-ortsrecht-ragsource")
    demo_questions()


if __name__ == "__main__":
    main()
