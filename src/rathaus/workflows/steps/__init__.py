"""Step types: what a workflow step can do, registered through the `register_step_types` hook.

A step type declares its settings as a pydantic model (checked when the workflow is saved, and again after
templates are filled in at run time) and runs with a `StepContext`: the run's input, the outputs of the
steps before it, the services, an idempotency key for anything it sends out, and its deadline.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from rathaus.identity.principal import Principal
from rathaus.llm.catalogue import DataClass
from rathaus.routing.clearance import RANK, Exposure, Part, as_data_class
from rathaus.workflows.expressions import render_value

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rathaus.routing.route import Route
    from rathaus.services import Services


class StepFailed(Exception):
    """A step could not do its work. The message is technical (English, for IT and the API); `code` and
    `values` say what happened in words the run page translates (web/run_errors.py)."""

    def __init__(
        self, message: str, retry: bool = True, code: str | None = None, **values: str | int | float
    ) -> None:
        super().__init__(message)
        self.retry = retry  # False: trying again cannot help (bad settings, a refused host)
        self.code = code
        self.values = values


@dataclass
class StepContext:
    """What a step sees while it runs."""

    services: Services
    principal: Principal
    run_id: str
    step_id: str
    idempotency_key: str  # the same for every attempt of this step in this run
    input: dict[str, Any]
    outputs: dict[str, Any]
    deadline: float  # time.monotonic() value after which the attempt has timed out
    attempt: int = 1
    test: bool = False  # a trial run: nothing is sent out and nobody is asked
    data_class: DataClass = "personenbezogen"
    routes: list[Route] = field(default_factory=list)
    settings: Any = None  # the settings as filled in, kept with the step's record

    @property
    def variables(self) -> dict[str, Any]:
        """What templates may use: `input`, `steps.<id>.output`, `run.id`."""
        return {
            "input": self.input,
            "steps": {step: {"output": output} for step, output in self.outputs.items()},
            "run": {"id": self.run_id},
        }

    def remaining(self) -> float:
        """Seconds left before the deadline (at least a small positive value, for client timeouts)."""
        return max(self.deadline - time.monotonic(), 0.1)

    @property
    def exposure(self) -> Exposure:
        """What a model call of this step may carry: the run's input (of the workflow's data class) and the
        data class of every earlier step's output that came from a more sensitive source (passages
        retrieved, an assistant's answer); outputs keep it as `data_class`, so a resumed run knows it too."""
        exposure = Exposure.of(self.data_class, "input")
        for step, output in self.outputs.items():
            carried = output.get("data_class") if isinstance(output, dict) else None
            if isinstance(carried, str) and carried in RANK:
                exposure = exposure.plus(Part("step", as_data_class(carried), step))
        return exposure

    @property
    def wh(self) -> float:
        """The energy of the model calls this step made."""
        return sum(route.wh for route in self.routes)


@dataclass(frozen=True)
class Waiting:
    """The step waits for a person (an approval); the run pauses until they decide."""

    approval_id: str


@dataclass(frozen=True)
class Halt:
    """The step ends the run with this status (a rejected approval: `rejected`), keeping its output."""

    status: str
    output: Any


@dataclass(frozen=True)
class Missing:
    """Something a step needs to run that the installation or the tenant does not have: a mail server
    (`mail_server`), a host on the allow-list (`http_host`), an assistant or a collection of that name."""

    code: str
    subject: str = ""  # the host, the assistant's or the collection's name


@dataclass(frozen=True)
class Setup:
    """What a step's needs are checked against: the services (settings, catalogue), a session of the
    tenant, and the person who checks (what they may see is what a run they start may use)."""

    services: Services
    session: Session
    principal: Principal


def fixed(value: Any) -> str | None:
    """A setting as written when it has no template to fill in (only such values can be checked before a
    run); None otherwise."""
    return value if isinstance(value, str) and "{{" not in value and "{%" not in value else None


class StepType:
    """Base of all step types: `name`, `settings` (a pydantic model) and `run`."""

    name: ClassVar[str]
    settings: ClassVar[type[BaseModel]]
    side_effect: ClassVar[bool] = False  # it sends something out: uses the idempotency key
    category: ClassVar[str] = "logic"  # for the editor: model, logic, people, outbound
    templated: ClassVar[bool] = True  # string settings are filled in from templates before `run`
    outputs: ClassVar[tuple[str, ...]] = ()  # the output's values later steps use (the editor offers them)

    def prepare(self, context: StepContext, raw: dict[str, Any]) -> BaseModel:
        """The settings with their templates filled in (stopped at the step's deadline), checked again."""
        values = render_value(raw, context.variables, context.deadline) if self.templated else raw
        return self.settings.model_validate(values)

    def run(self, context: StepContext, settings: Any) -> Any:
        """Do the work; returns the step's output (JSON-compatible) or `Waiting`; raises StepFailed."""
        raise NotImplementedError

    def output_values(self, settings: dict[str, Any]) -> list[tuple[str, str]]:
        """The output's values later steps may use, as (key, name); an empty name means the type's own
        value `key`, which the interface names in its language."""
        return [(key, "") for key in self.outputs]

    def missing(self, settings: dict[str, Any], setup: Setup) -> list[Missing]:
        """What a run of this step would need and does not have, judged from its settings as written
        (values with templates are known only at run time). Nothing, unless the type says otherwise."""
        return []


Register = Callable[[StepType], None]


@functools.cache
def step_types() -> dict[str, StepType]:
    """Every registered step type by name (built-in and plugins), built on first use."""
    from rathaus.plugins import plugin_manager

    found: dict[str, StepType] = {}

    def register(step_type: StepType) -> None:
        if step_type.name in found:
            raise ValueError(f"step type '{step_type.name}' is registered twice")
        found[step_type.name] = step_type

    plugin_manager().hook.register_step_types(register=register)
    return found
