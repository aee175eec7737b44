"""Changing a workflow document step by step, as the no-code editor does: add, move, remove, configure.

The editor works on the document's data before it is valid (a new step has settings still to fill in), so
these functions change plain data; saving checks the whole document as always.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args, get_origin

import yaml

from rathaus.workflows.steps import step_types
from rathaus.workflows.tables import Row, table_of

FieldKind = Literal["text", "textarea", "number", "boolean", "choice", "lines", "rows", "yaml"]
LONG_TEXT = ("text", "instructions", "facts", "body", "question", "when")


class EditError(ValueError):
    """The change cannot be made; the message says why, `code` and `values` say it for translation."""

    def __init__(self, message: str, code: str = "other", **values: str) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


@dataclass(frozen=True)
class SettingField:
    """One setting of a step type as a form field."""

    name: str
    kind: FieldKind
    required: bool
    description: str = ""
    choices: tuple[str, ...] = ()


def steps_of(data: Any) -> list[dict[str, Any]]:
    """The document's top-level step list (created when missing)."""
    if not isinstance(data, dict):
        raise EditError("the document must be a mapping (apiVersion, kind, metadata, spec)", "document")
    spec = data.setdefault("spec", {})
    if not isinstance(spec, dict):
        raise EditError("spec must be a mapping", "document")
    steps = spec.setdefault("steps", [])
    if not isinstance(steps, list):
        raise EditError("spec.steps must be a list", "document")
    return steps


def _locate(steps: list[Any], step_id: str) -> tuple[list[Any], int] | None:
    for index, step in enumerate(steps):
        if isinstance(step, dict):
            if step.get("id") == step_id:
                return steps, index
            for branch in ("then", "else"):
                inner = step.get(branch)
                if isinstance(inner, list):
                    found = _locate(inner, step_id)
                    if found is not None:
                        return found
    return None


def locate(data: Any, step_id: str) -> tuple[list[Any], int]:
    """The list holding the step and its place in it."""
    found = _locate(steps_of(data), step_id)
    if found is None:
        raise EditError(f"there is no step '{step_id}'", "no_step", step=step_id)
    return found


def move(data: Any, step_id: str, to: int) -> None:
    """Move a step to another place among its siblings (clamped to the list)."""
    siblings, index = locate(data, step_id)
    step = siblings.pop(index)
    siblings.insert(max(0, min(to, len(siblings))), step)


def remove(data: Any, step_id: str) -> None:
    """Remove a step (with its branch steps)."""
    siblings, index = locate(data, step_id)
    siblings.pop(index)


def walk_data(steps: list[Any]) -> list[dict[str, Any]]:
    """Every step of a document's (unchecked) step list in document order, branches after their
    condition."""
    found: list[dict[str, Any]] = []
    for step in steps:
        if isinstance(step, dict):
            found.append(step)
            for branch in ("then", "else"):
                if isinstance(step.get(branch), list):
                    found += walk_data(step[branch])
    return found


def _ids(steps: list[Any]) -> set[str]:
    found: set[str] = set()
    for step in steps:
        if isinstance(step, dict):
            found.add(str(step.get("id")))
            for branch in ("then", "else"):
                if isinstance(step.get(branch), list):
                    found |= _ids(step[branch])
    return found


def add(data: Any, step_type: str, into: str | None = None, branch: str = "then") -> str:
    """Append a step of the type (at the end, or into a condition's branch); returns its new id."""
    if step_type not in step_types():
        raise EditError(f"there is no step type '{step_type}'", "no_step_type", type=step_type)
    taken = _ids(steps_of(data))
    base = re.sub(r"[^a-z0-9_]", "_", step_type)
    number = 1
    while f"{base}_{number}" in taken:
        number += 1
    new_id = f"{base}_{number}"
    step: dict[str, Any] = {"id": new_id, "type": step_type, "with": {}}
    if into is None:
        steps_of(data).append(step)
    else:
        siblings, index = locate(data, into)
        condition = siblings[index]
        if condition.get("type") != "condition" or branch not in ("then", "else"):
            raise EditError(
                f"steps can only be added to the then or else branch of a condition, not '{into}'",
                "not_condition",
                step=str(into),
            )
        if not isinstance(condition.get(branch), list):
            condition[branch] = []
        condition[branch].append(step)
    return new_id


