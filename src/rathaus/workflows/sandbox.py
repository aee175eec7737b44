"""The sandbox workflow templates run in: Jinja's immutable sandbox, bounded in size and time *while* it
renders, so that no template can take the server's memory or a core.

- Size: an operation that would make a value larger than `MAX_VALUE_CHARS` (string or list repetition,
  concatenation, `~`, padding and replacing, `join`, `format`, …) is refused before it is computed; what
  every operation made is counted, and one render may make at most `MAX_MADE_CHARS` characters in all.
  Numbers may not grow beyond `MAX_INT_DIGITS` digits, and `range()` is capped at `MAX_RANGE` numbers.
- Time: every loop step, call, filter, attribute and operator checks the render's deadline, so a render
  stops itself in the thread it runs in when its step's time is up (no thread is left behind).

A render runs inside `bounded(deadline)`; a limit reached raises `Refused` with a German reason.
"""

from __future__ import annotations

import functools
import re
import string
import time
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, generate_lorem_ipsum
from markupsafe import Markup, escape

MAX_VALUE_CHARS = 1_000_000  # one value (as large as a step's output may be)
MAX_MADE_CHARS = 20_000_000  # everything one render makes, together
MAX_RANGE = 100_000
MAX_INT_DIGITS = 10_000
_MAX_INT_BITS = MAX_INT_DIGITS * 10 // 3


class Refused(Exception):
    """A render was stopped at one of its limits; the message (German) says which."""


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _too_large() -> Refused:
    return Refused(f"ein Zwischenergebnis hätte mehr als {_number(MAX_VALUE_CHARS)} Zeichen")


class Budget:
    """What one render may still use: its deadline and the characters it may still make."""

    def __init__(self, deadline: float) -> None:
        self.started = time.monotonic()
        self.deadline = deadline
        self.made = 0

    def tick(self) -> None:
        """Stop the render once its time is up."""
        if time.monotonic() > self.deadline:
            seconds = f"{time.monotonic() - self.started:.1f}".replace(".", ",")
            raise Refused(f"die Zeit für den Schritt ist nach {seconds} s abgelaufen")

    def charge(self, chars: int) -> None:
        """Count what an operation made."""
        self.made += chars
        if self.made > MAX_MADE_CHARS:
            raise Refused(
                f"sie macht zusammen mehr als {_number(MAX_MADE_CHARS)} Zeichen an Zwischenergebnissen"
            )


_budget: ContextVar[Budget | None] = ContextVar("rathaus_template_budget", default=None)


@contextmanager
def bounded(deadline: float) -> Iterator[Budget]:
    """Render within this block under a fresh budget ending at `deadline` (a `time.monotonic()` value)."""
    budget = Budget(deadline)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def _tick() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.tick()


def size_of(value: Any, limit: int = MAX_VALUE_CHARS) -> int:
    """About how many characters a value has as text (shared parts counted each time), at least up to
    `limit`: the walk stops once it has counted more."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() * 3 // 10 + 1
        elif isinstance(item, Namespace):
            stack.append(item._Namespace__attrs)
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= limit:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset | KeysView | ValuesView | ItemsView):
            total += 2 + 2 * len(item)
            if total <= limit:
                stack.extend(item)
        else:
            total += 8
        if total > limit:
            return total
    return total


def _made(value: Any, inputs: Iterable[Any] = ()) -> Any:
    """An operation's result: refused when it grew beyond the value limit, else counted."""
    if value is None or isinstance(value, bool | int | float | range | Iterator):
        return value  # numbers are bounded where they are made; iterators by their items
    inputs = tuple(inputs)
    if any(value is item for item in inputs):
        return value  # passed through, nothing made
    size = size_of(value)
    if size > MAX_VALUE_CHARS and size > max((size_of(item, size) for item in inputs), default=0):
        raise _too_large()
    budget = _budget.get()
    if budget is not None:
        budget.charge(size)
    return value


def _check(estimate: int) -> None:
    if estimate > MAX_VALUE_CHARS:
        raise _too_large()


