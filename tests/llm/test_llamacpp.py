"""The bundled model in-process: German text, JSON-schema output, parallel slots."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from rathaus.llm.backend import ChatRequest, Message, TextChunk, Usage, collect
from rathaus.llm.calibration import calibrate
from rathaus.llm.llamacpp import LlamaCppBackend, LlamaCppOptions
from rathaus.settings import Settings
from tests.conftest import require_model

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppBackend]:
    """Qwen2.5-0.5B with four slots."""
    path = require_model("qwen2.5-0.5b")
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), llm_parallel=4, llm_context=1024)
    loaded = LlamaCppBackend("qwen2.5-0.5b", LlamaCppOptions(path=path), settings)
    yield loaded
    loaded.close()


def _ask(text: str, **kwargs: object) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=text)], temperature=0, **kwargs)  # type: ignore[arg-type]


def test_streams_german_text_with_usage(backend: LlamaCppBackend) -> None:
    items = list(
        backend.chat(_ask("Was ist ein Bürgeramt? Antworte auf Deutsch in einem Satz.", max_tokens=40))
    )
    text = "".join(i.text for i in items if isinstance(i, TextChunk))
    usage = items[-1]
    assert isinstance(usage, Usage)
    assert sum(isinstance(i, TextChunk) for i in items) > 3  # really streamed
    assert any(word in text.lower() for word in ("bürger", "amt", "stadt", "verwaltung", "die", "der"))
    assert usage.tokens_in > 10 and 0 < usage.tokens_out <= 40
    assert usage.ttft_ms is not None and usage.ttft_ms < usage.duration_ms
    assert usage.cpu_seconds is not None and usage.cpu_seconds > 0


def test_json_schema_output_validates(backend: LlamaCppBackend) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "plz": {"type": "string"}},
        "required": ["name", "plz"],
    }
    request = _ask(
        "Extrahiere Name und Postleitzahl: Erika Mustermann, 07743 Jena.",
        max_tokens=60,
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    )
    text, _usage = collect(backend.chat(request))
    jsonschema.validate(json.loads(text), schema)


def test_token_alternatives_come_with_their_probabilities(backend: LlamaCppBackend) -> None:
    request = _ask("Ist Berlin die Hauptstadt von Deutschland? Antworte nur mit Ja oder Nein.", max_tokens=1)
    first = next(i for i in backend.chat(request.model_copy(update={"top_logprobs": 5})))
    assert isinstance(first, TextChunk) and first.alternatives is not None
    assert len(first.alternatives) == 5 and first.text in first.alternatives
    assert max(first.alternatives.values()) == first.alternatives[first.text] <= 0.0  # greedy: the likeliest


def test_calibration_finds_writing_dearer_than_reading(backend: LlamaCppBackend) -> None:
    result = calibrate(backend, prompt_repeats=4, output_tokens=24)
    assert 0 < result.cpu_seconds_per_1k_input < result.cpu_seconds_per_1k_output


def test_four_simultaneous_requests_all_complete(backend: LlamaCppBackend) -> None:
    prompts = [
        "Nenne eine Aufgabe des Ordnungsamts.",
        "Was macht das Standesamt?",
        "Wozu dient die Hundesteuer?",
        "Was ist Sperrmüll?",
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda p: collect(backend.chat(_ask(p, max_tokens=24))), prompts, timeout=240)
        )
    assert len(results) == 4
    assert all(text.strip() and usage.tokens_out > 0 for text, usage in results)


def test_closing_the_stream_cancels_generation(backend: LlamaCppBackend) -> None:
    stream = backend.chat(_ask("Zähle langsam von eins bis hundert.", max_tokens=400))
    first = next(stream)
    assert isinstance(first, TextChunk)
    stream.close()
    _text, usage = collect(backend.chat(_ask("Sag nur: Ja.", max_tokens=5)))  # the slot is free again
    assert usage.tokens_out > 0


def test_missing_weights_name_the_install_command(tmp_path: Path) -> None:
    from rathaus.llm.backend import ModelUnavailable

    options = LlamaCppOptions(
        path=tmp_path / "fehlt.gguf", install_hint="rathaus models install qwen2.5-1.5b"
    )
    missing = LlamaCppBackend("qwen2.5-1.5b", options, Settings(data_dir=tmp_path))
    with pytest.raises(ModelUnavailable, match=r"rathaus models install qwen2\.5-1\.5b"):
        next(missing.chat(_ask("Hallo")))


def test_prompt_longer_than_the_slot_is_the_callers_mistake(backend: LlamaCppBackend) -> None:
    from rathaus.llm.backend import InvalidModelRequest

    too_long = "Bürgeramt Meldebescheinigung " * 600  # far beyond the 1,024-token slot
    with pytest.raises(InvalidModelRequest, match="refused"):
        collect(backend.chat(_ask(too_long, max_tokens=5)))


def test_busy_model_answers_busy_instead_of_waiting_forever(tmp_path: Path) -> None:
    from rathaus.llm.backend import ModelBusy

    settings = Settings(data_dir=tmp_path, llm_parallel=1, llm_context=512, llm_queue_timeout_s=0.2)
    single = LlamaCppBackend("qwen2.5-0.5b", LlamaCppOptions(path=require_model("qwen2.5-0.5b")), settings)
    try:
        running = single.chat(_ask("Zähle bis zwanzig.", max_tokens=40))
        assert isinstance(next(running), TextChunk)  # holds the only slot
        with pytest.raises(ModelBusy, match="busy"):
            next(single.chat(_ask("Hallo", max_tokens=5)))
        running.close()
        _text, usage = collect(single.chat(_ask("Hallo", max_tokens=5)))  # the slot is free again
        assert usage.tokens_out > 0
    finally:
        single.close()


def test_a_full_queue_refuses_at_once(tmp_path: Path) -> None:
    from rathaus.llm.backend import ModelBusy

    settings = Settings(
        data_dir=tmp_path, llm_parallel=1, llm_context=512, llm_queue_timeout_s=30, llm_queue_max=1
    )
    single = LlamaCppBackend("qwen2.5-0.5b", LlamaCppOptions(path=require_model("qwen2.5-0.5b")), settings)
    try:
        running = single.chat(_ask("Zähle bis zwanzig.", max_tokens=40))
        assert isinstance(next(running), TextChunk)  # holds the only slot
        with ThreadPoolExecutor(max_workers=1) as pool:
            waiting = pool.submit(lambda: collect(single.chat(_ask("Hallo", max_tokens=5))))
            deadline = time.monotonic() + 10
            while single._waiting < 1 and time.monotonic() < deadline:  # the one place in the queue is taken
                time.sleep(0.01)
            started = time.monotonic()
            with pytest.raises(ModelBusy, match="waiting already") as refused:
                next(single.chat(_ask("Hallo", max_tokens=5)))
            assert time.monotonic() - started < 5 and refused.value.retry_after_s > 0  # not after 30 s
            running.close()  # the waiting request gets the slot
            _text, usage = waiting.result(timeout=60)
        assert usage.tokens_out > 0 and single._waiting == 0
    finally:
        single.close()
