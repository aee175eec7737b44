"""A text in Leichte Sprache on request: the "In Leichte Sprache" action of the staff chat.

The text (an answer, or anything staff paste) is rewritten by the `simplify` task under the rules of
text/leichte_sprache.py. The request carries what the assistant's answers carry (its data class and its
knowledge), so it reaches only models cleared for that; the router's rule check asks a larger model when the
rewrite breaks the rules, mixes "Sie" and "du", or copies the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rathaus.assistants import policy, registry
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message
from rathaus.routing.route import Route
from rathaus.routing.router import need_of
from rathaus.text import leichte_sprache

if TYPE_CHECKING:
    from rathaus.services import Services

MAX_TOKENS = 700
ENDPOINT = "web.simplify"


@dataclass(frozen=True)
class Simplification:
    """The planned rewrite: the route (already admitted on the budgets when run) and the model request."""

    route: Route
    request: ChatRequest


def request_for(text: str, address: str = "sie") -> ChatRequest:
    """The model request that rewrites `text` in Leichte Sprache, addressing the reader with `address`."""
    return ChatRequest(
        messages=[
            Message(role="system", content=leichte_sprache.instructions(address)),
            Message(role="user", content=text),
        ],
        temperature=0.1,
        max_tokens=MAX_TOKENS,
    )


def plan(services: Services, principal: Principal, assistant: str, text: str, address: str) -> Simplification:
    """The rewrite of a text from an assistant's chat, routed as the assistant's answers are.

    Raises NotFound when the assistant is not visible to the person, NoEligibleModel when no model may take
    the text."""
    with services.db.session(principal.tenant_id, read_only=True) as session:
        spec = registry.load(session, principal, assistant).spec
        exposure = policy.exposure_of(session, spec)
    request = request_for(text, address)
    need = need_of(request, exposure, "simplify")
    route = services.routing.plan(need)
    route.assistant = spec.metadata.name
    return Simplification(route, request)
