"""Routing benchmark: always-smallest, always-largest, the router and a random router on the task set.

Run from the checkout: `rathaus bench routing --tasks bench/datasets/tasks [--per-type N]`.

Every task runs once on the smallest and once on the largest local chat model (temperature 0, so the
answers are repeatable) and, for classification, once on the tier-0 classifier; the router's and the random
router's answers are those runs, chosen per task as each strategy would choose. Energy is what the request
records measured (CPU seconds × watts per core). The random router sends the same share of tasks to the
large model as the router does, chosen at random (seeded). APGR is the area under the quality-vs-energy
curve through (smallest, strategy, largest), normalised so that smallest = 0 and largest = 1 on both axes;
a random router scores 0.5 by construction. Grounded questions run through the demo assistant over the demo
corpus (ingested into a temporary SQLite store first); the router's run of a question its evidence answers
clearly enough to be quoted (tier 0, decision 0015) is that quoted answer, run live. Cascades
(schema, Leichte Sprache) are replayed on the recorded small-model answer with the dispatcher's own check.
The oracle is a bound, not a strategy: with hindsight it takes per task the cheapest of the runs above
that keeps the mean quality at 95 % of always-largest, so no router choosing among these models
spends less.
`--overhead` measures only the router's decision time over many requests.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import collection_with, demo_assistant, machine, percentile, temporary_services, write_docs
from rathaus.assistants import evidence, grounding
from rathaus.assistants.runtime import evidence_for, prepare_for
from rathaus.assistants.spec import AssistantSpec
from rathaus.identity.principal import Principal
from rathaus.knowledge import ingest
from rathaus.llm.backend import ChatRequest, Message, TextChunk
from rathaus.routing.checks import answer_check
from rathaus.routing.route import Reason, Route
from rathaus.routing.router import Need, need_of
from rathaus.services import Services
from scorers import score

TYPES = ("classify", "extract", "qa", "simplify", "summarize")
QUALITY_TARGET = 0.95  # of always-largest's mean quality
LANGUAGE_MODEL_WH = 0.005  # below this a run used no language model (tier 0: classifier, quotes)
CORPUS = Path("src/rathaus/knowledge/demo/corpus")
INSTRUCTIONS = {
    "classify": "Ordne die Nachricht genau einer Abteilung der Stadtverwaltung zu. Antworte nur mit JSON.",
    "extract": "Extrahiere die Angaben aus dem Text als JSON nach dem Schema. Fehlt eine Angabe, setze null.",
    "simplify": (
        "Übertrage den Text in Leichte Sprache: kurze Sätze mit höchstens 15 Wörtern, eine Aussage pro Satz, "
        "aktiv statt passiv, lange Wörter mit Bindestrich trennen oder erklären. Behalte alle Fristen, "
        "Beträge und Orte."
    ),
    "summarize": "Fasse den Text sachlich zusammen, in höchstens {max_words} Wörtern. Behalte Beschlüsse, "
    "Beträge, Daten und Orte.",
}


@dataclass
class Run:
    """One task on one model: the answer, its score, its energy and time."""

    output: str
    score: float
    wh: float
    seconds: float


def load_tasks(folder: Path, per_type: int | None, offset: int = 0) -> list[dict[str, Any]]:
    """The tasks of every type: `per_type` of each (all when None), after skipping the first `offset`."""
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    tasks: list[dict[str, Any]] = []
    for kind in TYPES:
        rows = [
            json.loads(line) for line in (folder / f"{kind}.jsonl").read_text("utf-8").splitlines() if line
        ]
        for row in rows[offset : offset + per_type if per_type else None]:
            if kind == "classify":
                row["labels"] = labels
            tasks.append(row)
    return tasks


def request_for(task: dict[str, Any]) -> ChatRequest:
    """The chat request a task makes (grounded questions go through the assistant instead)."""
    kind = task["type"]
    system = INSTRUCTIONS[kind].format(max_words=task.get("max_words", 80))
    schema: dict[str, Any] | None = None
    if kind == "classify":
        choices = [
            {
                "const": label["value"],
                "description": label["description"],
                "examples": label.get("examples", []),
            }
            for label in task["labels"]
        ]
        schema = {
            "type": "object",
            "properties": {"abteilung": {"oneOf": choices}},
            "required": ["abteilung"],
        }
    elif kind == "extract":
        schema = task["schema"]
    messages = [Message(role="system", content=system), Message(role="user", content=task["input"])]
    response_format = (
        {"type": "json_schema", "json_schema": {"name": kind, "schema": schema}}
        if schema is not None
        else None
    )
    return ChatRequest(messages=messages, temperature=0.0, max_tokens=400, response_format=response_format)


class Harness:
    """A temporary store with the demo corpus, the demo assistant, and a way to run tasks on a route."""

    def __init__(self, services: Services, principal: Principal, assistant: AssistantSpec) -> None:
        self.services = services
        self.principal = principal
        self.assistant = assistant

    def run(self, task: dict[str, Any], route: Route) -> Run:
        """Run one task along a route and score the answer."""
        started = time.perf_counter()
        if task["type"] == "qa":
            spec = self.assistant.model_copy(deep=True)
            spec.spec.model.mode, spec.spec.model.profile = "profile", route.chosen
            question = ChatRequest(messages=[Message(role="user", content=task["question"])])
            prepared = prepare_for(self.services, self.principal, spec, question)
            stream = prepared.stream(self.services, self.principal, "bench.routing")
            route = prepared.route or route
        else:
            labels = need_of(request_for(task), "öffentlich").labels
            stream = self.services.routing.run(
                self.principal, route, request_for(task), "bench.routing", labels
            )
        output = "".join(i.text for i in stream if isinstance(i, TextChunk))
        points = score(task, output, self.assistant.spec.not_found)
        return Run(output, points, route.wh, time.perf_counter() - started)

    def quoted(self, task: dict[str, Any]) -> Run | None:
        """A grounded question's run on the shipped assistant (policy `auto`) when it is answered at tier 0 by
        quoting its evidence; None when a language model would answer (the recorded large run stands)."""
        conversation = [Message(role="user", content=task["question"])]
        grounded = grounding.ground(self.services, self.principal, self.assistant, conversation)
        if not grounded.found:
            return None
        found = evidence_for(self.services, self.principal, task["question"], grounded.sources)
        if not found.answers or len(found.parts) > 1 or found.best < evidence.QUOTE_MIN:
            return None
        started = time.perf_counter()
        prepared = prepare_for(
            self.services, self.principal, self.assistant, ChatRequest(messages=conversation)
        )
        output = "".join(
            i.text
            for i in prepared.stream(self.services, self.principal, "bench.routing")
            if isinstance(i, TextChunk)
        )
        route = prepared.route
        wh = route.wh if route is not None else 0.0
        points = score(task, output, self.assistant.spec.not_found)
        return Run(output, points, wh, time.perf_counter() - started)


def _fixed(model_id: str, tier: int) -> Route:
    return Route(model_id, tier, Reason("named"))


class Runs:
    """The answers of the fixed-model runs, kept in a JSON file so that an interrupted run resumes and a
    changed router or scorer can be compared again without asking the models twice (temperature 0)."""

    def __init__(self, harness: Harness, path: Path | None) -> None:
        self.harness = harness
        self.path = path
        self.saved: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            self.saved = json.loads(path.read_text(encoding="utf-8"))

    def get(self, task: dict[str, Any], model_id: str, tier: int) -> Run:
        """The task's run on the model: from the file, or run now and saved."""
        key = f"{task['id']}@{model_id}"
        if key not in self.saved:
            run = self.harness.run(task, _fixed(model_id, tier))
            self.saved[key] = {"output": run.output, "wh": run.wh, "seconds": run.seconds}
            if self.path is not None:
                self.path.write_text(json.dumps(self.saved, ensure_ascii=False, indent=1), encoding="utf-8")
        row = self.saved[key]
        points = score(task, row["output"], self.harness.assistant.spec.not_found)
        return Run(row["output"], points, row["wh"], row["seconds"])


