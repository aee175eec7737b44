"""The `openai` backend against a real OpenAI-compatible server process (llama.cpp's server)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rathaus.llm.backend import BackendError, ChatRequest, InvalidModelRequest, Message, TextChunk, collect
from rathaus.llm.openai_compat import OpenAICompatBackend, OpenAICompatOptions
from rathaus.settings import Settings
from tests.conftest import require_model
from tests.servers import free_port, llama_server


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama.cpp server process with Qwen2.5-0.5B on a free loopback port."""
    path = require_model("qwen2.5-0.5b")
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with llama_server(path, free_port(), log) as url:
        yield url


def _backend(base_url: str, tmp_path: Path, **options: object) -> OpenAICompatBackend:
    opts = OpenAICompatOptions(base_url=base_url, model="qwen", **options)  # type: ignore[arg-type]
    return OpenAICompatBackend("remote", opts, Settings(data_dir=tmp_path))


@pytest.mark.model
@pytest.mark.slow
def test_streams_from_real_server(server_url: str, tmp_path: Path) -> None:
    backend = _backend(server_url, tmp_path)
    request = ChatRequest(messages=[Message(role="user", content="Sag Hallo auf Deutsch.")], max_tokens=20)
    items = list(backend.chat(request))
    text, usage = collect(iter(items))
    assert sum(isinstance(i, TextChunk) for i in items) > 1 and text.strip()
    assert usage.extra["usage_reported"] is True and usage.tokens_out > 0 and usage.tokens_in > 5
    backend.close()


@pytest.mark.model
@pytest.mark.slow
def test_token_alternatives_pass_through_from_a_real_server(server_url: str, tmp_path: Path) -> None:
    opts = OpenAICompatOptions(base_url=server_url, model="qwen")
    backend = OpenAICompatBackend("remote", opts, Settings(data_dir=tmp_path), logprobs=True)
    question = Message(role="user", content="Ist Jena eine Stadt? Antworte nur mit Ja oder Nein.")
    request = ChatRequest(messages=[question], max_tokens=1, temperature=0, top_logprobs=3)
    first = next(iter(backend.chat(request)))
    assert "logprobs" in backend.capabilities
    assert isinstance(first, TextChunk) and first.alternatives and first.text in first.alternatives
    backend.close()


def test_unreachable_server_is_a_backend_error(tmp_path: Path) -> None:
    backend = _backend(f"http://127.0.0.1:{free_port()}/v1", tmp_path)
    request = ChatRequest(messages=[Message(role="user", content="Hallo")])
    started = time.monotonic()
    with pytest.raises(BackendError, match="remote"):
        collect(backend.chat(request))
    assert time.monotonic() - started < 3


def _mocked(tmp_path: Path, status: int, body: str) -> OpenAICompatBackend:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, text=body))
    options = OpenAICompatOptions(base_url="http://upstream.invalid/v1", model="m")
    return OpenAICompatBackend("remote", options, Settings(data_dir=tmp_path), transport=transport)


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (
            200,
            'data: {"choices":[{"delta":{"content":"Hal"}}]}\n\ndata: {"error":{"message":"oom"}}\n\n',
            BackendError,
            "answered with an error",
        ),
        (200, 'data: ["x"]\n\n', BackendError, "malformed"),
        (200, 'data: {"choices": [1]}\n\n', BackendError, "malformed"),
        (200, "data: {nicht json\n\n", BackendError, "malformed"),
        (400, '{"error": {"message": "context too long: /srv/secret/path"}}', InvalidModelRequest, "refused"),
        (500, "Traceback: /srv/secret/path", BackendError, "HTTP 500"),
    ],
)
def test_bad_upstream_answers_become_clear_errors(
    tmp_path: Path, status: int, body: str, error: type[Exception], message: str
) -> None:
    backend = _mocked(tmp_path, status, body)
    request = ChatRequest(messages=[Message(role="user", content="Hallo")])
    with pytest.raises(error, match=message) as raised:
        collect(backend.chat(request))
    assert "/srv/secret" not in str(raised.value)


def test_missing_usage_is_estimated(tmp_path: Path) -> None:
    body = 'data: {"choices":[{"delta":{"content":"Guten Tag allerseits"},"finish_reason":"stop"}]}\n\n'
    text, usage = collect(
        _mocked(tmp_path, 200, body + "data: [DONE]\n\n").chat(
            ChatRequest(messages=[Message(role="user", content="Hallo")])
        )
    )
    assert text == "Guten Tag allerseits" and usage.extra["usage_reported"] is False and usage.tokens_out >= 1
