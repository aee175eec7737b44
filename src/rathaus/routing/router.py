"""The router: for each request, the smallest adequate model among those allowed to see it.

Eligible: a chat model cleared for the request's data class (which also decides where it may run), able to
follow a JSON schema when one is asked for, with context for the prompt, ready to serve, and not cut off by
its circuit breaker. Adequate: at least the tier the task type needs, one tier more for long inputs. The
router prefers the lowest adequate tier, then the cheaper, and keeps the other eligible models as fallbacks
in that order. Nothing here names a model: the catalogue says what exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rathaus.llm.backend import ChatRequest
from rathaus.llm.catalogue import Catalogue, DataClass, Profile
from rathaus.llm.pool import ModelPool
from rathaus.routing.checks import TASK_CHECKS
from rathaus.routing.classifier import MARGIN_MIN, LabelSchema, label_schema
from rathaus.routing.clearance import Exposure, Part, highest
from rathaus.routing.gateway import UnsupportedRequest
from rathaus.routing.route import Reason, Rejected, Route
from rathaus.sharing import CircuitBreaker

# The least capable tier that does each task well enough (tier 0 needs a handler, not a chat model).
# Classification goes to the tier-0 classifier first anyway. Extraction needs the 1.5B class: under the
# same JSON schema the 0.5B model got 0.55 of the fields right against 0.82 (docs/benchmarks.md, routing);
# so do writing German and answering from sources. The routing benchmark revisits these.
TASK_MIN_TIER: dict[str, int] = {
    "classify": 1,
    "extract": 2,
    "qa": 2,
    "summarize": 2,
    "chat": 2,
    "simplify": 2,
    "draft": 2,
    "translate": 2,
}
LONG_INPUT_TOKENS = 2000  # above this a small model loses the thread: one tier more
CHARS_PER_TOKEN = 4  # for estimates before a tokenizer has seen the text


def estimate_tokens(text: str) -> int:
    """A rough token count of German text (about four characters per token)."""
    return max(1, len(text) // CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Need:
    """What a request needs from a model."""

    task: str = "chat"
    data_class: DataClass = "personenbezogen"
    json_schema: bool = False
    prompt_tokens: int = 0
    max_tokens: int = 800
    labels: LabelSchema | None = None  # a classification a tier-0 classifier can try first
    # Where the prompt's text comes from, part by part; without it the request alone, of `data_class`.
    # With it, `data_class` is the parts' highest class.
    parts: Exposure | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.parts is not None:
            object.__setattr__(self, "data_class", self.parts.data_class)

    @property
    def exposure(self) -> Exposure:
        """Every part of the prompt with its data class: what a model must be cleared for."""
        return self.parts if self.parts is not None else Exposure.of(self.data_class)


def need_of(request: ChatRequest, data: DataClass | Exposure, task: str | None = None) -> Need:
    """What a chat request needs: its task (given, or a classification or extraction by its schema) and the
    data class of the request, or of every part of its prompt."""
    schema = request.json_schema
    labels = label_schema(schema)
    if task is None:
        task = "chat" if schema is None else "classify" if labels else "extract"
    prompt = sum(estimate_tokens(m.content) for m in request.messages)
    exposure = data if isinstance(data, Exposure) else Exposure.of(data)
    return Need(
        task, exposure.data_class, schema is not None, prompt, request.max_tokens or 800, labels, exposure
    )


class NoEligibleModel(UnsupportedRequest):
    """No model may or can take the request; the message says why for each."""

    def __init__(self, need: Need, rejected: list[Rejected]) -> None:
        reasons = (
            "; ".join(f"{r.model}: {r.reason.text}" for r in rejected) or "the catalogue has no chat model"
        )
        super().__init__(f"no model may take this request (data class '{need.data_class}'): {reasons}")
        self.rejected = rejected
        self.exposure = need.exposure


class NotCleared(NoEligibleModel):
    """The model a route is pinned to (named by the caller, an assistant or a step) may not see the data."""


def not_cleared(profile: Profile, uncleared: list[Part]) -> Reason:
    """The reason a profile may not see these parts: the highest of their classes, and the parts."""
    values = {
        "data_class": highest(p.data_class for p in uncleared),
        "location": profile.location,
        "parts": ", ".join(f"{p.label()} ({p.data_class})" for p in uncleared),
    }
    return Reason("data_class", values)


class Router:
    """Chooses a model per request from the catalogue; shares one circuit breaker per process."""

    def __init__(self, catalogue: Catalogue, pool: ModelPool, breaker: CircuitBreaker) -> None:
        self.catalogue = catalogue
        self.pool = pool
        self.breaker = breaker

    def minimum_tier(self, need: Need) -> tuple[int, bool]:
        """The least tier adequate for the request, and whether its input counts as long."""
        tier = TASK_MIN_TIER.get(need.task, 1)
        long_input = need.prompt_tokens > LONG_INPUT_TOKENS
        return tier + long_input, long_input

    def ineligible(self, profile: Profile, need: Need) -> Reason | None:
        """Why the profile may not or cannot take the request; None when it can."""
        uncleared = need.exposure.uncleared(profile)
        if uncleared:
            return not_cleared(profile, uncleared)
        if profile.can("chat"):
            if need.json_schema and not profile.can("json_schema"):
                return Reason("no_json_schema")
            if profile.context < need.prompt_tokens + need.max_tokens:
                return Reason("context", {"context": profile.context})
        elif profile.context < need.prompt_tokens:
            return Reason("reads_less", {"context": profile.context})
        if not self.breaker.allows(profile.id):
            return Reason("breaker_open")
        if not self.pool.available(profile):
            return Reason("not_ready")
        return None

    def plan(self, need: Need) -> Route:
        """The route: the chosen model, the reason, the rejected ones and the fallbacks in order."""
        rejected: list[Rejected] = []
        eligible: list[Profile] = []
        classifiers: list[Profile] = []
        for profile in self.catalogue.profiles():
            classifier = profile.tier == 0 and profile.can("embeddings") and need.labels is not None
            if not (profile.can("chat") or classifier):
                continue
            why = self.ineligible(profile, need)
            if why is not None:
                rejected.append(Rejected(profile.id, why))
            else:
                (classifiers if classifier else eligible).append(profile)
        if not eligible and not classifiers:
            raise NoEligibleModel(need, rejected)
        minimum, long_input = self.minimum_tier(need)
        values = {"minimum": minimum, "task": need.task}

        def order(profile: Profile) -> tuple[int, float, str]:
            price = profile.cost.eur_per_1m_input + profile.cost.eur_per_1m_output
            return (profile.tier, price, profile.id)

        adequate = sorted((p for p in eligible if p.tier >= minimum), key=order)
        weaker = sorted((p for p in eligible if p.tier < minimum), key=order, reverse=True)
        ranked = adequate + weaker
        checked = need.task in TASK_CHECKS and not need.json_schema  # its answer is checked, then escalated
        for profile in ranked[1:] if not classifiers else ranked:
            note = Reason("fallback_kept" if profile.tier <= ranked[0].tier else "larger")
            if classifiers:
                note = Reason("escalation")
            elif checked and profile.tier > ranked[0].tier:
                note = Reason("escalation_check")
            elif profile.tier < minimum:
                note = Reason("below_minimum", {**values, "tier": profile.tier})
            rejected.append(Rejected(profile.id, note))
        if classifiers:
            reason = Reason("classifier", {"margin": MARGIN_MIN})
            route = Route(classifiers[0].id, 0, reason, rejected, [p.id for p in ranked])
            return _expecting(route, need)
        chosen = ranked[0]
        if not adequate:
            reason = Reason("strongest_eligible", values)
        elif long_input:
            reason = Reason("smallest_adequate_long", {**values, "tokens": need.prompt_tokens})
        else:
            reason = Reason("smallest_adequate", values)
        route = Route(chosen.id, chosen.tier, reason, rejected, [p.id for p in ranked[1:]])
        route.checked_task = need.task if checked else None
        return _expecting(route, need)

    def pinned(self, need: Need, candidates: list[str], reason: Reason) -> Route:
        """A route to the first of the candidates (a model named by the caller, an assistant's policy or a
        workflow step) that may see the data and can follow the request; no other model is tried.

        Raises NotCleared when no candidate may see the data, UnsupportedRequest when none can do the task
        (not a chat model, no JSON schema). Readiness is left to the backend, whose error says what to do.
        """
        rejected: list[Rejected] = []
        for model_id in candidates:
            profile = self.catalogue.get(model_id)
            uncleared = need.exposure.uncleared(profile)
            if uncleared:
                rejected.append(Rejected(profile.id, not_cleared(profile, uncleared)))
            elif not profile.can("chat"):
                raise UnsupportedRequest(f"the model '{model_id}' is not a chat model")
            elif need.json_schema and not profile.can("json_schema"):
                raise UnsupportedRequest(f"the model '{model_id}' cannot follow a JSON schema")
            else:
                route = Route(profile.id, profile.tier, reason, rejected, pinned=True)
                return _expecting(route, need)
        if not rejected:
            raise NoEligibleModel(need, [])
        raise NotCleared(need, rejected)


def _expecting(route: Route, need: Need) -> Route:
    """The route with what the router expects of it: tokens (for budgets) and the data it carries."""
    route.expected_in, route.expected_out = need.prompt_tokens, need.max_tokens
    route.exposure = need.exposure
    route.data_class = need.data_class
    return route
