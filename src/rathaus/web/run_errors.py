"""Why a step or a run failed, in the reader's language.

Steps and the engine store a technical message in English (for IT, the API and the logs) and a code with
values (workflows/steps StepFailed). Pages show the code's sentence (`run.error.<code>` in
web/step_texts.py) and fold the technical message away; a code without a sentence (a plugin's own) shows the
general one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def error_text(code: str | None, values: dict[str, Any] | None, t: Callable[..., str]) -> str:
    """The sentence for a failure's code, with its values filled in."""
    key = f"run.error.{code}"
    try:
        text = t(key, **(values or {}))
    except (KeyError, IndexError, ValueError):  # values that do not fit the sentence
        text = key
    return t("run.error.unknown") if text == key else text
