"""Grounded answers with a real model: does the assistant say "not found" instead of inventing an answer?

Run from the checkout:
`rathaus bench grounded --dataset bench/datasets/musterstadt --files src/rathaus/knowledge/demo/corpus`.

Builds a temporary SQLite store with the corpus, an assistant over it (the demo "Bürgerservice" document,
with the chosen model), and asks every unanswerable query (per `metadata.set`) and a sample of answerable
ones. An answer counts as "not found" when it is the assistant's not-found sentence, and the table says
which step gave it: no passage similar enough, the model's yes/no check, or the answer itself. For
answerable queries it counts answers that were given and whose listed sources include a relevant document.
The model must be installed (`rathaus models install`).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import collection_with, demo_assistant, machine, temporary_services, write_docs
from rathaus.assistants import grounding
from rathaus.assistants.grounding import _is_not_found, shown_sources
from rathaus.assistants.runtime import prepare_for
from rathaus.assistants.spec import AssistantSpec
from rathaus.identity.principal import Principal
from rathaus.knowledge.models import Document
from rathaus.llm.backend import ChatRequest, Message, TextChunk
from rathaus.services import Services
from retrieval import Dataset, uploads_for


@dataclass
class Asked:
    """One question's outcome."""

    answer: str
    reason: str  # how "not found" came about: no_passage, not_answerable, model; or "answered"
    sources: list[str]
    seconds: float
    answerable: float | None  # the check's probability of "yes", where it ran


def ask(services: Services, principal: Principal, spec: AssistantSpec, question: str) -> Asked:
    """Ask the assistant one question, as the chat does."""
    started = time.perf_counter()
    request = ChatRequest(messages=[Message(role="user", content=question)])
    prepared = prepare_for(services, principal, spec, request)
    answer = "".join(
        i.text for i in prepared.stream(services, principal, "bench.grounded") if isinstance(i, TextChunk)
    )
    grounded = prepared.grounded
    reason = "answered"
    if grounded is not None and not grounded.found:
        reason = grounded.reason
    elif _is_not_found(answer, spec.spec.not_found):
        reason = "model"
    passages = [s.passage_id for s in shown_sources(answer, grounded)]
    chance = grounded.answerable if grounded is not None else None
    return Asked(answer, reason, passages, time.perf_counter() - started, chance)


def _refusals(outcomes: list[Asked]) -> str:
    """'27 of 30 (90 %): 3 no similar passage, 20 by the check, 4 by the answer'."""
    by = {r: sum(o.reason == r for o in outcomes) for r in ("no_passage", "not_answerable", "model")}
    total = sum(by.values())
    return (
        f"{total} of {len(outcomes)} ({total / len(outcomes):.0%}) answered 'not found': "
        f"{by['no_passage']} without a similar passage, {by['not_answerable']} by the check, "
        f"{by['model']} by the answer itself"
    )


def _thresholds(outcomes: dict[str, list[Asked]], answered: list[Asked]) -> str:
    """What stricter check thresholds would have done in this same run.

    Exact, not estimated: a higher threshold only turns answers whose check probability lies below it into
    "not found"; every other outcome stays as it was.
    """
    current = grounding.ANSWERABLE_MIN
    steps = [round(current + 0.05 * n, 2) for n in range(5)]

    def refused(group: list[Asked], threshold: float) -> int:
        return sum(
            o.reason != "answered" or (o.answerable is not None and o.answerable < threshold) for o in group
        )

    header = (
        "| check threshold | "
        + " | ".join(f"unanswerable `{n}`" for n in outcomes)
        + " | answerable answered |"
    )
    rows = [header, "|" + "---|" * (len(outcomes) + 2)]
    for threshold in steps:
        cells = [f"{refused(g, threshold)}/{len(g)}" for g in outcomes.values()]
        kept = len(answered) - refused(answered, threshold)
        rows.append(
            f"| {threshold:.2f}{' (used)' if threshold == current else ''} | "
            + " | ".join(cells)
            + f" | {kept}/{len(answered)} |"
        )
    return "Stricter thresholds, replayed on this run's check probabilities:\n\n" + "\n".join(rows) + "\n"


