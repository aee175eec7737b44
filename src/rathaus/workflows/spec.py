"""The Workflow document (`apiVersion: rathaus/v1`, `kind: Workflow`): a trigger, an input schema, steps.

Every step has an `id`, a `type` and its settings under `with`; the step type (built in or from a plugin,
see workflows/steps) says which settings it takes, and `load_workflow` checks them with the rest, so every
problem names its field path and YAML line. A `condition` step holds the steps of its branches in `then`
and `else`. Values in `with` may use templates: `{{ input.nachricht }}`, `{{ steps.angaben.output.email }}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from croniter import croniter
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rathaus.formats.documents import DocumentError, Problem, locate, parse_mapping, problems_from
from rathaus.formats.metadata import Metadata
from rathaus.llm.catalogue import DataClass

STEP_ID = r"^[a-z][a-z0-9_]{0,39}$"
MAX_STEPS = 100
CRON_FIELDS = 5


class Trigger(BaseModel):
    """What starts a run: a person or the API (`manual`), a `webhook` signed with the workflow's key
    (HMAC-SHA256, the key is made when the workflow is saved), a `schedule`, an e-mail `inbox` polled over
    IMAP, or a file `upload`."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["manual", "webhook", "schedule", "inbox", "upload"] = "manual"
    cron: str | None = Field(
        default=None,
        description="For `schedule`: minute hour day month weekday, in the installation's time zone.",
    )
    mailbox: str | None = Field(default=None, max_length=100, description="For `inbox`: the mailbox name.")

    @model_validator(mode="after")
    def _complete(self) -> Trigger:
        if self.type == "schedule" and (
            self.cron is None or len(self.cron.split()) != CRON_FIELDS or not croniter.is_valid(self.cron)
        ):
            raise PydanticCustomError("cron", "a schedule needs `cron` with five fields, e.g. '0 7 * * 1-5'")
        if self.type == "inbox" and not self.mailbox:
            raise PydanticCustomError("inbox_mailbox", "an inbox trigger needs `mailbox`")
        return self


class StepSpec(BaseModel):
    """One step: what it is, how long it may take, how often it is tried, and its settings."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=STEP_ID, description="Unique in the workflow; later steps use `steps.<id>`.")
    type: str = Field(min_length=1, max_length=40, description="The step type, e.g. classify or approval.")
    title: str = Field(default="", max_length=200)
    settings: dict[str, Any] = Field(default_factory=dict, alias="with")
    timeout_seconds: float = Field(default=300, gt=0, le=86_400, description="Per attempt.")
    retries: int = Field(default=2, ge=0, le=10, description="Further attempts after a failure.")
    then: list[StepSpec] = Field(default_factory=list, description="For `condition`: steps when true.")
    otherwise: list[StepSpec] = Field(default_factory=list, alias="else", description="…when false.")

    @model_validator(mode="after")
    def _branches(self) -> StepSpec:
        if (self.then or self.otherwise) and self.type != "condition":
            raise PydanticCustomError("branches", "only a `condition` step has `then` and `else` steps")
        return self


class WorkflowBody(BaseModel):
    """What starts the workflow, what it accepts, and its steps in order."""

    model_config = ConfigDict(extra="forbid")

    trigger: Trigger = Field(default_factory=Trigger)
    input: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object"}, description="A JSON Schema of the run's input."
    )
    steps: list[StepSpec] = Field(min_length=1)
    data_class: DataClass = Field(
        default="personenbezogen",
        description="The most sensitive data a run carries; decides which models may see it.",
    )

    @field_validator("input")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise PydanticCustomError(
                "input_schema", "not a valid JSON Schema: {reason}", {"reason": exc.message}
            ) from None
        return schema

    @field_validator("steps")
    @classmethod
    def _unique_ids(cls, steps: list[StepSpec]) -> list[StepSpec]:
        seen: set[str] = set()
        for step in walk(steps):
            if step.id in seen:
                raise PydanticCustomError("duplicate_step", "step id '{id}' is used twice", {"id": step.id})
            seen.add(step.id)
        if len(seen) > MAX_STEPS:
            raise PydanticCustomError("too_many_steps", "at most {limit} steps", {"limit": MAX_STEPS})
        return steps


class WorkflowSpec(BaseModel):
    """A workflow as an open, versionable document."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    api_version: Literal["rathaus/v1"] = Field(default="rathaus/v1", alias="apiVersion")
    kind: Literal["Workflow"] = "Workflow"
    metadata: Metadata
    spec: WorkflowBody