def fields_of(step_type: str) -> list[SettingField]:
    """The settings of a step type as form fields, in the order the type declares them."""
    kind = step_types().get(step_type)
    if kind is None:
        return []
    found = [_field(name, info) for name, info in kind.settings.model_fields.items()]
    return [replace(f, kind="rows") if table_of(step_type, f.name) else f for f in found]


def _field(name: str, info: Any) -> SettingField:
    key = info.alias or name
    annotation = info.annotation
    required = info.is_required()
    description = info.description or ""
    origin = get_origin(annotation)
    if origin is Literal:
        return SettingField(key, "choice", required, description, tuple(str(a) for a in get_args(annotation)))
    if annotation is bool:
        return SettingField(key, "boolean", required, description)
    if annotation in (int, float):
        return SettingField(key, "number", required, description)
    if annotation == list[str]:
        return SettingField(key, "lines", required, description)
    if annotation is str or annotation == (str | None):
        return SettingField(key, "textarea" if key in LONG_TEXT else "text", required, description)
    return SettingField(key, "yaml", required, description)


def configure(
    data: Any, step_id: str, values: dict[str, str | list[dict[str, str]]], title: str | None = None
) -> None:
    """Set a step's settings from form values: texts; one entry per line for lists of texts; the rows of
    a table (workflows/tables.py) for the lists and sections it shows; YAML for others. Empty ones are
    left out."""
    siblings, index = locate(data, step_id)
    step = siblings[index]
    if not isinstance(step, dict):
        raise EditError(f"the step '{step_id}' is not a mapping", "document")
    settings: dict[str, Any] = {}
    for field in fields_of(str(step.get("type"))):
        raw = values.get(field.name, "")
        if isinstance(raw, list):
            table = table_of(str(step.get("type")), field.name)
            value = table.from_rows(raw) if table is not None else None
            if value is not None:
                settings[field.name] = value
            continue
        if field.kind == "boolean":
            settings[field.name] = raw == "1"
            continue
        if not raw.strip():
            continue
        if field.kind == "lines":
            settings[field.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif field.kind == "number":
            try:
                settings[field.name] = float(raw) if "." in raw else int(raw)
            except ValueError:
                settings[field.name] = raw  # a template, or a mistake the check on saving names
        elif field.kind in ("yaml", "rows"):  # a table's value it cannot show comes as YAML
            try:
                settings[field.name] = yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise EditError(
                    f"{field.name}: not valid YAML ({getattr(exc, 'problem', exc)})",
                    "yaml",
                    setting=field.name,
                    type=str(step.get("type")),
                ) from None
        else:
            settings[field.name] = raw
    step["with"] = settings
    if title is not None:
        if title.strip():
            step["title"] = title.strip()
        else:
            step.pop("title", None)


def field_value(step: dict[str, Any], field: SettingField) -> str:
    """A setting's current value as the form shows it."""
    settings = step.get("with")
    value = settings.get(field.name) if isinstance(settings, dict) else None
    if value is None:
        return ""
    if field.kind in ("yaml", "rows"):
        return yaml.safe_dump(value, allow_unicode=True, sort_keys=False).strip()
    if field.kind == "boolean":
        return "1" if value else ""
    if field.kind == "lines":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return str(value)


def field_rows(step: dict[str, Any], field: SettingField) -> list[Row] | None:
    """A table setting's current value as rows; None when its table cannot show the value exactly — rows
    made back into a value must give the same value (else it is edited as YAML)."""
    table = table_of(str(step.get("type")), field.name)
    settings = step.get("with")
    value = settings.get(field.name) if isinstance(settings, dict) else None
    rows = table.to_rows(value) if table is not None else None
    if table is None or rows is None or (value is not None and table.from_rows(rows) != value):
        return None  # rows would change the value (a type, a rule they do not show): YAML keeps it
    return rows
