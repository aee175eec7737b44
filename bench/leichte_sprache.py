"""Leichte Sprache on real administrative paragraphs: how often the rewrite holds the rules.

The paragraphs are real texts: the first prose paragraph (30 to 120 words) of the City of Munich's service
descriptions and of Baden-Württemberg local statutes (bench/datasets/muenchen and bw-ortsrecht, built from
the corpora with scripts/build-real-datasets.py), the same number from each. Each is rewritten by each
model with the instructions the platform uses (text/leichte_sprache.py), and the rewrite is checked twice,
side by side: as the model wrote it ("model"), and as the platform shows it, after the rewriting rules of
text/restructure.py ("platform"):

* writing rules held (of four: sentence length, one statement, active voice, long words explained);
* the address form kept (never "Sie" and "du" in one text; the instructions ask for "Sie");
* not copied (at most half of the sentences word for word from the original);
* numbers kept (the share of the original's numbers, such as amounts, dates and periods, in the rewrite).

A rewrite passes when it holds at least three of the four writing rules, keeps the address form and is not
copied. The models are asked directly (no escalation), so each model's own result is seen.

Usage::

    rathaus bench leichte_sprache [--per-set 15] [--models qwen2.5-1.5b,qwen2.5-0.5b] [--docs -]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rathaus.identity.directory import create_tenant
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message, TextChunk
from rathaus.routing.checks import COPIED_MAX, SIMPLIFY_RULES_MIN
from rathaus.services import Services
from rathaus.text import leichte_sprache, restructure

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, percentile, temporary_services, write_docs

SETS = ("muenchen", "bw-ortsrecht")
VARIANTS = ("platform", "model")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
PROSE_START = re.compile(r"^[#\-*|>]")


@dataclass(frozen=True)
class Rewrite:
    """One paragraph rewritten by one model, checked as written ("model") or as shown ("platform")."""

    paragraph: str
    model: str
    checked: str
    rules_held: int
    address_kept: bool
    copied: float
    numbers_kept: float
    seconds: float

    @property
    def passed(self) -> bool:
        """At least three writing rules, one address form, not copied."""
        return self.rules_held >= SIMPLIFY_RULES_MIN and self.address_kept and self.copied <= COPIED_MAX


def paragraphs(per_set: int) -> list[tuple[str, str]]:
    """(id, text) of the first prose paragraph of 30 to 120 words of each document, `per_set` per set."""
    found = []
    for name in SETS:
        lines = Path(f"bench/datasets/{name}/corpus.jsonl").read_text(encoding="utf-8").splitlines()
        taken = 0
        for row in map(json.loads, lines):
            for number, part in enumerate(row["text"].split("\n\n")):
                part = " ".join(part.split())
                if not PROSE_START.match(part) and 30 <= len(part.split()) <= 120 and part.endswith("."):
                    found.append((f"{row['_id']}#{number}", part))
                    taken += 1
                    break
            if taken == per_set:
                break
    return found


def rewrite(
    services: Services, principal: Principal, model: str, system: str, text: str
) -> tuple[str, float]:
    """The model's rewrite of a text with the given instructions, and the seconds it took."""
    request = ChatRequest(
        messages=[Message(role="system", content=system), Message(role="user", content=text)],
        temperature=0.1,
        max_tokens=700,
    )
    profile = services.catalogue.get(model)
    started = time.perf_counter()
    items = services.gateway.chat(principal, profile, request, "bench.leichte_sprache")
    written = "".join(i.text for i in items if isinstance(i, TextChunk)).strip()
    return written, time.perf_counter() - started


def measure(
    paragraph_id: str, source: str, model: str, name: str, shown: str, written: str, seconds: float
) -> Rewrite:
    """The check of one rewrite: the rules and numbers on the text as shown, copying on the model's text
    (as the router's check does)."""
    report = leichte_sprache.check(shown)
    numbers = set(NUMBER.findall(source))
    kept = sum(n in shown for n in numbers) / len(numbers) if numbers else 1.0
    copied = leichte_sprache.copied_share(written, source)
    return Rewrite(
        paragraph_id,
        model,
        name,
        report.writing_rules_held,
        report.passed["address_form"],
        copied,
        kept,
        seconds,
    )


