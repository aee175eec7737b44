"""Classification: tier 0 alone, escalating every unsure verdict, and escalating only where measured better.

Run from the checkout: `rathaus bench classification --tasks bench/datasets/tasks [--tasks …] [--models a,b]`.

For each task set's label set (tasks of type `classify`, labels in `labels.json`) and each chat model:
the model is measured on the labels' own examples, each held out in turn, as the router measures it
(`routing/label_trials.py`); then every task is sorted by tier 0 (the embedding classifier), and each
unsure one is also asked of the model, with the labels' descriptions in the prompt as an escalated request
gets them (temperature 0). Three accuracies on the tasks' reference labels, side by side in one run:
tier 0 alone; the old rule, every unsure case to the model; the rule in use, unsure cases to the model only
when its measurement says it is better, else tier 0's label.

With `--corrections K`, also what staff corrections do (workflows/labels.py): the tasks are split in two
halves; of the first half, up to K tasks per label that tier 0 sorted wrong become that label's examples,
as an approval's correction makes them; tier 0 and the rule (measured again on the label set with them)
are then scored on the second half, beside tier 0 without the corrections on the same half.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, temporary_services, write_docs
from rathaus.identity.directory import create_tenant
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message, TextChunk
from rathaus.routing.classifier import LabelSchema, label_schema
from rathaus.routing.dispatch import with_listing
from rathaus.routing.label_trials import Outcome, json_schema, value_of
from rathaus.services import Services

INSTRUCTIONS = "Ordne die Nachricht genau einer Abteilung der Stadtverwaltung zu. Antworte nur mit JSON."


@dataclass
class Result:
    """One label set and one model: the measurement and the three accuracies on the tasks."""

    labels: str
    model: str
    trial: Outcome
    tasks: int
    unsure: int
    tier0: int
    always: int
    measured: int


def label_set(folder: Path) -> tuple[LabelSchema, list[dict[str, Any]]]:
    """The task set's labels as a classification schema, and its classify tasks."""
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    choices = [
        {"const": x["value"], "description": x["description"], "examples": x["examples"]} for x in labels
    ]
    schema = label_schema(
        {"type": "object", "properties": {"abteilung": {"oneOf": choices}}, "required": ["abteilung"]}
    )
    assert schema is not None
    lines = (folder / "classify.jsonl").read_text(encoding="utf-8").splitlines()
    return schema, [json.loads(line) for line in lines if line.strip()]


def ask(services: Services, principal: Principal, model: str, labels: LabelSchema, text: str) -> str | None:
    """The model's label for a text, asked as an escalated request is."""
    schema = {"type": "json_schema", "json_schema": {"name": "abteilung", "schema": json_schema(labels)}}
    messages = [Message(role="system", content=INSTRUCTIONS), Message(role="user", content=text)]
    request = ChatRequest(messages=messages, temperature=0.0, max_tokens=60, response_format=schema)
    profile = services.catalogue.get(model)
    items = services.gateway.chat(principal, profile, with_listing(request, labels), "bench.classification")
    return value_of("".join(i.text for i in items if isinstance(i, TextChunk)), labels)


def corrected(
    labels: LabelSchema, tasks: list[dict[str, Any]], verdicts: list[Any], most: int
) -> tuple[LabelSchema, int]:
    """The label set with up to `most` wrongly sorted tasks per label added to its examples (as staff
    corrections), and how many were added."""
    added: dict[str, list[str]] = {}
    for task, verdict in zip(tasks, verdicts, strict=True):
        texts = added.setdefault(task["reference"], [])
        if verdict.label != task["reference"] and len(texts) < most:
            texts.append(task["input"])
    richer = tuple(replace(x, examples=x.examples + tuple(added.get(x.value, []))) for x in labels.labels)
    return replace(labels, labels=richer), sum(len(t) for t in added.values())


def score(
    services: Services,
    principal: Principal,
    model: str,
    labels: LabelSchema,
    tasks: list[dict[str, Any]],
    verdicts: list[Any],
    better: bool,
) -> tuple[int, int, int, int]:
    """Right answers of tier 0 alone, of every unsure case escalated and of the rule, and how many were
    unsure."""
    tier0 = always = measured = unsure = 0
    for task, verdict in zip(tasks, verdicts, strict=True):
        expected = task["reference"]
        right0 = verdict.label == expected
        tier0 += right0
        if verdict.confident:
            always, measured = always + right0, measured + right0
            continue
        unsure += 1
        right = ask(services, principal, model, labels, task["input"]) == expected
        always += right
        measured += right if better else right0
    return tier0, always, measured, unsure


@dataclass
class Corrected:
    """One label set and one model on the second half of the tasks, with staff corrections from the first."""

    labels: str
    model: str
    added: int
    trial: Outcome
    tasks: int
    tier0_before: int
    tier0: int
    measured: int


@contextmanager
def _bench_tenant(model: str) -> Iterator[tuple[Services, Principal, str]]:
    """Temporary services with a tenant of their own: the services, a builder there, the embedding model."""
    with temporary_services(model) as services:
        with services.db.system_session() as session:
            tenant_id = create_tenant(session, "bench", "Bench").id
        yield services, Principal(tenant_id=tenant_id, role=Role.builder), services.knowledge.embedding_model


