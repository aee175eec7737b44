"""Steps that shape the run itself: condition (branches), template (text from a template), set_output."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rathaus.workflows.expressions import evaluate
from rathaus.workflows.steps import StepContext, StepType


class ConditionSettings(BaseModel):
    """The test that chooses the branch."""

    model_config = ConfigDict(extra="forbid")

    when: str = Field(
        min_length=1,
        max_length=2000,
        description="An expression, e.g. `steps.abteilung.output.label == 'Bauamt'`.",
    )


class Condition(StepType):
    """Run the `then` steps when the expression is true, else the `else` steps."""

    name = "condition"
    settings = ConditionSettings
    templated = False  # `when` is an expression itself

    def run(self, context: StepContext, settings: ConditionSettings) -> dict[str, Any]:
        """`{branch: 'then' | 'else', value}`."""
        value = bool(evaluate(settings.when, context.variables, context.deadline))
        return {"branch": "then" if value else "else", "value": value}


class TemplateSettings(BaseModel):
    """The template to fill in."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=100_000)


class Template(StepType):
    """Text from a template with the run's values, e.g. a letter with the extracted name."""

    name = "template"
    outputs = ("text",)
    settings = TemplateSettings

    def run(self, context: StepContext, settings: TemplateSettings) -> dict[str, Any]:
        """`{text}`: the filled-in template."""
        return {"text": settings.text}


class OutputSettings(BaseModel):
    """What the run returns."""

    model_config = ConfigDict(extra="forbid")

    value: Any = Field(description="Any value; templates are filled in.")


class SetOutput(StepType):
    """Set what the run returns (otherwise the run returns every step's output)."""

    name = "set_output"
    settings = OutputSettings

    def run(self, context: StepContext, settings: OutputSettings) -> Any:
        """The value."""
        return settings.value


CONTROL_STEPS: tuple[type[StepType], ...] = (Condition, Template, SetOutput)
