"""Settings that are lists or sections, edited as a table of rows instead of YAML.

A classification's categories (name, what belongs to it, examples), an extraction's details (name, what
the model looks for, what kind of value, whether it is always there), an approval's details and a request's
fields (name and value) are rows in the editor. Each table turns a setting's value into rows and rows back
into the value; a value no table can show (nested sections, say) stays YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from rathaus.knowledge.german import fold

ColumnKind = Literal["text", "textarea", "lines", "choice", "boolean", "hidden"]
Row = dict[str, str]
KINDS = ("text", "number", "integer", "boolean", "date", "list")  # what an extracted detail can be
SCALAR = (str, int, float, bool)


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    name: str
    kind: ColumnKind
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """How a setting's value is shown as rows and made from them again."""

    columns: tuple[Column, ...]
    to_rows: Callable[[Any], list[Row] | None]  # None: the value does not fit this table
    from_rows: Callable[[list[Row]], Any]  # rows without content are left out; None when none is left
    pairs: bool = False  # name and value: a value of an earlier step can be added as a new row


def _filled(rows: list[Row], key: str) -> list[Row]:
    return [r for r in rows if r.get(key, "").strip()]


# Name and value (an approval's details, a request's headers or body, a workflow's result).


def _pairs_to_rows(value: Any) -> list[Row] | None:
    if value is None:
        return []
    if not isinstance(value, dict) or not all(isinstance(v, SCALAR) or v is None for v in value.values()):
        return None
    return [{"key": str(k), "value": "" if v is None else str(v)} for k, v in value.items()]


def _pairs_from_rows(rows: list[Row]) -> dict[str, str] | None:
    found: dict[str, str] = {}
    for row in _filled(rows, "key"):
        key, number = row["key"].strip(), 2
        while key in found:  # two rows of the same name both stay
            key, number = f"{row['key'].strip()} {number}", number + 1
        found[key] = row.get("value", "")
    return found or None


PAIRS = Table(
    (Column("key", "text"), Column("value", "textarea")), _pairs_to_rows, _pairs_from_rows, pairs=True
)


# A classification's categories.


def _labels_to_rows(value: Any) -> list[Row] | None:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return None
    return [
        {
            "value": str(v.get("value", "")),
            "description": str(v.get("description", "")),
            "examples": "\n".join(str(e) for e in v.get("examples") or []),
        }
        for v in value
    ]


def _labels_from_rows(rows: list[Row]) -> list[dict[str, Any]] | None:
    found = []
    for row in _filled(rows, "value"):
        label: dict[str, Any] = {"value": row["value"].strip()}
        if row.get("description", "").strip():
            label["description"] = row["description"].strip()
        examples = [line.strip() for line in row.get("examples", "").splitlines() if line.strip()]
        if examples:
            label["examples"] = examples
        found.append(label)
    return found or None


LABELS = Table(
    (Column("value", "text"), Column("description", "textarea"), Column("examples", "lines")),
    _labels_to_rows,
    _labels_from_rows,
)


# An extraction's details.


def _kind_of(prop: dict[str, Any]) -> tuple[str, bool] | None:
    """The detail's kind and whether it may be missing (null); None for what the table cannot show."""
    types = prop.get("type")
    listed = types if isinstance(types, list) else [types]
    nullable = "null" in listed
    base = [t for t in listed if t != "null"]
    if len(base) != 1:
        return None
    kind = base[0]
    if kind == "string":
        return ("date" if prop.get("format") == "date" else "text"), nullable
    if kind in ("number", "integer", "boolean"):
        return str(kind), nullable
    items = prop.get("items")
    if kind == "array" and isinstance(items, dict) and items.get("type") == "string":
        return "list", nullable
    return None


def _schema_to_rows(value: Any) -> list[Row] | None:
    if value is None:
        return []
    properties = value.get("properties") if isinstance(value, dict) else None
    if not isinstance(properties, dict):
        return None
    required = set(value.get("required") or [])
    rows = []
    for key, prop in properties.items():
        found = _kind_of(prop) if isinstance(prop, dict) else None
        if found is None:
            return None
        kind, nullable = found
        rows.append(
            {
                "key": str(key),
                "title": str(prop.get("title") or key),
                "description": str(prop.get("description") or ""),
                "type": kind,
                "always": "1" if key in required and not nullable else "",
            }
        )
    return rows


def key_of(title: str) -> str:
    """A detail's key from its name: "Frist bis" → "frist_bis" (umlauts folded), "1. Mahnung" →
    "angabe_1_mahnung" (a key starts with a letter, so later steps can name it)."""
    key = re.sub(r"[^a-z0-9]+", "_", fold(title)).strip("_")[:40]
    return key if key[:1].isalpha() else f"angabe_{key}".rstrip("_")


def _schema_from_rows(rows: list[Row]) -> dict[str, Any] | None:
    properties: dict[str, Any] = {}
    for row in _filled(rows, "title"):
        title = row["title"].strip()
        key = row.get("key", "").strip() or key_of(title)
        while key in properties:
            key = f"{key}_2"
        kind = row.get("type") if row.get("type") in KINDS else "text"
        base = {"text": "string", "date": "string", "list": "array"}.get(str(kind), str(kind))
        always = row.get("always") == "1"
        prop: dict[str, Any] = {"type": base if always else [base, "null"]}
        if title != key:
            prop["title"] = title
        if row.get("description", "").strip():
            prop["description"] = row["description"].strip()
        if kind == "date":
            prop["format"] = "date"
        if kind == "list":
            prop["items"] = {"type": "string"}
        properties[key] = prop
    if not properties:
        return None
    # every detail is asked for; one that may be missing is null when the text does not give it
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }


SCHEMA = Table(
    (
        Column("key", "hidden"),
        Column("title", "text"),
        Column("description", "text"),
        Column("type", "choice", KINDS),
        Column("always", "boolean"),
    ),
    _schema_to_rows,
    _schema_from_rows,
)

TABLES: dict[tuple[str, str], Table] = {
    ("classify", "labels"): LABELS,
    ("extract", "schema"): SCHEMA,
    ("approval", "details"): PAIRS,
    ("http", "headers"): PAIRS,
    ("http", "body"): PAIRS,
    ("webhook", "payload"): PAIRS,
    ("set_output", "value"): PAIRS,
}


def table_of(step_type: str, setting: str) -> Table | None:
    """The table a setting is edited in, if it has one."""
    return TABLES.get((step_type, setting))


def rows_from_form(form: dict[str, str], setting: str) -> list[Row] | None:
    """The rows of a setting's table as sent (`t.<setting>.<row>.<column>`), in row order; None when the
    form has no table for it."""
    prefix = f"t.{setting}."
    rows: dict[int, Row] = {}
    for name, value in form.items():
        if not name.startswith(prefix):
            continue
        index, _, column = name[len(prefix) :].partition(".")
        if index.isdigit() and column:
            rows.setdefault(int(index), {})[column] = value
    return [rows[i] for i in sorted(rows)] if rows else None
