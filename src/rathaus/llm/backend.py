"""The Backend protocol: a chat request becomes a stream of text chunks, then one usage record."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]
MAX_INT32 = 2**31 - 1


class Message(BaseModel):
    """One chat message; content is plain text."""

    model_config = ConfigDict(extra="ignore")

    role: Role
    content: str


class ChatRequest(BaseModel):
    """What a backend is asked to do; the shape follows the OpenAI chat API."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_INT32)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    stop: list[str] | None = None
    seed: int | None = None
    response_format: dict[str, Any] | None = None
    top_logprobs: int | None = Field(
        default=None,
        ge=1,
        le=20,
        description="Also report the most likely tokens at each position (backends that can 'logprobs').",
    )

    def openai_body(self) -> dict[str, Any]:
        """The request as an OpenAI-style body (without model and streaming options)."""
        body = self.model_dump(exclude_none=True)
        if self.top_logprobs:
            body["logprobs"] = True
        return body

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The JSON schema the reply must follow, if the request asks for one."""
        if not self.response_format or self.response_format.get("type") != "json_schema":
            return None
        schema = self.response_format.get("json_schema", {}).get("schema")
        return schema if isinstance(schema, dict) else None


@dataclass(frozen=True)
class TextChunk:
    """A piece of generated text, with the most likely tokens at its position when they were asked for."""

    text: str
    alternatives: dict[str, float] | None = None  # token → log probability


def token_alternatives(choice: dict[str, Any]) -> dict[str, float] | None:
    """The most likely tokens (token → log probability) of an OpenAI-style choice's first token, if sent."""
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content or not isinstance(content[0], dict):
        return None
    top = content[0].get("top_logprobs")
    if not isinstance(top, list):
        return None
    return {
        str(t["token"]): float(t["logprob"])
        for t in top
        if isinstance(t, dict) and "token" in t and isinstance(t.get("logprob"), int | float)
    }


@dataclass
class Usage:
    """What one request cost; the accounting builds energy and money on these numbers."""

    tokens_in: int = 0
    tokens_out: int = 0
    ttft_ms: float | None = None
    duration_ms: float = 0.0
    cpu_seconds: float | None = None
    finish_reason: str = "stop"
    extra: dict[str, Any] = field(default_factory=dict)


StreamItem = TextChunk | Usage


class BackendError(RuntimeError):
    """The model could not answer: the runtime failed, timed out or is unreachable."""

    status_code = 502


class ModelUnavailable(BackendError):
    """The model is configured but cannot be used (for example weights not installed)."""

    status_code = 503


class ModelBusy(BackendError):
    """Every slot of the model stayed busy for longer than the queue wait; try again shortly."""

    status_code = 503
    retry_after_s = 5


class InvalidModelRequest(BackendError):
    """The model refused the request as invalid (too long for its context, unusable JSON schema)."""

    status_code = 400


@runtime_checkable
class Backend(Protocol):
    """A model runtime. `chat` yields TextChunk items and ends with exactly one Usage."""

    capabilities: frozenset[str]

    def chat(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Stream the reply to `request`."""
        ...

    def close(self) -> None:
        """Release the runtime (threads, memory, connections)."""
        ...


def collect(stream: Iterator[StreamItem]) -> tuple[str, Usage]:
    """Drain a stream into the full text and its usage record."""
    parts: list[str] = []
    usage: Usage | None = None
    for item in stream:
        if isinstance(item, TextChunk):
            parts.append(item.text)
        else:
            usage = item
    if usage is None:
        raise BackendError("backend ended without a usage record")
    return "".join(parts), usage
