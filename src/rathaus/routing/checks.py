"""Checks of an answer that decide whether a cascade escalates to a larger model."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, UnknownType


def schema_problem(text: str, schema: dict[str, Any]) -> str | None:
    """Why the answer does not satisfy the JSON schema (not JSON, or a rule it breaks); None when it does.

    A schema that is itself unusable is not held against the answer.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg} at character {exc.pos})"
    try:
        Draft202012Validator.check_schema(schema)
        error = next(iter(Draft202012Validator(schema).iter_errors(value)), None)
    except (SchemaError, UnknownType):
        return None
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "the answer"
    return f"{where}: {error.message}"[:300]
