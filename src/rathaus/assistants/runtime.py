"""Running an assistant: its document turns a conversation into a model request on a cleared model."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rathaus.assistants import extractive, grounding, policy, registry
from rathaus.assistants.spec import TEMPERATURE, AssistantSpec
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message, StreamItem
from rathaus.llm.catalogue import Profile
from rathaus.routing.clearance import Exposure
from rathaus.routing.gateway import UnsupportedRequest
from rathaus.routing.route import Attempt, Reason, Rejected, Route
from rathaus.routing.router import Need, estimate_tokens

if TYPE_CHECKING:
    from rathaus.services import Services

MODEL_PREFIX = "assistant/"
NOT_FOUND_RULE = "rule:not-found"  # the route of an answer no model was asked for
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
    route: Route | None = None
    quoted: str | None = None  # an extractive answer (tier 0): no model is asked

    def stream(
        self, services: Services, principal: Principal, endpoint: str
    ) -> Generator[StreamItem, None, None]:
        """The answer: from the model, or the assistant's "not found" answer when retrieval found nothing."""
        if self.grounded is not None and not self.grounded.found:
            return grounding.fixed_answer(self.grounded.not_found_text)
        if self.quoted is not None:
            return grounding.fixed_answer(self.quoted)
        if self.route is None:
            raise UnsupportedRequest("an assistant's request needs its route")
        return services.routing.run(principal, self.route, self.request, endpoint)

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


def plan(
    services: Services,
    spec: AssistantSpec,
    conversation: list[Message],
    max_tokens: int,
    exposure: Exposure,
) -> Route:
    """The assistant's route: the router decides under `auto`; a tier or profile is the policy's choice.

    A named tier takes the first ready chat model of that tier. Either way the model must be a chat model
    cleared for every part the answer carries (`exposure`) and able to follow the assistant's JSON schema.
    """
    body = spec.spec
    needs_schema = body.output.format == "json"
    prompt = estimate_tokens(body.instructions) + sum(estimate_tokens(m.content) for m in conversation)
    if body.knowledge:
        prompt += grounding.PASSAGES * grounding.PASSAGE_TOKENS
    need = Need(body.task, exposure.data_class, needs_schema, prompt, max_tokens, parts=exposure)
    if body.model.mode == "auto":
        return services.routing.plan(need)
    if body.model.mode == "profile" and body.model.profile:
        return services.routing.router.pinned(need, [body.model.profile], Reason("policy_profile"))
    ready = [
        p.id
        for p in services.catalogue.profiles()
        if p.tier == body.model.tier
        and p.can("chat")
        and (not needs_schema or p.can("json_schema"))
        and services.pool.available(p)
    ]
    if not ready:
        raise UnsupportedRequest(
            f"no model for assistant '{spec.metadata.name}': no ready chat model of tier {body.model.tier}"
            f"{' with JSON schema output' if needs_schema else ''}"
        )
    return services.routing.router.pinned(need, ready, Reason("policy_tier", {"tier": body.model.tier}))


def prepare_chat(
    services: Services,
    principal: Principal,
    name: str,
    request: ChatRequest,
    caller: Exposure | None = None,
) -> Prepared:
    """The profile and model request for a client that sent `model: assistant/<name>`.

    The client's own system messages are replaced by the assistant's instructions: the assistant's
    behaviour is what the tenant configured, whatever the client sends. `caller` is what the client's text
    carries, where it says (a workflow's input, a request's declared data class).
    """
    with services.db.session(principal.tenant_id) as session:
        spec = registry.load(session, principal, name).spec
    return prepare_for(services, principal, spec, request, caller)


def prepare_for(
    services: Services,
    principal: Principal,
    spec: AssistantSpec,
    request: ChatRequest,
    caller: Exposure | None = None,
) -> Prepared:
    """The model, the request and (with knowledge) the sources for an assistant document already loaded."""
    conversation = [m for m in request.messages if m.role != "system"]
    if not conversation:
        raise UnsupportedRequest("the conversation needs at least one user message")
    with services.db.session(principal.tenant_id) as session:
        exposure = policy.exposure_of(session, spec, caller)
    route = plan(services, spec, conversation, request.max_tokens or DEFAULT_MAX_TOKENS, exposure)
    route.assistant = spec.metadata.name
    profile = services.catalogue.get(route.chosen)
    grounded = grounding.ground(services, principal, spec, conversation) if spec.spec.knowledge else None
    prepared = build_request(spec, conversation, request.max_tokens, grounded)
    quoted = _extractive(services, principal, spec, conversation, grounded, route)
    if quoted is not None:
        return Prepared(services.catalogue.get(route.chosen), prepared, grounded, route, quoted)
    if grounded is None or grounded.found:
        services.routing.admit(principal, route)  # before any model is asked; BudgetExhausted refuses
        profile = services.catalogue.get(route.chosen)  # a used-up budget may have downgraded the route
    if grounded is not None and grounded.found and "logprobs" in services.pool.backend(profile).capabilities:
        grounded = grounding.check(services, principal, profile, prepared, conversation, grounded, route)
        if not grounded.found and route.admission is not None:
            services.gateway.budgets.release(route.admission)
    if grounded is not None and grounded.reason == "no_passage":
        route.rejected.append(Rejected(route.chosen, Reason("not_needed")))
        route.chosen, route.tier = NOT_FOUND_RULE, 0
        route.reason = Reason("no_passage")
        route.fallbacks = []
    elif grounded is not None and not grounded.found:
        chance = f"{grounded.answerable:.2f}" if grounded.answerable is not None else "?"
        detail = f"the sources do not answer the question (probability of yes {chance}): not-found answer"
        route.attempts.append(Attempt(route.chosen, "ok", detail))
    return Prepared(profile, prepared, grounded, route)


def _extractive(
    services: Services,
    principal: Principal,
    spec: AssistantSpec,
    conversation: list[Message],
    grounded: grounding.Grounding | None,
    route: Route,
) -> str | None:
    """Tier 0 for a question the best passage clearly answers: its sentences quoted; the route says so."""
    body = spec.spec
    if grounded is None or body.model.mode != "auto" or body.task not in extractive.TASKS:
        return None
    if not extractive.confident(grounded):
        return None
    planned = route.chosen
    quoted = extractive.answer(services, principal, grounding.question_of(conversation), grounded, route)
    if quoted is None:
        return None
    similarity = round(grounded.similarity or 0.0, 3)
    route.rejected.append(Rejected(planned, Reason("not_needed_extractive")))
    route.rejected.extend(Rejected(m, Reason("not_needed_extractive")) for m in route.fallbacks)
    route.chosen, route.tier, route.fallbacks = services.knowledge.embedding_model, 0, []
    route.reason = Reason("extractive", {"similarity": similarity, "minimum": extractive.EXTRACTIVE_MIN})
    route.attempts.append(Attempt(route.chosen, "ok", f"quoted passage [1] (similarity {similarity})"))
    return quoted
