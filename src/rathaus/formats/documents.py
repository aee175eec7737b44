"""Reading spec documents (YAML or JSON) and reporting every problem at its field and its line.

A person editing YAML needs to know where the mistake is: each error carries the field path
(`spec.creativity`), a message, and the line and column in the text it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None
    code: str = ""  # what kind of problem (pydantic's error type, or yaml, not_mapping, …), for translations
    limit: str = ""  # the allowed values or length the field missed, where there is one

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        return f"{where}{self.path or 'document'}: {self.message}"


class DocumentError(ValueError):
    """A document is not valid; `problems` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _positions(
    node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], yaml.Mark]
) -> None:
    out[path] = node.start_mark
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _positions(value, (*path, str(key.value)), out)
            out[(*path, str(key.value))] = key.start_mark  # a field's errors point at its key
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, (*path, index), out)


def parse(text: str) -> tuple[Any, dict[tuple[str | int, ...], yaml.Mark]]:
    """Parse YAML (JSON is YAML too); returns the data and the position of every field."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise DocumentError([Problem("", f"not valid YAML: {problem}", line, column, "yaml")]) from None
    positions: dict[tuple[str | int, ...], yaml.Mark] = {}
    if node is not None:
        _positions(node, (), positions)
    return data, positions


def locate(loc: tuple[str | int, ...], positions: dict[tuple[str | int, ...], yaml.Mark]) -> yaml.Mark | None:
    for end in range(len(loc), -1, -1):  # the field itself, else the nearest parent that exists
        key = tuple(str(p) if isinstance(p, str) else p for p in loc[:end])
        if key in positions:
            return positions[key]
    return None


def problems_from(
    exc: ValidationError,
    positions: dict[tuple[str | int, ...], yaml.Mark],
    prefix: tuple[str | int, ...] = (),
    skip: Callable[[Any], bool] | None = None,
) -> list[Problem]:
    """Turn pydantic errors into problems with field paths and, where known, lines; `prefix` places the
    validated data inside a larger document; `skip` leaves out errors that do not count."""
    problems = []
    for error in exc.errors():
        if skip is not None and skip(error):
            continue
        loc = prefix + tuple(
            p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        mark = locate(loc, positions)
        problems.append(
            Problem(
                ".".join(str(p) for p in loc),
                error["msg"],
                mark.line + 1 if mark else None,
                mark.column + 1 if mark else None,
                error["type"],
                _limit(error.get("ctx") or {}),
            )
        )
    return problems


def _limit(context: dict[str, Any]) -> str:
    for key in ("expected", "max_length", "min_length", "ge", "le", "pattern", "limit"):
        if key in context:
            return str(context[key])
    return ""


def parse_mapping(text: str) -> tuple[dict[str, Any], dict[tuple[str | int, ...], yaml.Mark]]:
    """Parse a document that must be a mapping; DocumentError (at line 1) when it is something else."""
    data, positions = parse(text)
    if not isinstance(data, dict):
        message = "the document must be a mapping (apiVersion, kind, metadata, spec)"
        raise DocumentError([Problem("", message, 1, 1, "not_mapping")])
    return data, positions


def load_document(model: type[M], text: str) -> M:
    """Parse and validate a document; raises DocumentError with every problem."""
    data, positions = parse_mapping(text)
    return validate_data(model, data, positions)


def validate_data(
    model: type[M], data: Any, positions: dict[tuple[str | int, ...], yaml.Mark] | None = None
) -> M:
    """Validate already parsed data (from JSON or a form); raises DocumentError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DocumentError(problems_from(exc, positions or {})) from None


class _ReadableDumper(yaml.SafeDumper):
    """YAML for people: multi-line text as a block (`|`), keys in their natural order."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ReadableDumper.add_representer(str, _text)


def dump_data(data: Any) -> str:
    """Any document data as readable YAML, umlauts kept."""
    return yaml.dump(data, Dumper=_ReadableDumper, allow_unicode=True, sort_keys=False, width=100)


def dump_document(document: BaseModel) -> str:
    """The document as YAML, in field order, with umlauts kept readable."""
    return dump_data(document.model_dump(mode="json", by_alias=True, exclude_none=True))