def run(per_set: int, models: list[str], keep: Path | None) -> list[Rewrite]:
    """Rewrite every paragraph with every model; check each rewrite as written and after the rules."""
    texts = paragraphs(per_set)
    system = leichte_sprache.instructions("sie")
    results = []
    kept = keep.open("w", encoding="utf-8") if keep is not None else None
    with temporary_services(models[0]) as services:
        with services.db.system_session() as session:
            tenant_id = create_tenant(session, "bench", "Bench").id
        principal = Principal(tenant_id=tenant_id, role=Role.builder)
        for paragraph_id, source in texts:
            for model in models:
                written, seconds = rewrite(services, principal, model, system, source)
                started = time.perf_counter()
                shown = restructure.tidy(written, source)
                rules = time.perf_counter() - started
                for name, text in (("platform", shown), ("model", written)):
                    result = measure(paragraph_id, source, model, name, text, written, seconds + rules)
                    results.append(result)
                    if kept is not None:
                        row = {**result.__dict__, "source": source, "written": text}
                        kept.write(json.dumps(row, ensure_ascii=False) + "\n")
                        kept.flush()
                    print(f"{paragraph_id} {model} {name}: {result}", file=sys.stderr)
    if kept is not None:
        kept.close()
    return results


def report(command: str, results: list[Rewrite], paragraphs_measured: int) -> str:
    """The section for docs/benchmarks.md."""
    when = datetime.now(UTC).strftime("%d %b %Y %H:%M UTC")
    lines = [
        "## Leichte Sprache on real administrative paragraphs\n",
        f"`{command}` — {when}, {machine()}.\n",
        f"{paragraphs_measured} real paragraphs (Munich service descriptions and Baden-Württemberg statutes, "
        "the first prose paragraph of 30–120 words of each document), rewritten by each model with the "
        "platform's instructions and checked twice: as the platform shows it (after the rewriting rules of "
        "text/restructure.py) and as the model wrote it. Passed: at least "
        f"{SIMPLIFY_RULES_MIN} of the 4 writing rules, one address form, at most {COPIED_MAX:.0%} of the "
        "sentences copied.\n",
        "| model | checked | passed | ≥ 3 writing rules | address kept | copied | numbers kept | "
        "seconds p50 / p95 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model in dict.fromkeys(r.model for r in results):
        for name in VARIANTS:
            group = [r for r in results if r.model == model and r.checked == name]
            if not group:
                continue
            count = len(group)
            passed = sum(r.passed for r in group)
            rules = sum(r.rules_held >= SIMPLIFY_RULES_MIN for r in group)
            address = sum(r.address_kept for r in group)
            copied = sum(r.copied > COPIED_MAX for r in group)
            numbers = sum(r.numbers_kept for r in group) / count
            seconds = [r.seconds for r in group]
            lines.append(
                f"| {model} | {name} | {passed}/{count} ({passed / count:.0%}) | {rules}/{count} | "
                f"{address}/{count} | {copied}/{count} | {numbers:.0%} | "
                f"{percentile(seconds, 0.5):.1f} / {percentile(seconds, 0.95):.1f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure and record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-set", type=int, default=15, help="paragraphs from each of the two sets")
    parser.add_argument("--models", default="qwen2.5-1.5b", help="chat models, comma-separated")
    parser.add_argument("--keep", type=Path, help="write every rewrite with its check to this JSONL file")
    parser.add_argument("--docs", default="docs/benchmarks.md", help="where to record; '-' to skip")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    results = run(args.per_set, models, args.keep)
    command = "rathaus bench leichte_sprache " + " ".join(sys.argv[1:])
    section = report(command.strip(), results, len({r.paragraph for r in results}))
    print(section)
    if args.docs != "-":
        write_docs(Path(args.docs), "leichte_sprache", section)


if __name__ == "__main__":
    main()
