"""How a run's steps read on its page: each step by its title, its settings and result as labelled rows.

Settings are named as the editor names them and results as the reference menu does (web/step_texts.py);
plain values read as text (yes/no for truth values, lists joined), and only values with inner structure
(a table of extracted details within details) are shown as indented data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rathaus.web.step_texts import setting_text, value_text


@dataclass(frozen=True)
class Row:
    """One labelled value; `structured` values are shown as indented data, not as a sentence."""

    label: str
    text: str
    structured: bool = False


def readable(value: Any, t: Callable[..., str]) -> tuple[str, bool]:
    """A value as text, and whether it has inner structure."""
    if isinstance(value, bool):
        return t("value.yes") if value else t("value.no"), False
    if isinstance(value, float):
        return f"{value:g}".replace(".", ","), False
    if isinstance(value, int | str):
        return str(value), False
    if value is None:
        return "–", False
    if isinstance(value, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        return ", ".join(readable(v, t)[0] for v in value), False
    return json.dumps(value, ensure_ascii=False, indent=2), True


def rows(
    value: Any, label: Callable[[str], str], t: Callable[..., str], messages: dict[str, str] | None = None
) -> list[Row]:
    """A step's settings or result as rows: a mapping by its keys (named by `label`), anything else as one
    row without a label. A word a step writes for a known value (`value.<key>.<word>` in `messages`, such
    as an approval's "approved") is said in the page's language."""
    if value is None or value == {}:
        return []
    if not isinstance(value, dict):
        return [Row("", *readable(value, t))]
    found = []
    for key, item in value.items():
        said = (messages or {}).get(f"value.{key}.{item}") if isinstance(item, str) else None
        found.append(Row(label(str(key)), said) if said else Row(label(str(key)), *readable(item, t)))
    return found


def settings_rows(messages: dict[str, str], step_type: str, value: Any, t: Callable[..., str]) -> list[Row]:
    """A step's settings as filled in, named as in the editor."""
    return rows(value, lambda key: setting_text(messages, step_type, key) or key, t)


def output_rows(messages: dict[str, str], step_type: str, value: Any, t: Callable[..., str]) -> list[Row]:
    """A step's result, its values named as in the reference menu."""
    return rows(value, lambda key: value_text(messages, step_type, key), t, messages)
