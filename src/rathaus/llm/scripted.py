"""A deterministic backend for unit tests: no model, predictable text, real usage records.

Not for production: it answers with its script or echoes the conversation.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rathaus.llm.backend import BackendError, ChatRequest, StreamItem, TextChunk, Usage
from rathaus.llm.catalogue import Profile
from rathaus.settings import Settings


class ScriptedOptions(BaseModel):
    """Parameters of a scripted profile."""

    model_config = ConfigDict(extra="forbid")

    replies: list[str] = Field(default_factory=list, description="Replies in turn; empty: echo.")
    chunk_delay_s: float = Field(default=0.0, ge=0)
    fail: bool = Field(default=False, description="Raise a BackendError, to test failure handling.")
    ignore_schema: bool = Field(
        default=False, description="Answer from the replies even when a JSON schema is asked for."
    )
    logprobs: bool = Field(
        default=False, description="Report each word as the only likely token (certain), like a model would."
    )


def example_for_schema(schema: Any) -> Any:
    """A small value valid against simple JSON schemas (objects, arrays, enums, scalars)."""
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    branches = schema.get("oneOf") or schema.get("anyOf")
    if isinstance(branches, list) and branches:
        return example_for_schema(branches[0])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = kind[0] if kind else "object"
    if kind == "object":
        props = schema.get("properties")
        return (
            {name: example_for_schema(sub) for name, sub in props.items()} if isinstance(props, dict) else {}
        )
    if kind == "array":
        count = schema.get("minItems", 0)
        count = min(count, 10) if isinstance(count, int) else 0
        return [example_for_schema(schema.get("items", {})) for _ in range(count)]
    return {"string": "beispiel", "integer": 0, "number": 0, "boolean": False, "null": None}.get(kind, "")


class ScriptedBackend:
    """Answers from a script; counts whitespace-separated words as tokens."""

    def __init__(self, profile_id: str, options: ScriptedOptions) -> None:
        self.profile_id = profile_id
        self.options = options
        self.capabilities = frozenset({"chat", "json_schema", *(["logprobs"] if options.logprobs else [])})
        self._replies = itertools.cycle(options.replies) if options.replies else None
        self._lock = threading.Lock()

    @classmethod
    def from_profile(cls, profile: Profile, settings: Settings) -> ScriptedBackend:
        """Build from a catalogue profile."""
        return cls(profile.id, ScriptedOptions.model_validate(profile.params))

    def _reply(self, request: ChatRequest) -> str:
        schema = request.json_schema
        if schema is not None and not self.options.ignore_schema:
            return json.dumps(example_for_schema(schema), ensure_ascii=False)
        if self._replies is not None:
            with self._lock:
                return next(self._replies)
        system = [m.content for m in request.messages if m.role == "system"]
        last = request.messages[-1].content
        prefix = f"[system: {system[0]}] " if system else ""
        return f"{prefix}Echo: {last}"

    def chat(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Yield the reply word by word, then the usage."""
        if self.options.fail:
            raise BackendError(f"scripted failure of {self.profile_id}")
        started = time.perf_counter()
        words = self._reply(request).split(" ")
        if request.max_tokens is not None:
            words = words[: request.max_tokens]
        first: float | None = None
        for index, word in enumerate(words):
            if self.options.chunk_delay_s:
                time.sleep(self.options.chunk_delay_s)
            if first is None:
                first = time.perf_counter()
            text = word if index == 0 else " " + word
            certain = {text: 0.0} if request.top_logprobs and self.options.logprobs else None
            yield TextChunk(text, certain)
        now = time.perf_counter()
        yield Usage(
            tokens_in=sum(len(m.content.split()) for m in request.messages),
            tokens_out=len(words),
            ttft_ms=((first or now) - started) * 1000,
            duration_ms=(now - started) * 1000,
            cpu_seconds=None,
            finish_reason="stop",
        )

    def close(self) -> None:
        """Nothing to release."""
