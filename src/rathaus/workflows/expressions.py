"""Templates and conditions in workflow steps: sandboxed Jinja, so a workflow document can never reach
into the server.

A setting that is exactly one expression (`"{{ steps.angaben.output }}"`) keeps its value's type (an
object stays an object); any other text with `{{ … }}` or `{% … %}` becomes text. A name that does not
exist is an error, not an empty string, so a typo in a step id cannot send an empty e-mail.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expression>(?:(?!\}\}).)*)\}\}\s*$", re.DOTALL)
MAX_OUTPUT_CHARS = 200_000


class ExpressionError(ValueError):
    """A template or condition could not be evaluated; the message says where and why."""


@functools.cache
def environment() -> ImmutableSandboxedEnvironment:
    """The sandbox every template and condition runs in (no attribute access to internals, no I/O)."""
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


@functools.lru_cache(maxsize=2048)
def _template(source: str) -> Template:
    """A compiled template (workflow documents repeat the same templates in every run)."""
    return environment().from_string(source)


@functools.lru_cache(maxsize=2048)
def _expression(source: str) -> Any:
    """A compiled expression."""
    return environment().compile_expression(source, undefined_to_none=False)


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def render_text(template: str, variables: dict[str, Any]) -> str:
    """A template filled in as text."""
    try:
        text = _template(template).render(**variables)
    except TemplateError as exc:
        raise ExpressionError(f"template '{_short(template)}': {exc.message or exc}") from None
    if len(text) > MAX_OUTPUT_CHARS:
        raise ExpressionError(
            f"template '{_short(template)}' produced more than {MAX_OUTPUT_CHARS} characters"
        )
    return text


def evaluate(expression: str, variables: dict[str, Any]) -> Any:
    """The value of one expression, e.g. `steps.abteilung.output.label == 'Bauamt'`."""
    try:
        result = _expression(expression)(**variables)
        if isinstance(result, Undefined):
            str(result)  # raises UndefinedError naming what is missing
    except TemplateError as exc:
        raise ExpressionError(f"expression '{_short(expression)}': {exc.message or exc}") from None
    return result


def render_value(value: Any, variables: dict[str, Any]) -> Any:
    """Every template inside a setting filled in (strings in lists and objects too)."""
    if isinstance(value, str):
        if not _is_template(value):
            return value
        single = SINGLE_EXPRESSION.match(value)
        if single is not None and "{%" not in value:
            return evaluate(single.group("expression"), variables)
        return render_text(value, variables)
    if isinstance(value, list):
        return [render_value(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, variables) for key, item in value.items()}
    return value


def check_syntax(text: str) -> str | None:
    """Why a template does not parse, or None (for validating documents before they run)."""
    try:
        environment().parse(text)
    except TemplateError as exc:
        return exc.message or str(exc)
    return None


def check_expression(text: str) -> str | None:
    """Why a condition's expression does not parse, or None."""
    try:
        _expression(text)
    except TemplateError as exc:
        return exc.message or str(exc)
    return None


def template_problems(
    value: Any, path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], str]]:
    """Every template in a setting (strings in lists and objects too) that does not parse: (path, why)."""
    if isinstance(value, str):
        why = check_syntax(value) if _is_template(value) else None
        return [(path, why)] if why else []
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in template_problems(item, (*path, i))]
    if isinstance(value, dict):
        return [found for k, item in value.items() for found in template_problems(item, (*path, k))]
    return []


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "…"
