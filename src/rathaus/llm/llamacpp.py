"""GGUF models in-process through llama.cpp (`xllamacpp`), with parallel slots.

The adapter is kept thin: it builds llama.cpp's server once per profile and hands it OpenAI-shaped
requests; a different runtime (for example `llama-cpp-python`) would replace only this module.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rathaus.llm.backend import (
    BackendError,
    ChatRequest,
    InvalidModelRequest,
    ModelBusy,
    ModelUnavailable,
    StreamItem,
    TextChunk,
    Usage,
    token_alternatives,
)
from rathaus.llm.catalogue import Profile
from rathaus.llm.cpu_meter import PROCESS_METER
from rathaus.settings import Settings

_DONE = object()
logger = logging.getLogger(__name__)


class LlamaCppOptions(BaseModel):
    """Parameters of a llamacpp profile."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    install_hint: str | None = Field(default=None, description="Command that installs the weights.")
    parallel: int | None = Field(
        default=None, ge=1, le=64, description="Slots; default RATHAUS_LLM_PARALLEL."
    )
    context_per_slot: int | None = Field(default=None, ge=256, description="Default RATHAUS_LLM_CONTEXT.")
    threads: int | None = Field(default=None, ge=0, description="Default RATHAUS_LLM_THREADS; 0 = all.")


def _missing_message(profile_id: str, options: LlamaCppOptions) -> str:
    hint = options.install_hint or f"rathaus models register {profile_id} --path FILE.gguf"
    return f"The weights of model '{profile_id}' are missing. Install them: {hint}"


def runtime_params(path: Path, parallel: int, context_per_slot: int, threads: int) -> Any:
    """llama.cpp server parameters: `parallel` slots of `context_per_slot` tokens, quiet, no warm-up."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_parallel = parallel
    params.n_ctx = parallel * context_per_slot
    params.verbosity = -1
    params.warmup = False
    if threads:
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
    return params


def _runtime_error(profile_id: str, reported: Any) -> BackendError:
    """Translate an error llama.cpp reported: its 4xx are the caller's mistakes, the rest are ours."""
    if isinstance(reported, ValueError):  # raised for requests it cannot parse or a schema it cannot use
        return InvalidModelRequest(f"model '{profile_id}' refused the request: {reported}")
    if isinstance(reported, dict):
        error = reported.get("error", reported)
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        if isinstance(code, int) and 400 <= code < 500 and message:
            return InvalidModelRequest(f"model '{profile_id}' refused the request: {message}")
    logger.error("llama.cpp error for %s: %r", profile_id, reported)
    return BackendError(f"model '{profile_id}' failed; the details are in the server log")


