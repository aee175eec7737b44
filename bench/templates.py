"""The shipped workflow templates on realistic inputs: do they do the job with the bundled model?

Each template runs as a test run (nothing is sent, nobody is asked) on the inputs in
bench/datasets/templates/ (messages and defect reports written for this benchmark; all invented) and, for
the Leichte-Sprache template, on real paragraphs (the first of bench/leichte_sprache.py). Scored
automatically:

* Bürgeranfrage — the department (classify) is the expected one; the extraction is German and about the
  message, names the person and the period where the message gives them (and no period where it gives
  none); the letter put up for approval is usable: German, addresses the person with "Sie", names the
  expected department and no other, has a greeting and a closing, no placeholder ("[Name]", "XXX"), does
  not speak as the office in the first person ("ich bin das Ordnungsamt"), names at most one thing the
  message does not, and has 25 to 250 words.
* Mängelmeldung — category and urgency are the expected ones.
* Leichte Sprache — the summary is German; the text in Leichte Sprache is German and passes the rule check
  (at least three of the four writing rules, one address form, not copied).

Usage::

    rathaus bench templates [--cases 12] [--template buergeranfrage] [--model qwen2.5-1.5b] [--docs -]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from rathaus.identity.directory import create_tenant
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.routing.checks import COPIED_MAX, SIMPLIFY_RULES_MIN
from rathaus.services import Services
from rathaus.text import leichte_sprache
from rathaus.workflows import registry
from rathaus.workflows.models import StepRun
from rathaus.workflows.templates import templates

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, percentile, temporary_services, write_docs
from leichte_sprache import paragraphs

DATASETS = Path("bench/datasets/templates")
GERMAN = frozenset(
    re.findall(
        r"\S+",
        """der die das und ist nicht sie wir mit für auf ein eine zu von im den dem des bitte ihre ihr wird
        werden sind haben wurde bei sich auch noch nach können kann müssen muss""",
    )
)
ENGLISH = frozenset(
    re.findall(
        r"\S+", "the and is are to of for with you your we please this that will be it on at by has have"
    )
)
PLACEHOLDER = re.compile(r"\[[^\]]{2,40}\]|\bX{3,}\b|<[A-Za-zÄÖÜäöü ]{2,30}>|\bIhr Name\b")
OFFICE_AS_I = re.compile(r"\bich bin (der|die|das)\b", re.IGNORECASE)
GREETING = re.compile(r"\b(Sehr geehrte|Guten Tag|Hallo|Liebe|Lieber|Grüß Gott)\b")
CLOSING = re.compile(r"\b(Grüße|Grüßen|Gruß)\b")


def german(text: str) -> bool:
    """Whether a text is German (German function words outnumber English ones three to one)."""
    words = [w.lower() for w in re.findall(r"[A-Za-zÄÖÜäöüß]+", text)]
    de, en = sum(w in GERMAN for w in words), sum(w in ENGLISH for w in words)
    return de >= 1 and de >= 3 * en


def _stems(text: str) -> set[str]:
    """The first five letters of each word of five letters or more (a rough stem)."""
    return {w.lower()[:5] for w in re.findall(r"[A-Za-zÄÖÜäöüß]{5,}", text)}


LETTER = _stems("Guten Tag Vielen Dank für Ihre Nachricht Anfrage Anliegen zuständig weitergegeben meldet "
                "kümmert Stadtverwaltung freundlichen Grüßen bearbeitet Bürgerin Bürger")  # fmt: skip


def invented(text: str, known: str) -> list[str]:
    """Nouns of a draft that nothing it was given mentions (a likely invented fact)."""
    nouns = re.findall(r"(?<=[a-zäöüß,] )[A-ZÄÖÜ][a-zäöüß]{5,}", text)
    return [n for n in nouns if n.lower()[:5] not in LETTER and n.lower()[:5] not in known.lower()]


DEPARTMENTS = ("Bürgerbüro", "Ordnungsamt", "Bauamt", "Standesamt", "Straßen und Grünflächen")


def usable_draft(text: str, department: str, message: str = "") -> list[str]:
    """Why a draft reply is not usable as it stands (empty when it is)."""
    problems = []
    if any(other in text for other in DEPARTMENTS if other != department):
        problems.append("names another department")
    if message and len(invented(text, f"{message} {department}")) >= 2:
        problems.append("names things the message does not")
    if not german(text):
        problems.append("not German")
    if "du" in leichte_sprache.address_forms(text):
        problems.append("du")
    if department.lower() not in text.lower():
        problems.append("department not named")
    if not GREETING.search(text) or not CLOSING.search(text):
        problems.append("greeting or closing missing")
    if PLACEHOLDER.search(text):
        problems.append("placeholder")
    if OFFICE_AS_I.search(text):
        problems.append("speaks as the office")
    if not 25 <= len(text.split()) <= 250:
        problems.append(f"{len(text.split())} words")
    return problems


@dataclass
class Case:
    """One input through one template: what was expected, what came out, and the verdicts."""

    template: str
    case: str
    seconds: float
    status: str
    checks: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)


def _outputs(services: Services, tenant_id: str, run_id: str) -> dict[str, Any]:
    with services.db.session(tenant_id, read_only=True) as session:
        steps = session.scalars(select(StepRun).where(StepRun.run_id == run_id)).all()
        return {s.step_id: s.output for s in steps}


def score(template: str, task: dict[str, Any], out: dict[str, Any]) -> tuple[dict[str, bool], list[str]]:
    """The checks of one case and the problems found."""
    problems: list[str] = []
    if template == "buergeranfrage":
        label = (out.get("abteilung") or {}).get("label")
        found = out.get("anliegen") or {}
        draft = (out.get("brief") or out.get("entwurf") or {}).get("text") or ""  # the letter as approved
        said, expected = (found.get("name") or "").strip().lower(), (task["name"] or "").lower()
        name_ok = bool(said) and (said in expected or expected in said) if expected else not said
        period = found.get("frist") or ""
        period_ok = (task["frist"] or "").lower() in period.lower() if task["frist"] else not period
        draft_problems = usable_draft(draft, task["department"], task["input"]["nachricht"])
        problems += [f"draft: {p}" for p in draft_problems]
        checks = {
            "department": label == task["department"],
            "extraction German": german(found.get("anliegen") or "")
            and bool(_stems(found.get("anliegen") or "") & _stems(task["input"]["nachricht"])),
            "name": name_ok,
            "period": period_ok,
            "draft usable": not draft_problems,
        }
    elif template == "maengelmeldung":
        checks = {
            "category": (out.get("kategorie") or {}).get("label") == task["category"],
            "urgency": (out.get("dringlichkeit") or {}).get("label") == task["urgency"],
        }
    else:
        summary = (out.get("zusammenfassung") or {}).get("text") or ""
        easy = (out.get("leicht") or {}).get("text") or ""
        report = leichte_sprache.check(easy)
        copied = leichte_sprache.copied_share(easy, summary)
        checks = {
            "summary German": german(summary),
            "German": german(easy),
            "rules held": report.writing_rules_held >= SIMPLIFY_RULES_MIN
            and report.passed["address_form"]
            and copied <= COPIED_MAX,
        }
        problems += [f"{f.rule}: {f.detail}" for f in report.findings[:5]]
    problems += [f"{name} wrong" for name, ok in checks.items() if not ok]
    return checks, problems


def tasks(template: str, cases: int) -> list[dict[str, Any]]:
    """The inputs of a template's cases, with what is expected."""
    if template == "leichte-sprache":
        return [{"id": pid, "input": {"text": text}} for pid, text in paragraphs(cases)[:cases]]
    lines = (DATASETS / f"{template}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()][:cases]


def run(names: list[str], cases: int, model: str, keep: Path | None) -> list[Case]:
    """Every case of every template, as a test run."""
    results = []
    kept = keep.open("w", encoding="utf-8") if keep is not None else None
    with temporary_services(model) as services:
        services.settings.workflow_http_hosts = ["fachverfahren.stadt.example"]
        with services.db.system_session() as session:
            tenant_id = create_tenant(session, "bench", "Bench").id
        principal = Principal(tenant_id=tenant_id, role=Role.builder)
        for name in names:
            with services.db.session(tenant_id) as session:
                registry.save(session, principal, templates()[name], services.catalogue)
            for task in tasks(name, cases):
                started = time.perf_counter()
                run_id = services.workflows.start(principal, name, task["input"], test=True).id
                status = services.workflows.run_here(run_id, 1800)
                out = _outputs(services, tenant_id, run_id)
                checks, problems = score(name, task, out)
                case = Case(name, task["id"], time.perf_counter() - started, status, checks, problems, out)
                results.append(case)
                print(f"{name} {task['id']}: {status} {checks} {problems}", file=sys.stderr)
                if kept is not None:
                    kept.write(json.dumps(case.__dict__, ensure_ascii=False, default=str) + "\n")
                    kept.flush()
    if kept is not None:
        kept.close()
    return results


def report(command: str, results: list[Case], model: str) -> str:
    """The section for docs/benchmarks.md."""
    when = datetime.now(UTC).strftime("%d %b %Y %H:%M UTC")
    lines = [
        "## Workflow templates on realistic inputs\n",
        f"`{command}` — {when}, {machine()}, routed with `{model}` as the default model.\n",
        "Each case is a test run of the shipped template (nothing sent, nobody asked); the checks are "
        "described in bench/templates.py.\n",
        "| template | cases | completed | check: right | seconds p50 / p95 |",
        "|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(r.template for r in results):
        group = [r for r in results if r.template == name]
        done = sum(r.status == "succeeded" for r in group)
        checks = dict.fromkeys(c for r in group for c in r.checks)
        shown = "; ".join(f"{c}: {sum(r.checks.get(c, False) for r in group)}/{len(group)}" for c in checks)
        seconds = [r.seconds for r in group]
        lines.append(
            f"| {name} | {len(group)} | {done} | {shown} | "
            f"{percentile(seconds, 0.5):.0f} / {percentile(seconds, 0.95):.0f} |"
        )
    problems: dict[str, int] = {}
    for r in results:
        for p in r.problems:
            key = f"{r.template}: {re.sub(r'[0-9]+ words', 'length', p)}"
            problems[key] = problems.get(key, 0) + 1
    lines.append(
        "\nMost frequent problems: "
        + "; ".join(f"{k} ({n})" for k, n in sorted(problems.items(), key=lambda x: -x[1])[:10])
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure and record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--template", action="append", help="a template (repeat); default: all three")
    parser.add_argument("--cases", type=int, default=12, help="cases per template (at most those written)")
    parser.add_argument("--model", default="qwen2.5-1.5b", help="the default chat model")
    parser.add_argument("--keep", type=Path, help="write every case with its outputs to this JSONL file")
    parser.add_argument("--docs", default="docs/benchmarks.md", help="where to record; '-' to skip")
    args = parser.parse_args()
    names = args.template or ["buergeranfrage", "maengelmeldung", "leichte-sprache"]
    results = run(names, args.cases, args.model, args.keep)
    section = report(("rathaus bench templates " + " ".join(sys.argv[1:])).strip(), results, args.model)
    print(section)
    if args.docs != "-":
        write_docs(Path(args.docs), "templates", section)


if __name__ == "__main__":
    main()
