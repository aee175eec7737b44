"""Templates and conditions in workflow steps: sandboxed Jinja, so a workflow document can never reach
into the server, nor take its memory or a core (see `workflows/sandbox.py`).

A setting that is exactly one expression (`"{{ steps.angaben.output }}"`) keeps its value's type (an
object stays an object); any other text with `{{ … }}` or `{% … %}` becomes text. A name that does not
exist is an error, not an empty string, so a typo in a step id cannot send an empty e-mail.

Rendering is bounded while it happens: text is written out piece by piece and stops at
`MAX_OUTPUT_CHARS`; values and time are bounded by the sandbox, up to the deadline the caller gives (a
step's own) or `DEFAULT_SECONDS`. A limit reached raises `LimitExceeded` with a German reason.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

from jinja2 import Template, TemplateError, Undefined

from rathaus.workflows.sandbox import BoundedEnvironment, Refused, bounded

SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expression>(?:(?!\}\}).)*)\}\}\s*$", re.DOTALL)
MAX_OUTPUT_CHARS = 200_000
DEFAULT_SECONDS = 30.0  # for a render without a step's deadline


class ExpressionError(ValueError):
    """A template or condition could not be evaluated; the message says where and why."""


class LimitExceeded(ExpressionError):
    """A template or condition was stopped at a limit (size, time); the message (German) says which."""


@functools.cache
def environment() -> BoundedEnvironment:
    """The sandbox every template and condition runs in (no attribute access to internals, no I/O, bounded
    in size and time)."""
    return BoundedEnvironment()


@functools.lru_cache(maxsize=2048)
def _template(source: str) -> Template:
    """A compiled template (workflow documents repeat the same templates in every run)."""
    return environment().from_string(source)


@functools.lru_cache(maxsize=2048)
def _expression(source: str) -> Any:
    """A compiled expression."""
    return environment().compile_expression(source, undefined_to_none=False)


@contextmanager
def _limits(kind: str, source: str, deadline: float | None) -> Iterator[None]:
    """Render under a budget; a limit reached (or a template too deep or too large for memory) becomes a
    `LimitExceeded` naming the template."""
    try:
        with bounded(time.monotonic() + DEFAULT_SECONDS if deadline is None else deadline):
            yield
    except Refused as exc:
        raise LimitExceeded(f"{kind} '{_short(source)}' abgebrochen: {exc}.") from None
    except RecursionError:
        raise LimitExceeded(f"{kind} '{_short(source)}' abgebrochen: zu tief verschachtelt.") from None
    except MemoryError:
        raise LimitExceeded(f"{kind} '{_short(source)}' abgebrochen: nicht genug Arbeitsspeicher.") from None


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def render_text(template: str, variables: dict[str, Any], deadline: float | None = None) -> str:
    """A template filled in as text, written out piece by piece and stopped at `MAX_OUTPUT_CHARS`."""
    try:
        compiled = _template(template)
    except TemplateError as exc:
        raise ExpressionError(f"template '{_short(template)}': {exc.message or exc}") from None
    parts: list[str] = []
    with _limits("Vorlage", template, deadline):
        total = 0
        stream = compiled.generate(**variables)
        try:
            for part in stream:
                total += len(part)
                if total > MAX_OUTPUT_CHARS:
                    raise Refused(f"der Text wäre länger als {MAX_OUTPUT_CHARS:,} Zeichen".replace(",", "."))
                parts.append(part)
        except TemplateError as exc:
            raise ExpressionError(f"template '{_short(template)}': {exc.message or exc}") from None
        finally:
            if isinstance(stream, Generator):
                stream.close()  # stop at once, not when it is collected
    return "".join(parts)


def evaluate(expression: str, variables: dict[str, Any], deadline: float | None = None) -> Any:
    """The value of one expression, e.g. `steps.abteilung.output.label == 'Bauamt'`."""
    with _limits("Ausdruck", expression, deadline):
        try:
            result = _expression(expression)(**variables)
            if isinstance(result, Undefined):
                str(result)  # raises UndefinedError naming what is missing
        except TemplateError as exc:
            raise ExpressionError(f"expression '{_short(expression)}': {exc.message or exc}") from None
    return result


def render_value(value: Any, variables: dict[str, Any], deadline: float | None = None) -> Any:
    """Every template inside a setting filled in (strings in lists and objects too), by `deadline`."""
    if deadline is None:
        deadline = time.monotonic() + DEFAULT_SECONDS
    if isinstance(value, str):
        if not _is_template(value):
            return value
        single = SINGLE_EXPRESSION.match(value)
        if single is not None and "{%" not in value:
            return evaluate(single.group("expression"), variables, deadline)
        return render_text(value, variables, deadline)
    if isinstance(value, list):
        return [render_value(item, variables, deadline) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, variables, deadline) for key, item in value.items()}
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
