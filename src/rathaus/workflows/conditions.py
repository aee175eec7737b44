"""A condition as staff set it up: a value, a comparison and what it is compared with.

"Zuständiges Amt ist Bauamt", "Betrag ist größer als 1000", "Frist ist leer", "unsicher ist ja": the editor
offers these as
three fields and writes the expression the condition step evaluates. An expression it wrote is read back
into the three fields; any other expression (written by hand in the document) stays as written.
Comparisons of text ignore case and surrounding spaces, so "bauamt" matches "Bauamt".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from rathaus.text.numbers import german_number

OPERATORS = ("is", "is_not", "contains", "empty", "not_empty", "greater", "less", "yes", "no")
YES = '["true", "ja", "yes", "1"]'  # what counts as yes: a truth value, or a text or number saying so
# {L} the value, {T} a text, {N} a number
TEMPLATES = {
    "is": "({L} | string | trim | lower) == ({T} | lower)",
    "is_not": "({L} | string | trim | lower) != ({T} | lower)",
    "contains": "({T} | lower) in ({L} | string | lower)",
    "empty": '{L} is none or ({L} | string | trim) == ""',
    "not_empty": '{L} is not none and ({L} | string | trim) != ""',
    "greater": "({L} | float(none)) is not none and ({L} | float(none)) > {N}",
    "less": "({L} | float(none)) is not none and ({L} | float(none)) < {N}",
    "yes": f"({{L}} | string | trim | lower) in {YES}",
    "no": f"({{L}} | string | trim | lower) not in {YES}",
}
VALUE = r"input(?:\.[A-Za-z_]\w*)+|steps\.[a-z][a-z0-9_]*\.output(?:\.[A-Za-z_]\w*)*"
TEXT = r'"(?:[^"\\]|\\.)*"'
NUMBER = r"-?\d+(?:\.\d+)?"


def _pattern(template: str) -> re.Pattern[str]:
    """The template as a pattern: the value once as a group, again as the same value."""
    escaped = re.escape(template)
    escaped = escaped.replace(re.escape("{L}"), f"(?P<left>{VALUE})", 1).replace(
        re.escape("{L}"), "(?P=left)"
    )
    escaped = escaped.replace(re.escape("{T}"), f"(?P<right>{TEXT})").replace(
        re.escape("{N}"), f"(?P<right>{NUMBER})"
    )
    return re.compile(escaped)


PATTERNS = {operator: _pattern(template) for operator, template in TEMPLATES.items()}


class NotANumber(ValueError):
    """A comparison by size needs a number to compare with."""


@dataclass(frozen=True)
class Comparison:
    """A value (`input.betrag`, `steps.abteilung.output.label`), how it is compared, and with what."""

    left: str
    operator: str
    right: str = ""

    def expression(self) -> str:
        """The expression the condition step evaluates."""
        number = german_number(self.right)
        if self.operator in ("greater", "less") and number is None:
            raise NotANumber(self.right)
        text = json.dumps(self.right.strip(), ensure_ascii=False)
        template = TEMPLATES[self.operator]
        return template.replace("{L}", self.left).replace("{T}", text).replace("{N}", number or "")


def comparison(when: str) -> Comparison | None:
    """The comparison an expression written by `Comparison.expression` states; None for any other."""
    text = when.strip()
    for operator, pattern in PATTERNS.items():
        match = pattern.fullmatch(text)
        if match is None:
            continue
        right = match.groupdict().get("right") or ""
        try:
            compared = str(json.loads(right)) if right.startswith('"') else right
        except ValueError:  # a Jinja string JSON does not read ("\x41"): written by hand
            return None
        return Comparison(match.group("left"), operator, compared)
    return None
