"""Values from the run's input and from earlier steps, as staff read them: «Eingabe: Nachricht»,
«Zuständiges Amt bestimmen: Zuordnung».

In the document a step's settings refer to other values with templates (`{{ input.nachricht }}`,
`{{ steps.abteilung.output.label }}`). The editor shows every plain reference as its readable name in
«…», offers the values a step may use in a menu, and turns the names back into templates when the step's
settings are taken over. Anything more than a plain reference (a filter, a condition) stays as written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rathaus.workflows.steps import step_types

PLAIN = re.compile(r"\{\{\s*((?:input|steps\.[a-z][a-z0-9_]*\.output)(?:\.[A-Za-z_][\w]*)?)\s*\}\}")
NAMED = re.compile(r"«([^«»\n]{1,200})»")
OUTPUT = re.compile(r"^steps\.([a-z][a-z0-9_]*)\.output(?:\.([A-Za-z_]\w*))?$")
IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")  # keys a plain reference can name
NAME_CHARS = 80  # a longer name (an extraction's description, say) is cut


@dataclass(frozen=True)
class Reference:
    """A value a setting may use: its expression and its readable name."""

    expression: str  # "input.nachricht", "steps.abteilung.output.label"
    name: str  # "Eingabe: Nachricht", "Zuständiges Amt bestimmen: Zuordnung"

    @property
    def token(self) -> str:
        """How it appears in a form field."""
        return f"«{self.name}»"


def _walk(steps: Any) -> Iterator[dict[str, Any]]:
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            yield step
            yield from _walk(step.get("then"))
            yield from _walk(step.get("else"))


def _before(steps: Any, target: str) -> list[dict[str, Any]] | None:
    """The steps that have run whenever `target` runs: the earlier steps of its own list and of every list
    around it, and the conditions it lies in (not the steps of a branch it is not in); None when `target`
    is not among the steps."""
    passed: list[dict[str, Any]] = []
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        if step.get("id") == target:
            return passed
        for branch in ("then", "else"):
            inner = _before(step.get(branch), target)
            if inner is not None:
                return [*passed, step, *inner]
        passed.append(step)
    return None


def _clean(name: str) -> str:
    """A name as a form shows it: one line, no guillemets, not too long."""
    text = " ".join(name.replace("«", "„").replace("»", "“").split())
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1].rstrip() + "…"


class References:
    """The readable names of a document's values. `value_name(step_type, key)` names a step type's own
    output values in the interface's language; `words` holds "input" (the input's name) and "result" (a
    whole output)."""

    def __init__(self, data: Any, value_name: Callable[[str, str], str], words: dict[str, str]) -> None:
        spec = data.get("spec") if isinstance(data, dict) else None
        spec = spec if isinstance(spec, dict) else {}
        self._spec_steps = spec.get("steps")
        self._steps = list(_walk(self._spec_steps))
        schema = spec.get("input")
        properties = schema.get("properties") if isinstance(schema, dict) else None
        self._input = properties if isinstance(properties, dict) else {}
        self._value_name = value_name
        self._words = words
        titles = [str(s.get("title") or s.get("id")) for s in self._steps]
        self._titles = {
            str(s.get("id")): title if titles.count(title) == 1 else f"{title} ({s.get('id')})"
            for s, title in zip(self._steps, titles, strict=True)
        }

    def _input_references(self) -> list[Reference]:
        found = []
        for key, prop in self._input.items():
            if not IDENTIFIER.match(str(key)):
                continue  # not nameable in a plain reference: written by hand where needed
            title = prop.get("title") if isinstance(prop, dict) else None
            label = str(title) if title else str(key).replace("_", " ").capitalize()
            found.append(Reference(f"input.{key}", f"{self._words['input']}: {label}"))
        return found

    def _step_references(self, step: dict[str, Any]) -> list[Reference]:
        step_id, step_type = str(step.get("id")), str(step.get("type"))
        kind = step_types().get(step_type)
        raw = step.get("with")
        settings: dict[str, Any] = raw if isinstance(raw, dict) else {}
        values = kind.output_values(settings) if kind is not None else []
        title = self._titles.get(step_id, step_id)
        return [
            Reference(f"steps.{step_id}.output.{key}", f"{title}: {name or self._value_name(step_type, key)}")
            for key, name in values
            if IDENTIFIER.match(key)
        ]

    @functools.cached_property
    def _all(self) -> list[Reference]:
        """Every value of the document with a name of its own: cleaned, and told apart by its key where
        two would read the same."""
        found = self._input_references()
        for step in self._steps:
            found += self._step_references(step)
        cleaned = [Reference(r.expression, _clean(r.name)) for r in found]
        names = [r.name for r in cleaned]
        return [
            r
            if names.count(r.name) == 1
            else Reference(r.expression, _clean(f"{r.name} ({r.expression.rsplit('.', 1)[-1]})"))
            for r in cleaned
        ]

    def available(self, before: str | None = None) -> list[Reference]:
        """The input's values, then those of every step that has run whenever the step `before` runs
        (all steps when None)."""
        if before is None:
            return self._all
        passed = _before(self._spec_steps, before)
        ids = {f"steps.{s.get('id')}." for s in passed or []}
        return [
            r
            for r in self._all
            if r.expression.startswith("input.") or any(r.expression.startswith(i) for i in ids)
        ]

    def _named(self, expression: str) -> Reference:
        """Any plain reference's name, also of a value the steps do not declare."""
        known = self._by_expression
        if expression in known:
            return known[expression]
        if expression.startswith("input."):
            return Reference(
                expression, _clean(f"{self._words['input']}: {expression.removeprefix('input.')}")
            )
        match = OUTPUT.match(expression)
        step_id, key = (match.group(1), match.group(2)) if match else (expression, None)
        title = self._titles.get(step_id, step_id)
        return Reference(expression, _clean(f"{title}: {key or self._words['result']}"))

    @functools.cached_property
    def _by_expression(self) -> dict[str, Reference]:
        return {r.expression: r for r in self._all}

    def name_of(self, expression: str) -> str:
        """The readable name of a plain reference (`input.nachricht` → "Eingabe: Nachricht")."""
        return self._named(expression).name

    def readable(self, text: str) -> str:
        """The text with each plain reference written as its name in «…»."""
        return PLAIN.sub(lambda m: self._named(m.group(1)).token, text)

    def used(self, text: str) -> list[Reference]:
        """The plain references a text (with templates) uses, each once, in order."""
        seen: dict[str, Reference] = {}
        for match in PLAIN.finditer(text):
            seen.setdefault(match.group(1), self._named(match.group(1)))
        return list(seen.values())

    def templated(self, text: str, also: str = "") -> str:
        """The text with each known name in «…» written as a template again. Names come from the values
        the document offers and from the plain references in `also` (the setting as it was); any other
        «…» stays as it is."""
        names = {r.name: r.expression for r in self._all}
        names.update({r.name: r.expression for r in self.used(also)})

        def back(match: re.Match[str]) -> str:
            expression = names.get(match.group(1).strip())
            return f"{{{{ {expression} }}}}" if expression else match.group(0)

        return NAMED.sub(back, text)
