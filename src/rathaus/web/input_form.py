"""The form that starts a workflow, made from its input schema: a field per property, no JSON to type.

Texts become text fields (long ones a text area), e-mail addresses and dates get their own input types, a
list of allowed values a choice, yes/no a checkbox, numbers a number field, a list of texts one line per
entry. Only what the form cannot show (nested sections, lists of sections) is entered as JSON, in its own
field. The values come back typed, so the schema check of the run sees what the schema asks for; what it
refuses is shown at the field concerned, in the page's language.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rathaus.text.numbers import german_number

Kind = Literal[
    "text",
    "textarea",
    "email",
    "date",
    "datetime",
    "number",
    "integer",
    "checkbox",
    "choice",
    "lines",
    "json",
]
SHORT_TEXT = 200  # a text allowed to be longer gets a text area
PREFIX = "in."  # form fields of the input are named in.<property>
WHOLE = ""  # the field of a schema without properties: the whole input, as JSON
EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


@dataclass(frozen=True)
class InputField:
    """One property of the input as a form field."""

    name: str
    label: str
    hint: str
    kind: Kind
    required: bool
    choices: tuple[str, ...] = ()

    @property
    def options(self) -> list[tuple[str, str]]:
        """A choice's options as (value, label), with an empty one when the field may stay empty."""
        return ([] if self.required else [("", "—")]) + [(c, c) for c in self.choices]

    @property
    def form_name(self) -> str:
        """The field's name in the form."""
        return f"{PREFIX}{self.name}"


def _kind(prop: Mapping[str, Any]) -> Kind:
    kind = prop.get("type")
    if isinstance(kind, list):  # ["string", "null"]: the value may be left out
        kind = next((k for k in kind if k != "null"), "string")
    if isinstance(prop.get("enum"), list) and all(isinstance(v, str) for v in prop["enum"]):
        return "choice"
    if kind == "string":
        fmt = prop.get("format")
        if fmt in ("email", "idn-email"):
            return "email"
        if fmt == "date":
            return "date"
        if fmt == "date-time":
            return "datetime"
        long = not isinstance(prop.get("maxLength"), int) or prop["maxLength"] > SHORT_TEXT
        return "textarea" if long else "text"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "integer" if kind == "integer" else "number"
    items = prop.get("items")
    if kind == "array" and isinstance(items, Mapping) and items.get("type") == "string":
        return "lines"
    return "json"


def label_of(name: str, prop: Mapping[str, Any]) -> str:
    """The property's `title`, else its name made readable ("e_mail" → "E mail")."""
    title = prop.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    words = name.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else name


def fields(schema: Mapping[str, Any]) -> list[InputField]:
    """The form's fields, in the schema's order of properties."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return [InputField(WHOLE, "", "", "json", False)]  # nothing to make fields from: the input as JSON
    required = set(schema.get("required") or [])
    found = []
    for name, prop in properties.items():
        if not isinstance(prop, Mapping):
            continue
        described = prop.get("description")
        hint = described if isinstance(described, str) else ""
        choices = tuple(str(v) for v in prop.get("enum") or []) if _kind(prop) == "choice" else ()
        found.append(
            InputField(str(name), label_of(str(name), prop), hint, _kind(prop), name in required, choices)
        )
    return found


class FieldError(ValueError):
    """A value the form cannot turn into what its field asks for; `key` names the message."""

    def __init__(self, field: str, key: str) -> None:
        super().__init__(key)
        self.field = field
        self.key = key


@dataclass(frozen=True)
class Filled:
    """The form as sent: the input typed as the schema asks, the text of every field (to show the form
    again), and the fields whose text cannot be typed (their message keys)."""

    data: dict[str, Any]
    texts: dict[str, str]
    errors: dict[str, str]


def values(schema: Mapping[str, Any], form: Mapping[str, Any]) -> Filled:
    """The input from the form's fields. Empty fields are left out, so the schema's "required" names
    them; a number, an e-mail address or a JSON value that does not parse is an error of its field."""
    data: dict[str, Any] = {}
    texts: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in fields(schema):
        value = form.get(field.form_name)
        text = value if isinstance(value, str) else ""
        texts[field.name] = text
        if field.name == WHOLE:
            try:
                whole = json.loads(text) if text.strip() else {}
            except (ValueError, RecursionError):
                errors[WHOLE] = "json"
                continue
            if isinstance(whole, dict):
                data.update(whole)
            else:
                errors[WHOLE] = "object"
            continue
        if field.kind == "checkbox":
            data[field.name] = text == "1"
            continue
        text = text.replace("\r\n", "\n")
        if not text.strip():
            continue
        try:
            data[field.name] = _typed(field, text)
        except FieldError as exc:
            errors[field.name] = exc.key
    return Filled(data, texts, errors)


def _typed(field: InputField, text: str) -> Any:
    if field.kind in ("integer", "number"):
        written = german_number(text)
        if written is None:
            raise FieldError(field.name, "number")
        if field.kind == "integer":
            if not re.fullmatch(r"-?\d+", written):
                raise FieldError(field.name, "integer")
            return int(written)
        number = float(written)
        if not math.isfinite(number):
            raise FieldError(field.name, "number")
        return int(number) if re.fullmatch(r"-?\d+", written) else number
    if field.kind == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if field.kind == "json":
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise FieldError(field.name, "json") from None
    if field.kind == "datetime" and len(text.strip()) == len("2026-12-07T09:30"):
        return f"{text.strip()}:00"  # the browser leaves out the seconds the schema's format asks for
    if field.kind == "email" and not EMAIL.fullmatch(text.strip()):
        raise FieldError(field.name, "email")
    return text.strip() if field.kind in ("email", "date", "choice", "text") else text


def field_errors(
    problems: list[dict[str, Any]], t: Callable[..., str], known: set[str]
) -> tuple[dict[str, str], list[str]]:
    """The schema check's problems as messages at their fields (in the page's language), and those that
    belong to no field of the form."""
    at: dict[str, str] = {}
    other: list[str] = []
    for problem in problems:
        target = str(problem.get("field") or problem.get("path") or "")
        top = target.split(".")[0]
        check = str(problem.get("check") or "")
        limit = problem.get("limit")
        key = f"input.check.{check}" if check in CHECKS else "input.check.other"
        if check == "minLength" and limit == 1:
            key = "input.check.required"  # an empty text
        message = t(key, limit=limit if limit is not None else "", message=str(problem.get("message", "")))
        if top in known and top not in at:
            at[top] = message
        elif top not in known:
            other.append(message)
    return at, other


CHECKS = frozenset(
    {
        "required", "minLength", "maxLength", "type", "enum", "format", "minimum", "maximum", "pattern",
        "const", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "multipleOf",
    }
)  # fmt: skip
