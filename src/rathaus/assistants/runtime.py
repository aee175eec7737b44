"""Running an assistant: its document turns a conversation into a model request on a cleared model."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rathaus.assistants import grounding, registry
from rathaus.assistants.spec import TEMPERATURE, AssistantSpec
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message, StreamItem
from rathaus.llm.catalogue import Catalogue, Profile
from rathaus.llm.gateway import UnsupportedRequest
from rathaus.llm.pool import ModelPool

if TYPE_CHECKING:
    from rathaus.services import Services

MODEL_PREFIX = "assistant/"
DEFAULT_MAX_TOKENS = 800  # an answer longer than about two pages is a runaway, not an answer
FORMAT_HINTS = {
    "text": "Antworte als schlichter Text ohne Markdown.",
    "markdown": "Du darfst Markdown verwenden (Überschriften, Listen, Fettdruck).",
    "json": "Antworte ausschließlich mit JSON nach dem vorgegebenen Schema.",
}


def assistant_name(model: str) -> str | None:
    """`assistant/<name>` → name; other model ids → None."""
    return model[len(MODEL_PREFIX) :] if model.startswith(MODEL_PREFIX) else None


@dataclass(frozen=True)
class Prepared:
    """An assistant's model request: the model, the request, and for assistants with knowledge the sources."""

    profile: Profile
    request: ChatRequest
    grounded: grounding.Grounding | None = None

    def stream(
        self, services: Services, principal: Principal, endpoint: str
    ) -> Generator[StreamItem, None, None]:
        """The answer: from the model, or the assistant's "not found" answer when retrieval found nothing."""
        if self.grounded is not None and not self.grounded.found:
            return grounding.fixed_answer(self.grounded.not_found_text)
        return services.gateway.chat(principal, self.profile, self.request, endpoint=endpoint)

    @property
    def sources(self) -> list[grounding.Source]:
        """The passages given to the model (empty without knowledge)."""
        return self.grounded.sources if self.grounded is not None else []


def build_request(
    spec: AssistantSpec,
    conversation: list[Message],
    max_tokens: int | None = None,
    grounded: grounding.Grounding | None = None,
) -> ChatRequest:
    """The model request: the instructions (with any sources) first, creativity and output format applied."""
    body = spec.spec
    instructions = (
        body.instructions if grounded is None else grounding.system_prompt(body.instructions, grounded)
    )
    system = f"{instructions.strip()}\n\n{FORMAT_HINTS[body.output.format]}"
    response_format = None
    if body.output.format == "json" and body.output.json_schema:
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": spec.metadata.name, "schema": body.output.json_schema},
        }
    return ChatRequest(
        messages=[Message(role="system", content=system), *conversation],
        temperature=TEMPERATURE[body.creativity],
        max_tokens=max_tokens or DEFAULT_MAX_TOKENS,
        response_format=response_format,
    )


def choose_profile(spec: AssistantSpec, catalogue: Catalogue, pool: ModelPool, default_model: str) -> Profile:
    """The model the assistant's policy names, cleared for its data class and able to do the job.

    `auto` uses the default model until routing chooses per request; a tier takes the first ready
    chat model of that tier.
    """
    body = spec.spec
    needs_schema = body.output.format == "json"

    def fits(profile: Profile) -> bool:
        return (
            profile.can("chat")
            and (not needs_schema or profile.can("json_schema"))
            and body.data_class in (profile.data_classes or [])
        )

    if body.model.mode == "profile" and body.model.profile:
        candidates = [catalogue.get(body.model.profile)]
    elif body.model.mode == "tier":
        candidates = [p for p in catalogue.profiles() if p.tier == body.model.tier and pool.available(p)]
    else:
        candidates = [catalogue.get(default_model)]
    for profile in candidates:
        if fits(profile):
            return profile
    raise UnsupportedRequest(
        f"no model for assistant '{spec.metadata.name}': none of "
        f"{', '.join(p.id for p in candidates) or 'the models of that tier'} is a chat model cleared for "
        f"data class '{body.data_class}'{' with JSON schema output' if needs_schema else ''}"
    )


def prepare_chat(services: Services, principal: Principal, name: str, request: ChatRequest) -> Prepared:
    """The profile and model request for a client that sent `model: assistant/<name>`.

    The client's own system messages are replaced by the assistant's instructions: the assistant's
    behaviour is what the tenant configured, whatever the client sends.
    """
    with services.db.session(principal.tenant_id) as session:
        spec = registry.load(session, principal, name).spec
    return prepare_for(services, principal, spec, request)


def prepare_for(
    services: Services, principal: Principal, spec: AssistantSpec, request: ChatRequest
) -> Prepared:
    """The model, the request and (with knowledge) the sources for an assistant document already loaded."""
    conversation = [m for m in request.messages if m.role != "system"]
    if not conversation:
        raise UnsupportedRequest("the conversation needs at least one user message")
    profile = choose_profile(spec, services.catalogue, services.pool, services.settings.default_model)
    grounded = grounding.ground(services, principal, spec, conversation) if spec.spec.knowledge else None
    prepared = build_request(spec, conversation, request.max_tokens, grounded)
    if grounded is not None and grounded.found and "logprobs" in services.pool.backend(profile).capabilities:
        grounded = grounding.check(services, principal, profile, prepared, conversation, grounded)
    return Prepared(profile, prepared, grounded)