def main() -> None:
    """Ingest, ask, print and record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--files", type=Path)
    parser.add_argument("--model", default="qwen2.5-1.5b")
    parser.add_argument(
        "--answerable", type=int, default=30, help="how many answerable queries to ask (sample)"
    )
    parser.add_argument(
        "--docs", default="docs/benchmarks.md", help="where to record the results; '-' to skip"
    )
    args = parser.parse_args()
    dataset = Dataset.load(args.dataset)
    with temporary_services(args.model) as services:
        uploads = uploads_for(dataset, args.files)
        principal, ids = collection_with(services, "korpus", [u for _, u in uploads])
        tenant_id = principal.tenant_id
        beir = dict(zip(ids, (i for i, _ in uploads), strict=True))
        spec = demo_assistant()
        spec.spec.knowledge = ["korpus"]
        spec.spec.model.mode, spec.spec.model.profile = "profile", args.model
        passage_doc: dict[str, str] = {}

        def document_of(passage_ids: list[str]) -> set[str]:
            from rathaus.knowledge.models import Passage

            with services.db.session(tenant_id) as session:
                rows = session.query(Passage.id, Document.id).join(
                    Document, Document.id == Passage.document_id
                )
                passage_doc.update({p: beir.get(d, "") for p, d in rows.filter(Passage.id.in_(passage_ids))})
            return {passage_doc[p] for p in passage_ids if p in passage_doc}

        outcomes: dict[str, list[Asked]] = {}
        for number, (query_id, question) in enumerate(dataset.unanswerable.items(), start=1):
            asked = ask(services, principal, spec, question)
            outcomes.setdefault(dataset.sets.get(query_id, "all"), []).append(asked)
            print(
                f"unanswerable {number}/{len(dataset.unanswerable)}: {question!r} "
                f"→ {asked.reason} (yes {asked.answerable}): {asked.answer[:100]!r}",
                file=sys.stderr,
            )
        sample = random.Random(11).sample(sorted(dataset.queries), min(args.answerable, len(dataset.queries)))
        answered: list[Asked] = []
        cited_right = 0
        for number, query_id in enumerate(sample, start=1):
            asked = ask(services, principal, spec, dataset.queries[query_id])
            answered.append(asked)
            if asked.reason == "answered":
                cited_right += bool(document_of(asked.sources) & dataset.qrels[query_id])
            print(
                f"answerable {number}/{len(sample)} {query_id}: {asked.reason} (yes {asked.answerable}): "
                f"{asked.answer[:100]!r}",
                file=sys.stderr,
            )
    times = [o.seconds for group in outcomes.values() for o in group] + [o.seconds for o in answered]
    given = sum(o.reason == "answered" for o in answered)
    when = datetime.now(UTC).strftime("%d %b %Y %H:%M UTC")
    rows = "".join(
        f"| {len(group)} unanswerable (set `{name}`) | {_refusals(group)} |\n"
        for name, group in outcomes.items()
    )
    section = (
        "## Grounded answers: 'not found' instead of invented answers\n\n"
        f"`rathaus bench grounded {' '.join(sys.argv[1:])}` — {when}, {machine()}, model `{args.model}`.\n\n"
        "| queries | result |\n|---|---|\n"
        f"{rows}"
        f"| {len(sample)} answerable (random sample) | {given} answered, "
        f"{cited_right} of them list a relevant page among their sources; {_refusals(answered)} |\n\n"
        f"Time per question: median {statistics.median(times):.1f} s, max {max(times):.1f} s.\n\n"
        f"{_thresholds(outcomes, answered)}"
    )
    print(section)
    if args.docs != "-":
        write_docs(Path(args.docs), "grounded", section)


if __name__ == "__main__":
    main()
