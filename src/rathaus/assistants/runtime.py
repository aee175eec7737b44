"""Running an assistant: its document turns a conversation into a model request on a cleared model."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from rathaus.assistants import evidence, fact_check, grounding, policy, registry
from rathaus.assistants.spec import TEMPERATURE, AssistantSpec
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
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
EVIDENCE_MAX_TOKENS = 240  # three short sentences from the evidence, with room to spare
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
    # the sentences the answer is written from (and checked against)
    evidence: evidence.Evidence | None = None
    question: str = ""
    dropped: list[str] = field(default_factory=list)  # written sentences not shown, with what was unsupported

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
        written = services.routing.run(principal, self.route, self.request, endpoint)
        if self.evidence is not None:
            known = f"{self.question}\n{self.grounded.not_found_text if self.grounded else ''}"
            return fact_check.checked_stream(written, self.evidence, known, self.fallback, self.dropped)
        return written

    @property
    def fallback(self) -> str:
        """What is shown when the check leaves nothing of the written answer: the evidence quoted where it
        answers clearly (the model wrote around it), otherwise "not found" (the model wrote what the
        evidence does not hold: the texts most likely do not answer the question)."""
        found, grounded = self.evidence, self.grounded
        if found is not None and found.best >= evidence.QUOTE_MIN:
            return fact_check.quoted(found.quotes[: evidence.PER_PART])
        return grounded.not_found_text if grounded is not None else ""

    @property
    def sources(self) -> list[grounding.Source]:
        """The passages given to the model (empty without knowledge)."""
        return self.grounded.sources if self.grounded is not None else []


def build_request(
    spec: AssistantSpec,
    conversation: list[Message],
    max_tokens: int | None = None,
    grounded: grounding.Grounding | None = None,
    found: evidence.Evidence | None = None,
) -> ChatRequest:
    """The model request: the instructions (with the evidence, or any sources) first, creativity and output
    format applied."""
    body = spec.spec
    if found is not None and found.answers:
        instructions = grounding.evidence_prompt(body.instructions, found)
        max_tokens = max_tokens or EVIDENCE_MAX_TOKENS
    elif grounded is not None:
        instructions = grounding.system_prompt(body.instructions, grounded)
    else:
        instructions = body.instructions
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
    found = None
    if grounded is not None and grounded.found and spec.spec.task in evidence.TASKS:
        found = _evidence(services, principal, conversation, grounded, route)
        if not found.answers:
            grounded = replace(grounded, sources=[], reason=found.reason)
    prepared = build_request(spec, conversation, request.max_tokens, grounded, found)
    quoted = _quoted(services, spec, found, route) if found is not None and found.answers else None
    if quoted is not None:
        question = grounding.question_of(conversation)
        return Prepared(
            services.catalogue.get(route.chosen), prepared, grounded, route, quoted, found, question
        )
    if grounded is None or grounded.found:
        services.routing.admit(principal, route)  # before any model is asked; BudgetExhausted refuses
        profile = services.catalogue.get(route.chosen)  # a used-up budget may have downgraded the route
    if (
        grounded is not None
        and grounded.found
        and found is None
        and "logprobs" in services.pool.backend(profile).capabilities
    ):
        # Without evidence the model is asked first whether the passages answer the question. With evidence
        # it is not: on the real question sets the small model's "yes" told answerable from unanswerable
        # questions no better than chance (docs/benchmarks.md), and it cost seconds before the evidence.
        grounded = grounding.check(services, principal, profile, prepared, conversation, grounded, route)
        if not grounded.found and route.admission is not None:
            services.gateway.budgets.release(route.admission)
    if grounded is not None and grounded.reason in ("no_passage", *evidence.NOT_ANSWERED):
        route.rejected.append(Rejected(route.chosen, Reason("not_needed")))
        route.chosen, route.tier = NOT_FOUND_RULE, 0
        route.reason = Reason(
            {"other_place": "other_place", "no_passage": "no_passage"}.get(grounded.reason, "no_evidence")
        )
        route.fallbacks = []
    elif grounded is not None and not grounded.found:
        chance = f"{grounded.answerable:.2f}" if grounded.answerable is not None else "?"
        detail = f"the sources do not answer the question (probability of yes {chance}): not-found answer"
        route.attempts.append(Attempt(route.chosen, "ok", detail))
    question = grounding.question_of(conversation)
    return Prepared(
        profile,
        prepared,
        grounded,
        route,
        evidence=found if found and found.answers else None,
        question=question,
    )


def _evidence(
    services: Services,
    principal: Principal,
    conversation: list[Message],
    grounded: grounding.Grounding,
    route: Route,
) -> evidence.Evidence:
    """The sentences of the sources that answer the conversation's question."""
    return evidence_for(services, principal, grounding.question_of(conversation), grounded.sources, route)


def evidence_for(
    services: Services,
    principal: Principal,
    question: str,
    sources: list[grounding.Source],
    route: Route | None = None,
    trace: list[tuple[int, bool, evidence.Features, evidence.Candidate]] | None = None,
) -> evidence.Evidence:
    """The sentences of the sources that answer the question (the embeddings recorded on the route)."""

    def embed(texts: list[str], kind: str) -> Sequence[Sequence[float]]:
        if kind != "query":  # read only when sentences are compared (not for another place, say)
            stored = services.knowledge.stored_sentences(
                principal, [(s.passage_id, s.text, f"{s.document_title} {s.heading}") for s in sources]
            )
            return services.knowledge.sentence_vectors(principal, texts, "assistant.evidence", route, stored)
        return services.knowledge.question_vectors(principal, texts, "assistant.evidence", route)

    def documents() -> dict[int, str]:
        with services.db.session(principal.tenant_id, read_only=True) as session:
            texts = collections.document_texts(session, list({s.document_id for s in sources}))
        return {s.number: texts.get(s.document_id, "") for s in sources}

    candidates = [(s.number, s.text, s.similarity, f"{s.document_title} {s.heading}") for s in sources]
    return evidence.select(question, candidates, embed, documents, trace)


def _quoted(services: Services, spec: AssistantSpec, found: evidence.Evidence, route: Route) -> str | None:
    """Tier 0 for a one-part question the evidence clearly answers, when the policy lets the router choose:
    the evidence itself, quoted and cited, without a language model. The route says so."""
    if spec.spec.model.mode != "auto" or len(found.parts) > 1 or found.best < evidence.QUOTE_MIN:
        return None
    planned = route.chosen
    score = round(found.best, 3)
    route.rejected.append(Rejected(planned, Reason("not_needed_extractive")))
    route.rejected.extend(Rejected(m, Reason("not_needed_extractive")) for m in route.fallbacks)
    route.chosen, route.tier, route.fallbacks = services.knowledge.embedding_model, 0, []
    route.reason = Reason("extractive", {"score": score, "minimum": evidence.QUOTE_MIN})
    route.attempts.append(Attempt(route.chosen, "ok", f"quoted the evidence (score {score})"))
    return fact_check.quoted(found.quotes[: evidence.PER_PART])