def _guarded(iterable: Iterable[Any]) -> Iterator[Any]:
    """The items of a loop, checking the deadline at every step."""
    budget = _budget.get()
    for item in iterable:
        if budget is not None:
            budget.tick()
        yield item


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _text(value: Any) -> str:
    """A value as the text an operation would work on (empty for a value too large to turn into text:
    its result is checked afterwards)."""
    return value if isinstance(value, str) else str(value) if size_of(value) <= MAX_VALUE_CHARS else ""


# Estimates of what an operation would make, checked before it runs (the size of a result is checked
# afterwards anyway; these stop the ones that would allocate far more at once).

_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def _percent_estimate(fmt: str, values: Any) -> int:
    """`fmt % values`: the widths and precisions it asks for, plus the values once per placeholder."""
    specs = _PERCENT.findall(fmt)
    numbers = [int(n) for spec in specs for n in spec if n.isdigit()]
    args = values if isinstance(values, tuple) else (values,)
    if any("*" in spec for spec in specs):
        numbers += [abs(a) for a in args if isinstance(a, int)]
    largest = max((size_of(a) for a in args), default=0)
    return len(fmt) + sum(numbers) + len(specs) * largest


def _format_estimate(fmt: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """`fmt.format(...)`: the widths and precisions in its fields, plus the values once per field."""
    try:
        fields = [spec for _, name, spec, _ in string.Formatter().parse(fmt) if name is not None]
    except ValueError:
        return 0  # the call itself says what is wrong
    numbers = [int(n) for spec in fields for n in re.findall(r"\d+", spec or "")]
    values = [*args, *kwargs.values()]
    if any("{" in (spec or "") for spec in fields):
        numbers += [abs(v) for v in values if isinstance(v, int)]
    largest = max((size_of(v) for v in values), default=0)
    return len(fmt) + sum(numbers) + len(fields) * largest


def _replace_estimate(s: Any, old: Any, new: Any, count: Any = -1) -> int:
    text, old, new = _text(s), _text(old), _text(new)
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _join_estimate(items: list[Any], separator: Any = "") -> int:
    return sum(size_of(item) for item in items) + max(len(items) - 1, 0) * len(_text(separator))


def _indent_estimate(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> int:
    text = _text(s)
    per_line = len(width) if isinstance(width, str) else _int(width)
    return len(text) + (text.count("\n") + 1) * per_line


def _wordwrap_estimate(
    s: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None, *_: Any
) -> int:
    text = _text(s)
    lines = len(text) // max(_int(width), 1) + text.count("\n") + 1
    return len(text) + lines * len(_text(wrapstring or "\n"))


def _urlize_estimate(
    value: Any,
    trim_url_limit: Any = None,
    nofollow: Any = False,
    target: Any = None,
    rel: Any = None,
    *_: Any,
) -> int:
    text = _text(value)
    return len(text) + len(text.split()) * (len(_text(target or "")) + len(_text(rel or "")))


_FILTER_ESTIMATES: dict[str, Callable[..., int]] = {
    "center": lambda value, width=80: max(_int(width), 0),
    "indent": _indent_estimate,
    "wordwrap": _wordwrap_estimate,
    "replace": _replace_estimate,
    "format": lambda value, *args, **kwargs: _percent_estimate(_text(value), kwargs or args),
    "join": lambda value, d="", attribute=None: _join_estimate(value, d) if attribute is None else 0,
    "tojson": lambda value, indent=None: size_of(value) * (1 + max(_int(indent), 0)),
    "batch": lambda value, linecount, fill_with=None: (
        0 if fill_with is None else _int(linecount) * (1 + size_of(fill_with))
    ),
    "slice": lambda value, slices, fill_with=None: _int(slices) * (3 + size_of(fill_with)),
    "urlize": _urlize_estimate,
}

_STR_METHOD_ESTIMATES: dict[str, Callable[..., int]] = {
    "center": lambda s, width, fillchar=" ": _int(width),
    "ljust": lambda s, width, fillchar=" ": _int(width),
    "rjust": lambda s, width, fillchar=" ": _int(width),
    "zfill": lambda s, width: _int(width),
    "expandtabs": lambda s, tabsize=8: len(s) + s.count("\t") * max(_int(tabsize), 0),
    "replace": _replace_estimate,
    "join": lambda s, items: _join_estimate(items, s),
    "format": lambda s, *args, **kwargs: _format_estimate(s, args, kwargs),
    "format_map": lambda s, mapping: _format_estimate(s, (), mapping),
}


def _materialized(iterable: Any) -> list[Any]:
    """An iterable as a list (for `join`, whose result depends on every item), the deadline checked."""
    return list(_guarded(iterable)) if not isinstance(iterable, list | tuple | str) else list(iterable)


def _estimate(table: Mapping[str, Callable[..., int]], name: str, args: tuple[Any, ...], kwargs: Any) -> None:
    estimator = table.get(name)
    if estimator is None:
        return
    try:
        estimate = estimator(*args, **kwargs)
    except (TypeError, ValueError):
        return  # arguments the operation itself refuses; let it say so
    _check(estimate)


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that checks the deadline, refuses what would grow too large, and counts what it made."""
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0  # context or environment first

    @functools.wraps(func)
    def bounded_filter(*args: Any, **kwargs: Any) -> Any:
        _tick()
        if name == "join" and len(args) > skip:
            args = (*args[:skip], _materialized(args[skip]), *args[skip + 1 :])
        _estimate(_FILTER_ESTIMATES, name, args[skip:], kwargs)
        return _made(func(*args, **kwargs), (*args[skip:], *kwargs.values()))

    return bounded_filter


def _range(*args: int) -> range:
    numbers = range(*args)
    try:
        too_many = len(numbers) > MAX_RANGE
    except OverflowError:  # longer than a machine word can count
        too_many = True
    if too_many:
        raise Refused(f"range() mit mehr als {_number(MAX_RANGE)} Zahlen ist nicht erlaubt")
    return numbers


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    _check(_int(n) * _int(max) * 12)
    return _made(generate_lorem_ipsum(n, html, min, max))  # type: ignore[no-any-return]


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Every `{{ … }}` written out: not larger than a value may be, and a value that is not there (None,
    a detail the text did not give) writes nothing rather than "None" into a letter. (It takes the
    context so that Jinja does not evaluate constant output while compiling, outside any budget.)"""
    _tick()
    if value is None:
        return ""
    if not isinstance(value, str) and size_of(value) > MAX_VALUE_CHARS:
        raise _too_large()
    return value


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """Jinja's `default`, which also stands in for None: an optional input field left empty is None
    (workflows/engine.py `declared`), and `| default(…)` means "when it is not given"."""
    if isinstance(value, Undefined) or value is None or (boolean and not value):
        return default_value
    return value


LOOP_FILTER = "_rathaus_loop"  # Jinja allows no node types of our own: loops are guarded by a filter


class BoundedCodeGenerator(CodeGenerator):
    """Compiles templates with checks where Jinja has no hook: loops, `~`, and list/tuple/dict literals
    (which could otherwise nest the same large value exponentially often)."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        """Guard every loop's iterable before the template is compiled."""
        for loop in list(node.find_all(nodes.For)):
            loop.iter = nodes.Filter(loop.iter, LOOP_FILTER, [], [], None, None, lineno=loop.iter.lineno)
        super().visit_Template(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        """`a ~ b` joined with a size check instead of Jinja's unbounded join."""
        if frame.eval_ctx.volatile:
            escaped = "context.eval_ctx.autoescape"
        else:
            escaped = "True" if frame.eval_ctx.autoescape else "False"
        self.write(f"environment.concat_values({escaped}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def _literal(self, visit: Callable[[Any, Frame], None], node: nodes.Expr, frame: Frame) -> None:
        self.write("environment.made_literal(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        """A list literal, checked."""
        self._literal(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        """A dict literal, checked."""
        self._literal(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        """A tuple literal, checked (not a tuple one assigns to, as in `{% for a, b in … %}`)."""
        if node.ctx == "load":
            self._literal(super().visit_Tuple, node, frame)
        else:
            super().visit_Tuple(node, frame)


_STR_OPERATIONS = {"*", "+", "%"}


def _same_kind(left: Any, right: Any) -> bool:
    """Both text, or both lists/tuples: `+` joins them."""
    if isinstance(left, str):
        return isinstance(right, str)
    return isinstance(left, list | tuple) and isinstance(right, list | tuple)


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the bounds above; templates see the same names and filters."""

    code_generator_class = BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "+", "%", "**"})

    def __init__(self) -> None:
        # optimized=False: Jinja would otherwise evaluate constant expressions while compiling (outside
        # any budget), and keep their results in the compiled template.
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            optimized=False,
            finalize=_finalize,
        )
        self.filters["default"] = self.filters["d"] = _default
        self.filters = {name: _bounded_filter(name, func) for name, func in self.filters.items()}
        self.filters[LOOP_FILTER] = _guarded
        self.globals.update(range=_range, lipsum=_lipsum)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """`*`, `+`, `%` and `**` with their results' size checked before they are computed."""
        _tick()
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            if left.bit_length() * right > _MAX_INT_BITS:
                raise Refused(f"eine Zahl hätte mehr als {_number(MAX_INT_DIGITS)} Stellen")
        elif operator == "*" and isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > _MAX_INT_BITS:
                raise Refused(f"eine Zahl hätte mehr als {_number(MAX_INT_DIGITS)} Stellen")
        elif operator == "*" and isinstance(right, int) and isinstance(left, str | list | tuple):
            _check(size_of(left) * right)
        elif operator == "*" and isinstance(left, int) and isinstance(right, str | list | tuple):
            _check(size_of(right) * left)
        elif operator == "+" and _same_kind(left, right):
            _check(size_of(left) + size_of(right))
        elif operator == "%" and isinstance(left, str):
            _check(_percent_estimate(left, right))
        result = self.binop_table[operator](left, right)
        return _made(result, (left, right)) if operator in _STR_OPERATIONS else result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A call, with the deadline checked and string methods that could grow refused first."""
        _tick()
        target = getattr(__obj, "__wrapped__", __obj)  # str.format arrives wrapped by the sandbox
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str):
            name = getattr(target, "__name__", "")
            if name == "join" and args:
                args = (_materialized(args[0]), *args[1:])
            _estimate(_STR_METHOD_ESTIMATES, name, (owner, *args), kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(__obj, Macro):
            return result  # its text was checked as it was joined
        return _made(result, (owner, *args, *kwargs.values()))

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`a.b`, with the deadline checked."""
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """`a[b]`, with the deadline checked."""
        _tick()
        return super().getitem(obj, argument)

    def concat(self, parts: Iterable[str]) -> str:
        """Text captured from blocks, macros and `{% set %}…{% endset %}`, joined up to the value limit."""
        return self.concat_values(False, parts)

    def concat_values(self, escaped: bool, parts: Iterable[Any]) -> str:
        """Values joined as text (`~`), refused once they pass the value limit."""
        texts, total = [], 0
        for part in parts:
            if not isinstance(part, str) and size_of(part) > MAX_VALUE_CHARS:
                raise _too_large()
            text: str = escape(part) if escaped else part if isinstance(part, str) else str(part)
            total += len(text)
            if total > MAX_VALUE_CHARS:
                raise _too_large()
            texts.append(text)
        budget = _budget.get()
        if budget is not None:
            budget.charge(total)
        return Markup("").join(texts) if escaped else "".join(texts)

    def made_literal(self, value: Any) -> Any:
        """A list, tuple or dict written in the template, refused when it would be too large as text."""
        if size_of(value) > MAX_VALUE_CHARS:
            raise _too_large()
        return value
