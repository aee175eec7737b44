"""Running a routed request: the chosen model first, the fallbacks in order when one fails before answering.

A model that fails before its first output (unreachable, not loaded, timed out, busy) is recorded as a
failed attempt and the next is tried; the circuit breaker learns of every failure and success. Once a
model has started to answer, its errors reach the caller: text already sent cannot be taken back.
Requests the model refuses as invalid (too long, unusable schema) are the caller's mistake and are not
retried elsewhere. Before any model sees the request, its clearance is checked once more against everything
the route carries (a route that does not say counts as personal data), so no path can bypass the rule.
"""

from __future__ import annotations

from collections.abc import Generator

from rathaus.identity.principal import Principal
from rathaus.llm.backend import (
    BackendError,
    ChatRequest,
    InvalidModelRequest,
    ModelBusy,
    ModelUnavailable,
    StreamItem,
)
from rathaus.routing.clearance import Exposure
from rathaus.routing.gateway import ModelGateway
from rathaus.routing.route import Attempt, Reason, Rejected, Route
from rathaus.routing.router import Need, NotCleared, not_cleared
from rathaus.sharing import CircuitBreaker

STRICTEST = Exposure.of("personenbezogen")


class AllModelsFailed(BackendError):
    """The chosen model and every fallback failed."""


def routed_chat(
    gateway: ModelGateway,
    breaker: CircuitBreaker,
    principal: Principal,
    route: Route,
    request: ChatRequest,
    endpoint: str,
) -> Generator[StreamItem, None, None]:
    """Stream the answer from the first model of the route that starts answering."""
    exposure = route.exposure or STRICTEST
    for model_id in [route.chosen, *route.fallbacks]:
        profile = gateway.catalogue.get(model_id)
        uncleared = exposure.uncleared(profile)
        if uncleared:  # only a route built around the router gets here; refuse rather than send
            reason = not_cleared(profile, uncleared)
            raise NotCleared(Need(parts=exposure), [Rejected(profile.id, reason)])
        if model_id != route.chosen:
            failed = route.attempts[-1]
            route.reason = Reason("fallback", {"model": failed.model})
            route.chosen, route.tier = profile.id, profile.tier
        stream = gateway.chat(principal, profile, request, endpoint=endpoint, route=route)
        try:
            first = next(stream)
        except InvalidModelRequest:
            raise
        except BackendError as exc:
            if not isinstance(exc, ModelBusy):
                breaker.failed(model_id, down=isinstance(exc, ModelUnavailable))
            route.attempts.append(Attempt(model_id, "failed", str(exc)))
            if route.pinned:  # the one model asked for: its own error says what to do
                raise
            continue
        route.attempts.append(Attempt(model_id, "ok"))
        try:
            yield first
            yield from stream
        except BackendError:
            breaker.failed(model_id)
            raise
        breaker.succeeded(model_id)
        return
    tried = "; ".join(f"{a.model}: {a.detail}" for a in route.attempts)
    raise AllModelsFailed(f"no model could answer ({tried})")
