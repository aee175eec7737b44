"""What an assistant's prompts carry and whether its model policy may serve them.

An assistant brings its own data class (its instructions and the conversation), the classes of its
knowledge collections and of any document in them marked more sensitive, and whatever the caller adds (a
citizen's message in a chatbot, a workflow's input). The router holds every request to that; saving an
assistant, publishing it as a chatbot or using it in a workflow is refused when no model its policy may
use is cleared for all of it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from rathaus.assistants.spec import AssistantSpec
from rathaus.knowledge import collections
from rathaus.llm.catalogue import Catalogue, Profile, UnknownModel
from rathaus.routing.clearance import Exposure, policy_problem


def exposure_of(session: Session, spec: AssistantSpec, caller: Exposure | None = None) -> Exposure:
    """Every part an answer of the assistant may carry, the caller's first."""
    body = spec.spec
    own = Exposure.of(body.data_class, "assistant", spec.metadata.name)
    exposure = caller.merged(own) if caller is not None else own
    return exposure.plus(*collections.exposure(session, body.knowledge))


def candidates(catalogue: Catalogue, spec: AssistantSpec) -> tuple[list[Profile] | None, str]:
    """The models the assistant's policy may use (None: any, under `auto`) and the policy in German words."""
    model = spec.spec.model
    if model.mode == "profile" and model.profile:
        try:
            return [catalogue.get(model.profile)], f"Modell „{model.profile}“"
        except UnknownModel:
            return [], f"Modell „{model.profile}“"
    if model.mode == "tier":
        return [p for p in catalogue.profiles() if p.tier == model.tier], f"Stufe {model.tier}"
    return None, "automatisch"


def problem(
    session: Session, catalogue: Catalogue, spec: AssistantSpec, caller: Exposure | None = None
) -> str | None:
    """Why the assistant's policy cannot serve what its answers carry (German), or None when it can."""
    allowed, policy = candidates(catalogue, spec)
    needs_schema = spec.spec.output.format == "json"
    return policy_problem(catalogue, exposure_of(session, spec, caller), allowed, needs_schema, policy)
