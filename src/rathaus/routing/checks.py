"""Checks of an answer that decide whether a cascade escalates to a larger model.

Each check returns why the answer falls short, or None when it passes: JSON-schema answers are validated
against their schema; texts in Leichte Sprache must keep one address form, hold most of the writing rules
and not copy the original (text/leichte_sprache.py).
A failed check sends the request to the next larger eligible model; the router never starts a checked task
below its minimum tier (starting simplifications on the 0.5B model cost more than it saved: it held the
rules in 1 of 10 texts, docs/decisions/0010).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, UnknownType

from rathaus.llm.backend import ChatRequest
from rathaus.text import leichte_sprache, restructure

Check = Callable[[str], str | None]
SIMPLIFY_RULES_MIN = 3  # of the four Leichte-Sprache writing rules, the ones a simplified text must hold
COPIED_MAX = 0.5  # a larger share of sentences copied from the original is no simplification


@functools.lru_cache(maxsize=256)
def _validator(schema: str) -> Draft202012Validator | None:
    """A checked validator for a schema (by its JSON text); None when the schema itself is unusable."""
    try:
        parsed = json.loads(schema)
        Draft202012Validator.check_schema(parsed)
    except SchemaError:
        return None
    return Draft202012Validator(parsed)


def schema_problem(text: str, schema: dict[str, Any]) -> str | None:
    """Why the answer does not satisfy the JSON schema (not JSON, or a rule it breaks); None when it does.

    A schema that is itself unusable is not held against the answer.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg} at character {exc.pos})"
    validator = _validator(json.dumps(schema, sort_keys=True))
    if validator is None:
        return None
    try:
        error = next(iter(validator.iter_errors(value)), None)
    except UnknownType:
        return None
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "the answer"
    return f"{where}: {error.message}"[:300]


def simplify_problem(text: str, source: str = "") -> str | None:
    """Why a text is not Leichte Sprache enough (mixed address forms, under SIMPLIFY_RULES_MIN writing rules
    held, or mostly copied from `source`, the original); None when it is. The rules are checked on the text
    as it will be shown (after text/restructure.py); copying on the model's own text, which the
    restructuring would hide."""
    if not text.strip():
        return "empty answer"
    report = leichte_sprache.check(restructure.tidy(text, source))  # the rules as the text will be shown
    if not report.passed["address_form"]:
        return "Leichte Sprache: the reader is addressed both with Sie and du"
    if report.writing_rules_held < SIMPLIFY_RULES_MIN:
        failed = [rule for rule in leichte_sprache.WRITING_RULES if not report.passed[rule]]
        return "Leichte Sprache rules not held: " + ", ".join(failed)
    if leichte_sprache.copied_share(text, source) > COPIED_MAX:
        return "Leichte Sprache: most sentences are copied from the original"
    return None


TASK_CHECKS: dict[str, Callable[[str, str], str | None]] = {"simplify": simplify_problem}


def answer_check(request: ChatRequest, task: str | None) -> Check | None:
    """The check for a request's answer: its JSON schema, else its task's check (given the request's last
    user message as the original); None when none applies."""
    schema = request.json_schema
    if schema is not None:
        return lambda text: schema_problem(text, schema)
    check = TASK_CHECKS.get(task) if task else None
    if check is None:
        return None
    source = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    return lambda text: check(text, source)
