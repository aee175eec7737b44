"""Whether a workflow's model steps may see what its runs carry, checked when it is saved.

A run carries its input (of the workflow's data class); a `retrieve` step adds its collection's class (and
that of any document in it marked more sensitive), an `ask` step what its assistant's answers carry. Each
model step, in run order, must have a model its setting allows (`auto`: any) that is cleared for everything
carried so far; an `ask` step's assistant must have one for its own sources and the run's data. At run time
the router holds every call to the same rule (steps/language.py); this check names the problem before a run
ever starts.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rathaus.assistants import policy as assistant_policy
from rathaus.assistants.models import Assistant, AssistantVersion
from rathaus.assistants.spec import AssistantSpec
from rathaus.formats.documents import Problem
from rathaus.knowledge import collections
from rathaus.llm.catalogue import Catalogue, UnknownModel
from rathaus.routing.clearance import Exposure, policy_problem
from rathaus.workflows.spec import WorkflowSpec, addresses
from rathaus.workflows.steps import step_types

SCHEMA_STEPS = frozenset({"classify", "extract"})  # their answers follow a JSON schema


def _fixed(value: object) -> str | None:
    """A setting's value when it is fixed text, not a template filled in at run time."""
    if isinstance(value, str) and "{{" not in value and "{%" not in value:
        return value
    return None


def _assistant(session: Session, name: str) -> AssistantSpec | None:
    """The current document of the tenant's assistant of that name, whoever may see it."""
    document = session.scalars(
        select(AssistantVersion.document)
        .join(Assistant, Assistant.id == AssistantVersion.assistant_id)
        .where(Assistant.name == name, AssistantVersion.version == Assistant.current_version)
    ).first()
    return AssistantSpec.model_validate(document) if document is not None else None


def problems(session: Session, catalogue: Catalogue, spec: WorkflowSpec) -> list[Problem]:
    """Every model step whose model choice may not see what the run carries by then (German messages)."""
    kinds = step_types()
    carried = Exposure.of(spec.spec.data_class, "input")
    found: list[Problem] = []
    for step, address in addresses(spec.spec.steps, ("spec", "steps")):
        path = ".".join(str(p) for p in address)
        settings = step.settings
        if step.type == "retrieve":
            name = _fixed(settings.get("collection"))
            carried = carried.plus(*collections.exposure(session, [name] if name else []))
        elif step.type == "ask":
            name = _fixed(settings.get("assistant"))
            assistant = _assistant(session, name) if name else None
            if assistant is not None:
                why = assistant_policy.problem(session, catalogue, assistant, carried)
                if why is not None:
                    found.append(Problem(f"{path}.with.assistant", why, code="data_class"))
                carried = assistant_policy.exposure_of(session, assistant, carried)
        elif step.type in kinds and kinds[step.type].category == "model":
            model = _fixed(settings.get("model", "auto")) or "auto"
            try:
                allowed = None if model == "auto" else [catalogue.get(model)]
            except UnknownModel:
                continue  # the run names the unknown model; the data class is not the problem
            policy = f"Schritt „{step.id}“" + ("" if model == "auto" else f", Modell „{model}“")
            why = policy_problem(catalogue, carried, allowed, step.type in SCHEMA_STEPS, policy)
            if why is not None:
                found.append(Problem(f"{path}.with.model", why, code="data_class"))
    return found