def overhead(services: Services, rounds: int) -> dict[str, float]:
    """The router's decision time (plan) over `rounds` requests of every type, in milliseconds."""
    needs = [
        Need(kind, "personenbezogen", kind in ("classify", "extract"), 200 + 37 * n % 3000, 400)
        for n, kind in enumerate(TYPES * (rounds // len(TYPES)))
    ]
    times = []
    for need in needs:
        started = time.perf_counter()
        services.routing.plan(need)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50": statistics.median(times), "p95": percentile(times, 0.95), "max": max(times)}


def apgr(quality: float, energy: float, small: tuple[float, float], large: tuple[float, float]) -> float:
    """Area under the normalised quality-vs-energy curve through smallest, the strategy and largest."""
    q_span, e_span = large[0] - small[0], large[1] - small[1]
    if q_span <= 0 or e_span <= 0:
        return float("nan")
    q = (quality - small[0]) / q_span
    e = min(max((energy - small[1]) / e_span, 0.0), 1.0)
    return 0.5 * e * q + 0.5 * (1 - e) * (q + 1)


def main() -> None:
    """Run the strategies, print and record the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=Path, default=Path("bench/datasets/tasks"))
    parser.add_argument("--per-type", type=int, help="only the first N tasks of each type")
    parser.add_argument("--offset", type=int, default=0, help="skip the first N tasks of each type")
    parser.add_argument("--small", default="qwen2.5-0.5b")
    parser.add_argument("--large", default="qwen2.5-1.5b")
    parser.add_argument("--overhead", action="store_true", help="measure only the decision time")
    parser.add_argument(
        "--runs", type=Path, help="keep the models' answers in this JSON file (resume, compare again)"
    )
    parser.add_argument("--docs", default="docs/benchmarks.md", help="where to record; '-' to skip")
    args = parser.parse_args()
    with temporary_services(args.large) as services:
        decision = overhead(services, 2000)
        if args.overhead:
            report(args, decision, None)
            return
        uploads = [ingest.Upload(p.name, p.read_bytes()) for p in sorted(CORPUS.iterdir()) if p.is_file()]
        principal, _ = collection_with(services, "musterstadt-dienste", uploads)
        harness = Harness(services, principal, demo_assistant())
        small = services.catalogue.get(args.small)
        large = services.catalogue.get(args.large)
        runs = Runs(harness, args.runs)
        results = compare(
            runs, load_tasks(args.tasks, args.per_type, args.offset), small.id, small.tier, large.id
        )
    report(args, decision, results)


def compare(
    runs: Runs, tasks: list[dict[str, Any]], small: str, small_tier: int, large: str
) -> dict[str, Any]:
    """Run every task on both models (and the router's own route where it starts at tier 0)."""
    harness = runs.harness
    strategies: dict[str, dict[str, Run]] = {"smallest": {}, "largest": {}, "router": {}, "random": {}}
    used_large: dict[str, bool] = {}
    for number, task in enumerate(tasks, start=1):
        on_small = runs.get(task, small, small_tier)
        on_large = runs.get(task, large, small_tier + 1)
        strategies["smallest"][task["id"]], strategies["largest"][task["id"]] = on_small, on_large
        kind = task["type"]
        if kind == "qa":  # the assistant's own route, as the chat would plan it
            need = Need("qa", "öffentlich", False, 1800, 800)
        else:  # as a /v1 client naming its task would ask (classify and extract follow from the schema)
            need = need_of(request_for(task), "öffentlich", None if kind in ("classify", "extract") else kind)
        route = harness.services.routing.plan(need)
        quoted = harness.quoted(task) if kind == "qa" else None
        if quoted is not None:  # tier 0: the evidence quoted, no language model
            strategies["router"][task["id"]], used_large[task["id"]] = quoted, False
            route = Route(harness.services.knowledge.embedding_model, 0, Reason("extractive"))
        elif route.tier == 0:
            strategies["router"][task["id"]] = harness.run(task, route)  # tier 0, escalating when unsure
            used_large[task["id"]] = route.chosen == large
        elif route.chosen == large:
            strategies["router"][task["id"]], used_large[task["id"]] = on_large, True
        else:
            picked = cascade(request_for(task) if kind != "qa" else None, route, on_small, on_large, large)
            strategies["router"][task["id"]], used_large[task["id"]] = picked
        print(f"{number}/{len(tasks)} {task['id']}: {route.chosen} (tier {route.tier})", file=sys.stderr)
    large_share = sum(used_large.values()) / max(len(used_large), 1)
    chance = random.Random(7)
    for task in tasks:
        pick = "largest" if chance.random() < large_share else "smallest"
        strategies["random"][task["id"]] = strategies[pick][task["id"]]
    tier0 = {i: r for i, r in strategies["router"].items() if not used_large[i] and r.wh < LANGUAGE_MODEL_WH}
    options = {
        t["id"]: [strategies["smallest"][t["id"]], strategies["largest"][t["id"]]]
        + ([tier0[t["id"]]] if t["id"] in tier0 else [])
        for t in tasks
    }
    target = QUALITY_TARGET * statistics.mean(r.score for r in strategies["largest"].values())
    strategies["oracle"] = oracle(options, target)
    return {"tasks": tasks, "strategies": strategies, "large_share": large_share}


def oracle(options: dict[str, list[Run]], target: float) -> dict[str, Run]:
    """The least energy any router could spend choosing among these runs with hindsight while the mean
    quality stays at or above `target`: start from each task's best (cheapest among the best-scoring), then
    take the cheaper runs that lose the least quality per Wh saved while the target holds (greedy)."""
    chosen = {task: min(runs, key=lambda r: (-r.score, r.wh)) for task, runs in options.items()}
    budget = sum(r.score for r in chosen.values()) - target * len(chosen)  # quality points that may go
    swaps = sorted(
        (
            (chosen[task].score - run.score) / (chosen[task].wh - run.wh),
            task,
            run,
        )
        for task, runs in options.items()
        for run in runs
        if run.wh < chosen[task].wh
    )
    for _, task, run in swaps:
        loss = chosen[task].score - run.score
        if run.wh < chosen[task].wh and loss <= budget + 1e-9:
            budget -= loss
            chosen[task] = run
    return chosen


def cascade(
    request: ChatRequest | None, route: Route, on_small: Run, on_large: Run, large: str
) -> tuple[Run, bool]:
    """What the dispatcher's cascade does with the small model's recorded answer: keep it when its check
    passes (or nothing is checked), else the large model's answer at the cost of both."""
    check = answer_check(request, route.checked_task) if request is not None else None
    if check is None or large not in route.fallbacks or check(on_small.output) is None:
        return on_small, False
    seconds = on_small.seconds + on_large.seconds
    return Run(on_large.output, on_large.score, on_small.wh + on_large.wh, seconds), True


def report(args: argparse.Namespace, decision: dict[str, float], results: dict[str, Any] | None) -> None:
    """Print the tables and record them in docs/benchmarks.md."""
    when = datetime.now(UTC).strftime("%d %b %Y %H:%M UTC")
    lines = [
        "## Routing: the smallest adequate model\n",
        f"`rathaus bench routing {' '.join(sys.argv[1:])}` — {when}, {machine()}.\n",
        f"Router decision time over 2,000 requests: p50 {decision['p50']:.2f} ms, "
        f"p95 {decision['p95']:.2f} ms, max {decision['max']:.2f} ms (target p95 ≤ 15 ms).\n",
    ]
    if results is None:
        lines.append("The task-set comparison did not run in this invocation (`--overhead`).\n")
    else:
        tasks, strategies = results["tasks"], results["strategies"]
        kinds = [k for k in TYPES if any(t["type"] == k for t in tasks)]
        totals = {
            name: (
                statistics.mean(r.score for r in runs.values()),
                sum(r.wh for r in runs.values()),
            )
            for name, runs in strategies.items()
        }
        small, large = totals["smallest"], totals["largest"]
        counts = ", ".join(f"{sum(t['type'] == k for t in tasks)} {k}" for k in kinds)
        header = "| strategy | " + " | ".join(kinds) + " | quality | Wh | Wh vs largest | APGR |"
        lines += [
            f"{len(tasks)} tasks ({counts}); "
            f"the router sent {results['large_share']:.0%} to the large model.\n",
            header,
            "|" + "---|" * (header.count("|") - 1),
        ]
        for name, runs in strategies.items():
            per_kind = [statistics.mean(runs[t["id"]].score for t in tasks if t["type"] == k) for k in kinds]
            quality, wh = totals[name]
            lines.append(
                f"| {name} | "
                + " | ".join(f"{q:.2f}" for q in per_kind)
                + f" | {quality:.3f} | {wh:.2f} | {wh / large[1]:.0%}"
                + f" | {apgr(quality, wh, small, large):.2f} |"
            )
        router_q, router_wh = totals["router"]
        lines.append(
            f"\nRouter: {router_q / large[0]:.0%} of always-largest quality with "
            f"{router_wh / large[1]:.0%} of its energy (targets ≥ 95 % and ≤ 30 %); "
            "random router at the same large-call share: "
            f"{totals['random'][0] / large[0]:.0%} quality. The oracle, choosing with hindsight per task "
            "among the same runs (smallest, largest, tier 0) the least energy that keeps ≥ 95 %, needs "
            f"{totals['oracle'][1] / large[1]:.0%} of always-largest's energy at "
            f"{totals['oracle'][0] / large[0]:.0%} of its quality: "
            "no router choosing among these models can spend less.\n"
        )
    section = "\n".join(lines) + "\n"
    print(section)
    if args.docs != "-":
        write_docs(Path(args.docs), "routing", section)


if __name__ == "__main__":
    main()