def run_corrected(folder: Path, models: list[str], most: int) -> list[Corrected]:
    """Corrections from the first half of the tasks as examples; scored on the second half."""
    labels, tasks = label_set(folder)
    seen, held = tasks[0::2], tasks[1::2]
    results = []
    with _bench_tenant(models[0]) as (services, principal, embedder):
        classifier = services.routing.classifier(embedder)

        def sort(schema: LabelSchema, texts: list[dict[str, Any]]) -> list[Any]:
            return [classifier.classify(principal, t["input"], schema, "bench.classification") for t in texts]

        richer, added = corrected(labels, seen, sort(labels, seen), most)
        before, after = sort(labels, held), sort(richer, held)
        tier0_before = sum(v.label == t["reference"] for v, t in zip(before, held, strict=True))
        for model in models:
            trial = services.routing.measure(principal, richer, embedder, model)
            tier0, _, measured, _ = score(services, principal, model, richer, held, after, trial.better)
            results.append(
                Corrected(folder.name, model, added, trial, len(held), tier0_before, tier0, measured)
            )
            print(f"{model}: {results[-1]}", file=sys.stderr)
    return results


def run(folder: Path, models: list[str]) -> list[Result]:
    """Measure and compare every model on the task set's label set."""
    labels, tasks = label_set(folder)
    results = []
    with _bench_tenant(models[0]) as (services, principal, embedder):
        classifier = services.routing.classifier(embedder)
        verdicts = [classifier.classify(principal, t["input"], labels, "bench.classification") for t in tasks]
        for model in models:
            trial = services.routing.measure(principal, labels, embedder, model)
            print(f"{model}: measured {trial.as_json()}", file=sys.stderr)
            tier0, always, measured, unsure = score(
                services, principal, model, labels, tasks, verdicts, trial.better
            )
            results.append(Result(folder.name, model, trial, len(tasks), unsure, tier0, always, measured))
            print(f"{model}: {results[-1]}", file=sys.stderr)
    return results


def report(command: str, results: list[Result]) -> str:
    """The section for docs/benchmarks.md."""
    when = datetime.now(UTC).strftime("%d %b %Y %H:%M UTC")
    lines = [
        "## Classification: escalating only where a model measured better\n",
        f"`{command}` — {when}, {machine()}.\n",
        "Each model measured on the labels' own examples, each held out in turn: right where tier 0 was "
        "unsure (right in all); where only one of the two was right, how often each, and the chance of the "
        "model's lead under a one-sided sign test (it escalates at 0.05 or less). Then every task sorted by "
        "tier 0 and each unsure one also by the model. Accuracy on the tasks' reference labels:\n",
        "| label set | model | measured: model / tier 0 right (unsure examples) | escalates? | tasks | "
        "tier 0 unsure | tier 0 alone | every unsure case escalated | escalated only where measured better |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        t = r.trial
        measured = (
            f"{t.model_unsure_correct} / {t.tier0_unsure_correct} of {t.unsure} "
            f"({t.model_correct} / {t.tier0_correct} of {t.total}); only one right: "
            f"{t.model_only} / {t.tier0_only}, chance {t.chance:.2f}"
        )
        shares = " | ".join(f"{n / r.tasks:.0%}" for n in (r.tier0, r.always, r.measured))
        escalates = "yes" if t.better else "no"
        lines.append(
            f"| {r.labels} | {r.model} | {measured} | {escalates} | {r.tasks} | {r.unsure} | {shares} |"
        )
    worse = [f"{r.labels}/{r.model}" for r in results if r.measured < r.tier0]
    verdict = (
        f"BELOW tier 0's alone for {', '.join(worse)}." if worse else "at least tier 0's alone everywhere."
    )
    lines.append(f"\nWith the rule in use, accuracy with escalation is {verdict}")
    return "\n".join(lines) + "\n"


def report_corrected(results: list[Corrected], most: int) -> str:
    """The part of the section on staff corrections."""
    lines = [
        f"\n### With staff corrections (`--corrections {most}`)\n",
        "Tasks split in two halves. Of the first, up to "
        f"{most} tasks per label that tier 0 sorted wrong were added to their label's examples, as a "
        "correction at an approval adds them; the rule measured the label set again with them. Accuracy on "
        "the second half:\n",
        "| label set | model | corrections added | measured with them (unsure examples) | escalates? | tasks "
        "| tier 0 without corrections | tier 0 with corrections | with corrections, escalated where "
        "measured better |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        t = r.trial
        measured = (
            f"{t.model_unsure_correct} / {t.tier0_unsure_correct} of {t.unsure}; only one right: "
            f"{t.model_only} / {t.tier0_only}, chance {t.chance:.2f}"
        )
        shares = " | ".join(f"{n / r.tasks:.0%}" for n in (r.tier0_before, r.tier0, r.measured))
        escalates = "yes" if t.better else "no"
        lines.append(
            f"| {r.labels} | {r.model} | {r.added} | {measured} | {escalates} | {r.tasks} | {shares} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure, compare and record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tasks", type=Path, action="append", help="a task set folder; repeat for several label sets"
    )
    parser.add_argument("--models", default="qwen2.5-0.5b,qwen2.5-1.5b", help="chat models, comma-separated")
    parser.add_argument(
        "--corrections", type=int, default=0, help="also score staff corrections: at most this many per label"
    )
    parser.add_argument("--docs", default="docs/benchmarks.md", help="where to record; '-' to skip")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    results = [r for folder in args.tasks or [Path("bench/datasets/tasks")] for r in run(folder, models)]
    command = "rathaus bench classification " + " ".join(sys.argv[1:])
    section = report(command.strip(), results)
    if args.corrections:
        folders = args.tasks or [Path("bench/datasets/tasks")]
        fixed = [r for folder in folders for r in run_corrected(folder, models, args.corrections)]
        section += report_corrected(fixed, args.corrections)
    print(section)
    if args.docs != "-":
        write_docs(Path(args.docs), "classification", section)
    if any(r.measured < r.tier0 for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
