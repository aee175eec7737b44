"""The builder's form and the Assistant document: one mapping, used by the page, its YAML tab and the preview.

The form edits the fields a person without IT background needs (knowledge collections are ticked in a
list); everything else in the document (licence, publisher, …) travels unchanged in a hidden copy of the
document, so switching between form and YAML never loses a field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from rathaus.assistants.spec import AssistantSpec
from rathaus.formats.documents import DocumentError, Problem, dump_data, validate_data

# form field → where it lives in the document
FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("metadata", "name"),
    "title": ("metadata", "title"),
    "description": ("metadata", "description"),
    "instructions": ("spec", "instructions"),
    "starters": ("spec", "starters"),
    "knowledge": ("spec", "knowledge"),
    "task": ("spec", "task"),
    "model_mode": ("spec", "model", "mode"),
    "model_tier": ("spec", "model", "tier"),
    "model_profile": ("spec", "model", "profile"),
    "creativity": ("spec", "creativity"),
    "output_format": ("spec", "output", "format"),
    "output_schema": ("spec", "output", "schema"),
    "visibility": ("spec", "visibility"),
    "data_class": ("spec", "data_class"),
}
# fields of several values: one per line (starters typed in a text area, knowledge ticked in a list)
LIST_FIELDS = ("starters", "knowledge")
# a problem reported for a whole group belongs to the field that decides it
GROUP_FIELDS = {("spec", "model"): "model_mode", ("spec", "output"): "output_format"}
EMPTY_DOCUMENT: dict[str, Any] = {"apiVersion": "rathaus/v1", "kind": "Assistant", "metadata": {}, "spec": {}}


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = document
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def _get(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = document
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def base_document(hidden: str | None) -> dict[str, Any]:
    """The document carried in the form's hidden field, or an empty one if it is missing or broken."""
    try:
        data = json.loads(hidden or "")
    except (json.JSONDecodeError, TypeError):
        data = None
    return data if isinstance(data, dict) else copy.deepcopy(EMPTY_DOCUMENT)


def document_from_form(form: Mapping[str, str], base: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Lay the form's fields over the base document; problems for fields that cannot be read."""
    document = copy.deepcopy(base)
    problems: list[Problem] = []
    for field, path in FIELDS.items():
        if field not in form:
            continue
        raw = form[field].replace("\r\n", "\n")
        value: Any = raw.strip() if field not in ("instructions",) else raw
        if field in LIST_FIELDS:
            value = [line.strip() for line in raw.split("\n") if line.strip()]
        elif field == "model_tier":
            value = int(value) if value.isdigit() else None
        elif field in ("model_profile", "description") and not value:
            value = None if field == "model_profile" else ""
        elif field == "output_schema":
            value = _schema(value, problems)
        _set(document, path, value)
    mode = _get(document, ("spec", "model", "mode"))
    if mode != "tier":
        _set(document, ("spec", "model", "tier"), None)
    if mode != "profile":
        _set(document, ("spec", "model", "profile"), None)
    if _get(document, ("spec", "output", "format")) != "json":
        _set(document, ("spec", "output", "schema"), None)
    return document, problems


def _schema(text: str, problems: list[Problem]) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(
            Problem("spec.output.schema", f"not valid JSON: {exc.msg} (line {exc.lineno})", code="json")
        )
        return None


def form_from_document(document: Mapping[str, Any]) -> dict[str, str]:
    """The form's field values for a document (tolerant of wrong types, which the checks report)."""
    values: dict[str, str] = {}
    for field, path in FIELDS.items():
        value = _get(document, path)
        if value is None:
            values[field] = ""
        elif field in LIST_FIELDS and isinstance(value, list):
            values[field] = "\n".join(str(v) for v in value)
        elif field == "output_schema":
            values[field] = json.dumps(value, ensure_ascii=False, indent=2)
        else:
            values[field] = str(value)
    return values


def field_of(problem: Problem) -> str | None:
    """The form field a problem belongs to, if the form shows that part of the document."""
    parts = tuple(problem.path.split(".")) if problem.path else ()
    best: tuple[int, str | None] = (0, None)
    candidates = [*((p, f) for f, p in FIELDS.items()), *GROUP_FIELDS.items()]
    for path, field in candidates:
        if parts[: len(path)] == path and len(path) > best[0]:
            best = (len(path), field)
    return best[1]


def check(document: dict[str, Any]) -> tuple[AssistantSpec | None, list[Problem]]:
    """Validate a document; the spec when valid, else every problem."""
    try:
        return validate_data(AssistantSpec, document), []
    except DocumentError as exc:
        return None, exc.problems


def to_yaml(document: Mapping[str, Any]) -> str:
    """The document as YAML in its natural order, valid or not (the YAML tab shows work in progress)."""
    return dump_data(dict(document))
