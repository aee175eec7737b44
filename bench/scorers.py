"""Automatic scorers for the routing task set (bench/datasets/tasks): each answer scores 0 to 1.

classify: the label, exact. extract: the share of fields right (exact after normalising case and spaces;
free-text fields when they share at least a third of their content words). qa: the share of key facts the
answer contains; for questions the pages cannot answer, 1 for the "not found" answer. simplify: half for
the Leichte-Sprache rules that hold, half for the key facts kept. summarize: the share of key facts kept,
halved when the summary is over its word limit by more than a fifth.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rathaus.knowledge.german import terms
from rathaus.text.leichte_sprache import RULES, check

SPACES = re.compile(r"\s+")
WORDS = re.compile(r"\w+", re.UNICODE)


AMOUNT_VARIANTS = ((re.compile(r",00\b"), ""), (re.compile(r"€"), " euro"), (re.compile(r":00 uhr"), " uhr"))


def normal(text: object) -> str:
    """Lowercase, single spaces, no surrounding punctuation; "96,00 €" and "96 Euro" read alike."""
    lowered = str(text).lower()
    for pattern, replacement in AMOUNT_VARIANTS:
        lowered = pattern.sub(replacement, lowered)
    return SPACES.sub(" ", lowered).strip().strip(".,;:!?\"'")


def _json(output: str) -> Any:
    text = output.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        return json.loads(text)
    except ValueError:
        return None


def classify(task: dict[str, Any], output: str) -> float:
    """1 when the answer names the reference label (as JSON with one field, or as plain text)."""
    parsed = _json(output)
    if isinstance(parsed, dict) and len(parsed) == 1:
        parsed = next(iter(parsed.values()))
    answer = parsed if isinstance(parsed, str) else output
    return float(normal(answer) == normal(task["reference"]))


def _similar(answer: object, reference: object) -> bool:
    wanted, given = set(terms(str(reference))), set(terms(str(answer)))
    return bool(wanted) and len(wanted & given) / len(wanted) >= 1 / 3


def extract(task: dict[str, Any], output: str) -> float:
    """The share of the reference's fields the answer gets right."""
    parsed = _json(output)
    reference: dict[str, Any] = task["reference"]
    if not isinstance(parsed, dict):
        return 0.0
    loose = set(task.get("free_text_fields", []))
    right = 0
    for name, expected in reference.items():
        given = parsed.get(name)
        if expected is None or isinstance(expected, bool | int | float):
            right += given == expected
        elif name in loose:
            right += given is not None and _similar(given, expected)
        else:
            right += given is not None and normal(given) == normal(expected)
    return right / len(reference) if reference else 1.0


def facts_kept(facts: list[str], output: str) -> float:
    """The share of facts the text contains (case and spacing ignored)."""
    if not facts:
        return 1.0
    text = normal(output)
    return sum(normal(f) in text for f in facts) / len(facts)


def qa(task: dict[str, Any], output: str, not_found: str) -> float:
    """Key facts contained; for unanswerable questions, whether the answer says it found nothing."""
    said_not_found = normal(not_found)[:40] in normal(output)
    if task.get("answerable", True) is False:
        return float(said_not_found)
    return 0.0 if said_not_found else facts_kept(task["key_facts"], output)


def simplify(task: dict[str, Any], output: str) -> float:
    """Half the Leichte-Sprache rules held, half the key facts kept."""
    if not output.strip():
        return 0.0
    held = sum(check(output).passed.values()) / len(RULES)
    return 0.5 * held + 0.5 * facts_kept(task["key_facts"], output)


def summarize(task: dict[str, Any], output: str) -> float:
    """Key facts kept, halved when far over the word limit."""
    score = facts_kept(task["key_facts"], output)
    words = len(WORDS.findall(output))
    return score / 2 if words > task.get("max_words", 80) * 1.2 else score


def score(task: dict[str, Any], output: str, not_found: str = "") -> float:
    """The score of one answer to one task."""
    kind = task["type"]
    if kind == "qa":
        return qa(task, output, not_found)
    scorer = {"classify": classify, "extract": extract, "simplify": simplify, "summarize": summarize}[kind]
    return float(scorer(task, output))
