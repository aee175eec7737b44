"""Conditions put together from a value, a comparison and what it is compared with: the expression they
write decides as staff expect (case and spaces do not matter, a missing value is empty), and it reads back
into the same three fields; an expression written by hand is left alone."""

from __future__ import annotations

import pytest

from rathaus.workflows.conditions import OPERATORS, Comparison, NotANumber, comparison
from rathaus.workflows.expressions import evaluate

VARIABLES = {
    "input": {"betrag": 1200, "text": 'Die Laterne ist "KAPUTT".'},
    "steps": {
        "abteilung": {"output": {"label": " Bauamt ", "unsure": True}},
        "anliegen": {"output": {"frist": None, "eilig": "Ja"}},
    },
}


@pytest.mark.parametrize(
    ("left", "operator", "right", "expected"),
    [
        ("steps.abteilung.output.label", "is", "bauamt", True),
        ("steps.abteilung.output.label", "is_not", "Bauamt", False),
        ("input.text", "contains", 'laterne ist "kaputt"', True),
        ("steps.anliegen.output.frist", "empty", "", True),
        ("steps.anliegen.output.frist", "not_empty", "", False),
        ("input.betrag", "greater", "1000,5", True),
        ("input.betrag", "less", "1000", False),
        ("steps.abteilung.output.unsure", "yes", "", True),
        ("steps.abteilung.output.unsure", "no", "", False),
        ("steps.anliegen.output.eilig", "yes", "", True),  # a text saying yes
        ("steps.anliegen.output.frist", "no", "", True),  # nothing is no
    ],
)
def test_a_comparison_decides_as_staff_expect_and_reads_back(
    left: str, operator: str, right: str, expected: bool
) -> None:
    made = Comparison(left, operator, right)
    assert bool(evaluate(made.expression(), VARIABLES)) is expected
    back = comparison(made.expression())
    assert back is not None and (back.left, back.operator) == (left, operator)
    assert back.right == (right.replace(",", ".") if operator in ("greater", "less") else right)


def test_every_comparison_is_offered_and_sizes_need_numbers() -> None:
    assert set(OPERATORS) == {
        "is",
        "is_not",
        "contains",
        "empty",
        "not_empty",
        "greater",
        "less",
        "yes",
        "no",
    }
    with pytest.raises(NotANumber):
        Comparison("input.betrag", "greater", "viel").expression()


def test_an_expression_written_by_hand_is_not_read_as_a_comparison() -> None:
    assert comparison("input.betrag > 1000") is None
    assert comparison('steps.a.output.label == "x" or input.eilig') is None


def test_german_numbers_and_values_that_are_not_numbers() -> None:
    assert Comparison("input.betrag", "greater", "1.000").expression().endswith("> 1000")
    assert (
        evaluate(Comparison("input.betrag", "less", "100").expression(), {"input": {"betrag": None}}) is False
    )
    assert (
        evaluate(Comparison("input.betrag", "less", "100").expression(), {"input": {"betrag": "viel"}})
        is False
    )
    assert comparison('(input.x | string | trim | lower) == ("a\\x41" | lower)') is None  # not JSON: by hand
