"""Any OpenAI-compatible chat server: vLLM, llama.cpp server, Ollama, TGI, EU cloud providers.

Servers are added in the model catalogue, never in code. The API key is read from the environment
variable the profile names, so no secret is written into a catalogue file.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from rathaus.llm.backend import (
    BackendError,
    ChatRequest,
    InvalidModelRequest,
    ModelUnavailable,
    StreamItem,
    TextChunk,
    Usage,
    token_alternatives,
)
from rathaus.llm.catalogue import Profile
from rathaus.settings import Settings

logger = logging.getLogger(__name__)


class OpenAICompatOptions(BaseModel):
    """Parameters of an openai profile."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="For example http://gpu-host:8000/v1")
    model: str = Field(description="The model name the server expects.")
    api_key_env: str | None = Field(default=None, description="Environment variable holding the key.")
    timeout_s: float | None = Field(default=None, gt=0)
    connect_timeout_s: float = Field(default=2.0, gt=0)


def _estimate_tokens(text: str) -> int:
    """Rough token count (4 characters per token) for servers that report no usage."""
    return max(1, len(text) // 4) if text else 0


def _count(value: Any) -> int:
    """A token count from the server, or 0 when it sent none or nonsense."""
    return value if isinstance(value, int) and value >= 0 else 0


def _parse_chunk(data: str) -> dict[str, Any]:
    chunk = json.loads(data)
    if not isinstance(chunk, dict):
        raise ValueError("event is not a JSON object")
    return chunk


class OpenAICompatBackend:
    """Streams chat completions from a remote OpenAI-compatible server."""

    def __init__(
        self,
        profile_id: str,
        options: OpenAICompatOptions,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        logprobs: bool = False,
    ) -> None:
        self.profile_id = profile_id
        # Servers differ in reporting token probabilities; the profile declares whether this one does.
        self.capabilities = frozenset({"chat", "json_schema", *(["logprobs"] if logprobs else [])})
        self.options = options
        headers = {"Content-Type": "application/json"}
        if options.api_key_env:
            key = os.environ.get(options.api_key_env)
            if not key:
                raise ModelUnavailable(
                    f"model '{profile_id}' needs its API key in the environment variable "
                    f"{options.api_key_env}"
                )
            headers["Authorization"] = f"Bearer {key}"
        timeout = options.timeout_s or settings.request_timeout_s
        self._client = httpx.Client(
            base_url=options.base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=options.connect_timeout_s),
            transport=transport,
        )

    @classmethod
    def from_profile(cls, profile: Profile, settings: Settings) -> OpenAICompatBackend:
        """Build from a catalogue profile."""
        options = OpenAICompatOptions.model_validate(profile.params)
        return cls(profile.id, options, settings, logprobs=profile.can("logprobs"))

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        body = request.openai_body()
        body.update(model=self.options.model, stream=True, stream_options={"include_usage": True})
        return body

    def chat(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Stream the reply over server-sent events."""
        started = time.perf_counter()
        first: float | None = None
        usage: dict[str, Any] = {}
        finish = "stop"
        produced: list[str] = []
        try:
            with self._client.stream("POST", "/chat/completions", json=self._body(request)) as response:
                if response.status_code != 200:
                    response.read()
                    raise self._refusal(response.status_code, response.text)
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = _parse_chunk(data)
                    if "error" in chunk:
                        raise self._refusal(502, json.dumps(chunk["error"])[:2000])
                    if isinstance(chunk.get("usage"), dict):
                        usage = chunk["usage"]
                    for choice in chunk.get("choices") or []:
                        if not isinstance(choice, dict):
                            raise ValueError("choice is not an object")
                        text = (choice.get("delta") or {}).get("content")
                        if isinstance(text, str) and text:
                            first = first or time.perf_counter()
                            produced.append(text)
                            yield TextChunk(text, token_alternatives(choice))
                        finish = choice.get("finish_reason") or finish
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # down: the router falls back at once
            logger.warning("model %s at %s: %r", self.profile_id, self.options.base_url, exc)
            raise ModelUnavailable(
                f"model '{self.profile_id}' is not reachable ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            logger.warning("model %s at %s: %r", self.profile_id, self.options.base_url, exc)
            raise BackendError(f"model '{self.profile_id}' is not reachable ({type(exc).__name__})") from exc
        except (ValueError, TypeError, AttributeError) as exc:  # JSONDecodeError is a ValueError
            logger.warning("model %s sent a malformed stream: %s", self.profile_id, exc)
            raise BackendError(f"model '{self.profile_id}' sent a malformed answer") from exc
        now = time.perf_counter()
        yield Usage(
            tokens_in=_count(usage.get("prompt_tokens"))
            or _estimate_tokens(" ".join(m.content for m in request.messages)),
            tokens_out=_count(usage.get("completion_tokens")) or _estimate_tokens("".join(produced)),
            ttft_ms=((first or now) - started) * 1000,
            duration_ms=(now - started) * 1000,
            cpu_seconds=None,
            finish_reason=finish,
            extra={"usage_reported": bool(usage)},
        )

    def _refusal(self, status: int, detail: str) -> BackendError:
        """The caller's 4xx mistakes pass on as 400; everything else is logged and kept generic."""
        logger.warning("model %s answered %s: %s", self.profile_id, status, detail[:2000])
        if 400 <= status < 500 and status not in (401, 403, 404, 429):
            return InvalidModelRequest(f"model '{self.profile_id}' refused the request (HTTP {status})")
        return BackendError(f"model '{self.profile_id}' answered with an error (HTTP {status})")

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