def walk(steps: list[StepSpec]) -> Iterator[StepSpec]:
    """Every step in document order, branches right after their condition."""
    for step in steps:
        yield step
        yield from walk(step.then)
        yield from walk(step.otherwise)


def addresses(
    steps: list[StepSpec], prefix: tuple[str | int, ...]
) -> Iterator[tuple[StepSpec, tuple[str | int, ...]]]:
    for index, step in enumerate(steps):
        here = (*prefix, index)
        yield step, here
        yield from addresses(step.then, (*here, "then"))
        yield from addresses(step.otherwise, (*here, "else"))


def load_workflow(text: str) -> WorkflowSpec:
    """Parse and validate a workflow document, step settings included; DocumentError lists every problem."""
    data, positions = parse_mapping(text)
    return check_workflow(data, positions)


def check_workflow(data: Any, positions: dict[tuple[str | int, ...], Any] | None = None) -> WorkflowSpec:
    """Validate parsed data (JSON, a form, YAML) including every step's settings against its type."""
    from rathaus.workflows.steps import step_types

    positions = positions or {}
    try:
        spec = WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        raise DocumentError(problems_from(exc, positions)) from None
    types = step_types()
    problems: list[Problem] = []
    for step, address in addresses(spec.spec.steps, ("spec", "steps")):
        kind = types.get(step.type)
        if kind is None:
            known = ", ".join(sorted(types))
            loc = (*address, "type")
            problems += _problem(loc, f"unknown step type '{step.type}' (known: {known})", positions)
            continue
        try:
            kind.settings.model_validate(step.settings)
        except ValidationError as exc:
            later = _filled_in_later if kind.templated else None
            problems += problems_from(exc, positions, (*address, "with"), later)
        problems += _syntax_problems(step, (*address, "with"), kind.templated, positions)
    if problems:
        raise DocumentError(problems)
    return spec


def _syntax_problems(
    step: StepSpec,
    address: tuple[str | int, ...],
    templated: bool,
    positions: dict[tuple[str | int, ...], Any],
) -> list[Problem]:
    """Templates in the settings (or a condition's expression) that do not parse, found before any run."""
    from rathaus.workflows.expressions import check_expression, template_problems

    if templated:
        found = template_problems(step.settings)
        return [
            p
            for path, why in found
            for p in _problem((*address, *path), f"template does not parse: {why}", positions, "template")
        ]
    when = step.settings.get("when")
    why = check_expression(when) if isinstance(when, str) else None
    return (
        _problem((*address, "when"), f"expression does not parse: {why}", positions, "expression")
        if why
        else []
    )


def _filled_in_later(error: Any) -> bool:
    """A setting that is a template is checked when the run fills it in, not when the document is saved."""
    value = error.get("input")
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _problem(
    loc: tuple[str | int, ...],
    message: str,
    positions: dict[tuple[str | int, ...], Any],
    code: str = "unknown_step_type",
) -> list[Problem]:
    mark = locate(loc, positions)
    line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
    return [Problem(".".join(str(p) for p in loc), message, line, column, code)]


def dump_workflow(spec: WorkflowSpec) -> str:
    """The document as people write it: YAML without the step fields that only repeat their defaults."""
    from rathaus.formats.documents import dump_data

    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    defaults = {
        name: field.default for name, field in StepSpec.model_fields.items() if field.default is not None
    }

    def tidy(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            for key in ("title", "timeout_seconds", "retries"):
                if key in step and step[key] == defaults.get(key):
                    del step[key]
            for branch in ("then", "else"):
                if not step.get(branch):
                    step.pop(branch, None)
                else:
                    tidy(step[branch])

    tidy(data["spec"]["steps"])
    return dump_data(data)
