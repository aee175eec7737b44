"""The chatbot widget's public API (/api/widget/{token}) and the widget script (/widget.js).

No login: the widget token names the chatbot, the Origin header must be one the chatbot allows. Every
answer carries CORS headers for the calling origin, so the widget can read refusals too; preflights are
answered for allowed origins only, so another site's page cannot send messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.resources import files
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from rathaus.accounting.budgets import BudgetExhausted
from rathaus.api.deps import ServicesDep
from rathaus.api.errors import ApiError
from rathaus.chatbots.widget import Bot, Refused, Widget
from rathaus.identity.visibility import Forbidden
from rathaus.llm.backend import BackendError
from rathaus.routing.gateway import UnsupportedRequest
from rathaus.store.tenancy import NotFound

logger = logging.getLogger(__name__)

router = APIRouter(tags=["widget"])
T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)


class MessageBody(BaseModel):
    """A citizen's message."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=1, max_length=32)
    message: str = Field(min_length=1, max_length=20_000)
    language: str = Field(default="de", max_length=10)
    easy: bool = False


class FeedbackBody(BaseModel):
    """Helpful or not, for one answer."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=1, max_length=32)
    message: str = Field(min_length=1, max_length=64)
    helpful: bool


class HandoffBody(BaseModel):
    """A citizen's request to be contacted by a person."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=1, max_length=32)
    name: str = Field(default="", max_length=200)
    contact: str = Field(min_length=3, max_length=200)
    message: str = Field(min_length=1, max_length=5000)


def _cors(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


def _client(request: Request) -> str:
    """The caller's address (behind a proxy in RATHAUS_TRUSTED_PROXIES: the one it forwards)."""
    return request.client.host if request.client else "unknown"


async def _call(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run widget work off the event loop; a refusal becomes an error the widget can read, and a chatbot
    that cannot answer (its assistant gone, no model, budget used up) a 503 without internal details."""
    try:
        return await run_in_threadpool(work, *args)
    except (NotFound, Forbidden, BudgetExhausted, UnsupportedRequest, BackendError) as exc:
        logger.warning("chatbot cannot answer: %s", type(exc).__name__)
        message = "The chatbot cannot answer at the moment; please try again later or contact the city."
        raise ApiError(503, message, "unavailable", headers=_cors(request)) from None
    except Refused as refused:
        headers = _cors(request)
        if refused.retry_after is not None:
            headers["Retry-After"] = str(max(int(refused.retry_after + 0.999), 1))
        raise ApiError(refused.status, refused.message, refused.code, headers=headers) from None


async def _body(request: Request, model: type[B]) -> B:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        errors = exc.errors()
        field = ".".join(str(p) for p in errors[0]["loc"]) if errors else "body"
        message = f"{field or 'body'}: {errors[0]['msg'] if errors else 'invalid value'}"
        raise ApiError(422, message, "invalid", field, headers=_cors(request)) from None


async def _bot(request: Request, widget: Widget, token: str) -> Bot:
    return await _call(request, widget.bot, token, request.headers.get("origin"))


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> Response:
    """The widget script a city's page embeds with one script tag."""
    script = files("rathaus.web").joinpath("static").joinpath("widget.js").read_bytes()
    headers = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
    return Response(script, media_type="text/javascript; charset=utf-8", headers=headers)


@router.options("/api/widget/{token}{rest:path}", include_in_schema=False)
async def preflight(token: str, rest: str, request: Request, services: ServicesDep) -> Response:
    """CORS preflight: only an allowed origin may send messages."""
    await _bot(request, services.widget, token)
    headers = {
        **_cors(request),
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "600",
    }
    return Response(status_code=204, headers=headers)


@router.get("/api/widget/{token}")
async def widget_config(token: str, request: Request, services: ServicesDep) -> JSONResponse:
    """The chatbot's title, greeting, look, languages, starters and limits."""
    widget = services.widget
    bot = await _bot(request, widget, token)
    return JSONResponse(await _call(request, widget.config, bot), headers=_cors(request))


@router.post("/api/widget/{token}/sessions", status_code=201)
async def open_session(token: str, request: Request, services: ServicesDep) -> JSONResponse:
    """A new conversation; the widget keeps its id in memory only."""
    widget = services.widget
    bot = await _bot(request, widget, token)
    opened = await _call(request, widget.open_session, bot, _client(request))
    return JSONResponse({"session": opened}, status_code=201, headers=_cors(request))


@router.post("/api/widget/{token}/messages")
async def send_message(token: str, request: Request, services: ServicesDep) -> JSONResponse:
    """The bot's answer to a message: text, safe HTML with linked citations, sources, declined or not."""
    widget = services.widget
    bot = await _bot(request, widget, token)
    body = await _body(request, MessageBody)
    answer = await _call(
        request, widget.reply, bot, _client(request), body.session, body.message, body.language, body.easy
    )
    return JSONResponse(answer, headers=_cors(request))


@router.post("/api/widget/{token}/feedback", status_code=204)
async def feedback(token: str, request: Request, services: ServicesDep) -> Response:
    """Helpful or not helpful, for one answer."""
    widget = services.widget
    bot = await _bot(request, widget, token)
    body = await _body(request, FeedbackBody)
    await _call(request, widget.feedback, bot, _client(request), body.session, body.message, body.helpful)
    return Response(status_code=204, headers=_cors(request))


@router.post("/api/widget/{token}/handoff", status_code=201)
async def handoff(token: str, request: Request, services: ServicesDep) -> JSONResponse:
    """Leave a message and a contact for a person; the answer carries the case reference."""
    widget = services.widget
    bot = await _bot(request, widget, token)
    body = await _body(request, HandoffBody)
    reference = await _call(
        request, widget.handoff, bot, _client(request), body.session, body.name, body.contact, body.message
    )
    return JSONResponse({"reference": reference}, status_code=201, headers=_cors(request))