class LlamaCppBackend:
    """One loaded GGUF model serving several requests at once through llama.cpp slots."""

    def __init__(self, profile_id: str, options: LlamaCppOptions, settings: Settings) -> None:
        self.profile_id = profile_id
        self.options = options
        self.parallel = options.parallel or settings.llm_parallel
        self.context_per_slot = options.context_per_slot or settings.llm_context
        self.threads = options.threads if options.threads is not None else settings.llm_threads
        self.timeout_s = settings.request_timeout_s
        self.queue_timeout_s = settings.llm_queue_timeout_s
        self.queue_max = settings.llm_queue_max
        self._slots = threading.BoundedSemaphore(self.parallel)
        self._waiting = 0
        self._server: Any = None
        self._lock = threading.Lock()
        self.capabilities = frozenset({"chat", "json_schema", "logprobs"})

    @classmethod
    def from_profile(cls, profile: Profile, settings: Settings) -> LlamaCppBackend:
        """Build from a catalogue profile; the weights load on first use."""
        options = LlamaCppOptions.model_validate(profile.params)
        if options.context_per_slot is None:
            options.context_per_slot = min(profile.context, settings.llm_context)
        return cls(profile.id, options, settings)

    @property
    def available(self) -> bool:
        """Whether the weights are on disk."""
        return self.options.path.is_file()

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory now."""
        return self._server is not None

    def load(self) -> Any:
        """Load the weights (once); raises ModelUnavailable naming the install command."""
        with self._lock:
            if self._server is not None:
                return self._server
            if not self.available:
                logger.warning("weights of %s missing at %s", self.profile_id, self.options.path)
                raise ModelUnavailable(_missing_message(self.profile_id, self.options))
            import xllamacpp

            params = runtime_params(self.options.path, self.parallel, self.context_per_slot, self.threads)
            try:
                self._server = xllamacpp.Server(params)
            except Exception as exc:  # the runtime reports a broken file as a generic error
                logger.error("could not load %s from %s: %s", self.profile_id, self.options.path, exc)
                raise ModelUnavailable(
                    f"model '{self.profile_id}' could not be loaded; the details are in the server log"
                ) from exc
            return self._server

    @staticmethod
    def _body(request: ChatRequest) -> dict[str, Any]:
        body = request.openai_body()
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        return body

    def chat(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Stream the reply; closing the generator early cancels generation in its slot."""
        server = self.load()
        self._take_slot()
        try:
            yield from self._generate(server, request)
        finally:
            self._slots.release()

    def _take_slot(self) -> None:
        """Wait for a free slot, at most `queue_timeout_s`; when `queue_max` requests already wait, refuse
        at once (ModelBusy, 503 with Retry-After): a full queue must not tie up the server's threads."""
        busy = f"all {self.parallel} slots of model '{self.profile_id}' are busy; please try again shortly"
        if self._slots.acquire(blocking=False):
            return
        with self._lock:
            if self._waiting >= self.queue_max:
                raise ModelBusy(f"{busy} ({self._waiting} requests are waiting already)")
            self._waiting += 1
        try:
            taken = self._slots.acquire(timeout=self.queue_timeout_s)
        finally:
            with self._lock:
                self._waiting -= 1
        if not taken:
            raise ModelBusy(busy)

    def _generate(self, server: Any, request: ChatRequest) -> Iterator[StreamItem]:
        items: queue.Queue[Any] = queue.Queue()
        cancelled = threading.Event()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            items.put(chunk)
            return cancelled.is_set()  # True asks llama.cpp to stop this request

        def run() -> None:
            try:
                server.handle_chat_completions(self._body(request), on_chunk)
            except Exception as exc:  # surfaced to the consumer below
                items.put(exc)
            finally:
                items.put(_DONE)

        started = time.perf_counter()
        token = PROCESS_METER.start()
        metered = True
        first: float | None = None
        final: dict[str, Any] = {}
        finish = "stop"
        threading.Thread(target=run, name=f"llamacpp-{self.profile_id}", daemon=True).start()
        try:
            while True:
                try:
                    item = items.get(timeout=self.timeout_s)
                except queue.Empty:
                    raise BackendError(
                        f"model '{self.profile_id}' timed out after {self.timeout_s:.0f} s"
                    ) from None
                if item is _DONE:
                    break
                if isinstance(item, Exception) or "choices" not in item:
                    raise _runtime_error(self.profile_id, item)
                if item.get("usage"):
                    final = item
                for choice in item["choices"]:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        if first is None:
                            first = time.perf_counter()
                        yield TextChunk(text, token_alternatives(choice))
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
            cpu = PROCESS_METER.stop(token)
            metered = False
            now = time.perf_counter()
            usage = final.get("usage", {})
            yield Usage(
                tokens_in=int(usage.get("prompt_tokens", 0)),
                tokens_out=int(usage.get("completion_tokens", 0)),
                ttft_ms=((first or now) - started) * 1000,
                duration_ms=(now - started) * 1000,
                cpu_seconds=cpu,
                finish_reason=finish,
                extra={"timings": final.get("timings", {})},
            )
        finally:
            cancelled.set()
            if metered:
                PROCESS_METER.stop(token)

    def close(self) -> None:
        """Free the model (llama.cpp stops its loop when the server object is released)."""
        with self._lock:
            self._server = None
