"""Running routed requests: tier 0 first where it can answer, then the language models in route order.

Cascades: a classification goes to the tier-0 classifier first; when its best label does not lead
clearly, it escalates to a language model measured better on those labels (routing/label_trials.py), or
keeps its label marked unsure; a language model that classifies is shown the labels' descriptions (the
schema limits what it may write, but it reads only the prompt); an answer that must follow a JSON schema is
checked against it and, when it does not, asked again of the next larger model; so is a task whose
answer can be checked (a text in Leichte Sprache).
Checked answers are sent whole, not streamed, while a larger model remains. Every attempt is recorded on
the route.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from contextlib import closing

from rathaus.accounting.footprint import estimate
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message, StreamItem, TextChunk, Usage
from rathaus.routing.checks import answer_check
from rathaus.routing.classifier import MARGIN_MIN, EmbeddingClassifier, LabelSchema
from rathaus.routing.fallback import routed_chat
from rathaus.routing.gateway import ModelGateway
from rathaus.routing.label_trials import ENDPOINT as TRIAL
from rathaus.routing.label_trials import (
    INSTRUCTIONS,
    MIN_EXAMPLES,
    LabelTrials,
    Outcome,
    cases,
    json_schema,
    key_of,
    value_of,
)
from rathaus.routing.route import Attempt, Reason, Rejected, Route
from rathaus.routing.router import Need, Router, estimate_tokens
from rathaus.sharing import CircuitBreaker


class Dispatcher:
    """Plans a route per request and runs it: classifier cascade, fallbacks, breaker."""

    def __init__(self, gateway: ModelGateway, router: Router) -> None:
        self.gateway = gateway
        self.router = router
        self._lock = threading.Lock()
        self._classifiers: dict[str, EmbeddingClassifier] = {}
        self.trials = LabelTrials(gateway.db)

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker shared by all routed requests."""
        return self.router.breaker

    def plan(self, need: Need) -> Route:
        """The route for a request (raises NoEligibleModel with the reasons)."""
        return self.router.plan(need)

    def admit(self, principal: Principal, route: Route) -> None:
        """Reserve the route's expected cost on the tenant's budgets (once); downgrade or refuse when used up.

        Raises BudgetExhausted when a budget that refuses is used up.
        """
        if route.admission is not None:
            return
        catalogue = self.gateway.catalogue
        grid = self.gateway.costing.grid_g_per_kwh
        expected = estimate(catalogue.get(route.chosen), route.expected_in, route.expected_out, grid)
        route.admission = self.gateway.budgets.admit(
            principal.tenant_id,
            route.assistant,
            expected.eur,
            expected.wh or 0.0,
            model=route.chosen,
            user_id=principal.user_id,
        )
        route.budget_warnings = list(route.admission.warnings)
        if route.admission.downgrade and route.fallbacks:
            candidates = [catalogue.get(m) for m in [route.chosen, *route.fallbacks]]
            smallest = min(candidates, key=lambda p: (p.tier, p.id))
            if smallest.id != route.chosen:
                route.rejected.append(Rejected(route.chosen, Reason("budget")))
                route.chosen, route.tier = smallest.id, smallest.tier
            route.reason = Reason("budget_downgrade")
            route.fallbacks = []

    def classifier(self, model_id: str) -> EmbeddingClassifier:
        """The classifier on one embedding model (its label vectors are cached)."""
        with self._lock:
            return self._classifiers.setdefault(model_id, EmbeddingClassifier(self.gateway, model_id))

    def run(
        self,
        principal: Principal,
        route: Route,
        request: ChatRequest,
        endpoint: str,
        labels: LabelSchema | None = None,
    ) -> Generator[StreamItem, None, None]:
        """The answer along the route; the route records each attempt as it goes."""
        self.admit(principal, route)
        try:
            yield from self._run(principal, route, request, endpoint, labels)
        finally:
            if route.admission is not None:
                self.gateway.budgets.release(route.admission)

    def _run(
        self,
        principal: Principal,
        route: Route,
        request: ChatRequest,
        endpoint: str,
        labels: LabelSchema | None,
    ) -> Generator[StreamItem, None, None]:
        if route.tier == 0 and labels is not None:
            text = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
            verdict = self.classifier(route.chosen).classify(principal, text, labels, endpoint, route)
            detail = f"label '{verdict.label}', lead {verdict.margin:.3f}"
            if verdict.confident:
                route.attempts.append(Attempt(route.chosen, "ok", detail))
                answer = labels.answer(verdict.label)
                yield TextChunk(answer)
                yield Usage(tokens_in=estimate_tokens(text), tokens_out=estimate_tokens(answer))
                return
            better = self._measured_better(principal, route, labels)
            unsure = {"label": verdict.label, "lead": round(verdict.margin, 3)}
            if better is None:  # no model classifies these labels better: tier 0's label, marked unsure
                route.attempts.append(Attempt(route.chosen, "unsure", f"{detail} < {MARGIN_MIN}"))
                route.reason = Reason("unsure_kept", unsure)
                answer = labels.answer(verdict.label)
                yield TextChunk(answer)
                yield Usage(tokens_in=estimate_tokens(text), tokens_out=estimate_tokens(answer))
                return
            route.attempts.append(Attempt(route.chosen, "escalated", f"{detail} < {MARGIN_MIN}"))
            route.fallbacks.remove(better.model_id)
            profile = self.gateway.catalogue.get(better.model_id)
            route.chosen, route.tier = profile.id, profile.tier
            right, tier0_right, examples = better.compared
            measured = {"right": right, "tier0_right": tier0_right, "examples": examples}
            route.reason = Reason("escalated_measured", {**unsure, **measured})
        if labels is not None:
            request = with_listing(request, labels)
        check = answer_check(request, route.checked_task)
        while check is not None and self._larger(route):
            items = list(self._answer(principal, route, request, endpoint))
            text = "".join(i.text for i in items if isinstance(i, TextChunk))
            problem = check(text)
            if problem is None:
                yield from items
                return
            route.attempts[-1] = Attempt(route.chosen, "escalated", problem)
            larger = self._larger(route)[0]
            if request.json_schema is not None:
                route.reason = Reason("escalated_schema", {"model": route.chosen})
            else:
                route.reason = Reason("escalated_check", {"model": route.chosen, "task": route.checked_task})
            route.fallbacks = [m for m in route.fallbacks if m != larger]
            route.chosen, route.tier = larger, self.gateway.catalogue.get(larger).tier
        yield from self._answer(principal, route, request, endpoint)

    def _measured_better(self, principal: Principal, route: Route, labels: LabelSchema) -> Outcome | None:
        """The first language model of the route measured better than tier 0 on these labels; measures the
        others in the background when none is (once per label set, when it has examples enough)."""
        key = key_of(labels, route.chosen)
        measured = self.trials.outcomes(principal.tenant_id, key, route.fallbacks)
        better = next((measured[m] for m in route.fallbacks if m in measured and measured[m].better), None)
        unmeasured = [m for m in route.fallbacks if m not in measured]
        if better is None and unmeasured and len(cases(labels)) >= MIN_EXAMPLES:
            asker = Principal(tenant_id=principal.tenant_id, role=principal.role)
            classifier = route.chosen
            self.trials.start(
                principal.tenant_id,
                key,
                lambda: self._measure_all(asker, labels, classifier, unmeasured, key),
            )
        return better

    def _measure_all(
        self, principal: Principal, labels: LabelSchema, classifier: str, models: list[str], key: str
    ) -> None:
        for model_id in models:  # in route order, until one classifies better than tier 0
            outcome = self.measure(principal, labels, classifier, model_id)
            self.trials.store(principal.tenant_id, key, outcome)
            if outcome.better:
                return

    def measure(self, principal: Principal, labels: LabelSchema, classifier: str, model_id: str) -> Outcome:
        """Tier 0 (`classifier`) and a language model on the label set's examples, each held out in turn;
        every request is recorded (endpoint `routing.trial`)."""
        profile = self.gateway.catalogue.get(model_id)
        schema = {"type": "json_schema", "json_schema": {"name": "label", "schema": json_schema(labels)}}
        tier0 = model = unsure = tier0_unsure = model_unsure = 0
        disagreements: list[tuple[bool, bool, bool]] = []  # (tier 0 unsure, tier 0 right, model right)
        tried = cases(labels)
        for case in tried:
            verdict = self.classifier(classifier).classify(principal, case.text, case.labels, TRIAL)
            messages = [Message(role="system", content=INSTRUCTIONS), Message(role="user", content=case.text)]
            request = ChatRequest(messages=messages, temperature=0.0, max_tokens=60, response_format=schema)
            items = self.gateway.chat(principal, profile, with_listing(request, labels), TRIAL)
            answer = "".join(i.text for i in items if isinstance(i, TextChunk))
            right0, right = verdict.label == case.expected, value_of(answer, labels) == case.expected
            tier0, model = tier0 + right0, model + right
            if not verdict.confident:
                unsure, tier0_unsure, model_unsure = unsure + 1, tier0_unsure + right0, model_unsure + right
            if right0 != right:
                disagreements.append((not verdict.confident, right0, right))
        compared = [d for d in disagreements if d[0] or not unsure]  # where tier 0 was unsure, if ever
        model_only = sum(1 for _, _, right in compared if right)
        tier0_only = len(compared) - model_only
        return Outcome(
            model_id, len(tried), tier0, model, unsure, tier0_unsure, model_unsure, model_only, tier0_only
        )

    def _answer(
        self, principal: Principal, route: Route, request: ChatRequest, endpoint: str
    ) -> Generator[StreamItem, None, None]:
        """The answer of the route's models; every piece shows the request alive: its budget reservations
        are renewed (else they expire, as those of a request whose process died)."""
        with closing(routed_chat(self.gateway, self.breaker, principal, route, request, endpoint)) as items:
            for item in items:
                if route.admission is not None:
                    self.gateway.budgets.keep(route.admission)
                yield item

    def _larger(self, route: Route) -> list[str]:
        """The fallbacks of a higher tier than the chosen model, in route order: where a cascade goes next."""
        catalogue = self.gateway.catalogue
        return [m for m in route.fallbacks if catalogue.get(m).tier > route.tier]


def with_listing(request: ChatRequest, labels: LabelSchema) -> ChatRequest:
    """The classification as a language model gets it, the same as it was measured: the labels' descriptions
    added to its system prompt (or as one), if they have any, and a schema that names the labels only.
    The labels' examples stay with tier 0: they may be texts of other cases (labels staff corrected)."""
    if request.response_format and request.response_format.get("type") == "json_schema":
        name = request.response_format.get("json_schema", {}).get("name", "label")
        bare = {"type": "json_schema", "json_schema": {"name": name, "schema": json_schema(labels)}}
        request = request.model_copy(update={"response_format": bare})
    listing = labels.listing()
    if listing is None:
        return request
    messages = list(request.messages)
    if messages[0].role == "system":
        messages[0] = Message(role="system", content=f"{messages[0].content}\n\n{listing}")
    else:
        messages.insert(0, Message(role="system", content=listing))
    return request.model_copy(update={"messages": messages})
