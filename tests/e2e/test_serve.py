"""Fresh data directory, `rathaus demo`, `rathaus serve`, the official OpenAI client and the bundled model."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import jsonschema
import openai
import pytest

from rathaus.llm.weights import SOURCES
from tests.conftest import MODELS_DIR, require_model
from tests.servers import free_port, wait_until_ready

pytestmark = [pytest.mark.model, pytest.mark.slow]
RATHAUS = [sys.executable, "-m", "rathaus"]


@dataclass
class Running:
    """A server started for the test."""

    url: str
    key: str


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(data_dir), "RATHAUS_MODELS_DIR": str(MODELS_DIR), **extra})
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """`rathaus models install`, `rathaus demo` and `rathaus serve --demo` as an operator runs them."""
    require_model("qwen2.5-1.5b")
    env = _env(tmp_path_factory.mktemp("data"))
    subprocess.run([*RATHAUS, "models", "install", "qwen2.5-1.5b"], env=env, check=True, capture_output=True)
    demo = subprocess.run([*RATHAUS, "demo"], env=env, check=True, capture_output=True, text=True)
    key = re.search(r"rh_[A-Za-z0-9_-]+", demo.stdout)
    assert key, demo.stdout
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [*RATHAUS, "serve", "--demo", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{url}/readyz", process, 180, log)
        yield Running(url, key.group(0))
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def oai(server: Running) -> openai.OpenAI:
    """The official client, unchanged."""
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.key, timeout=180, max_retries=0)


def _germanish(text: str) -> bool:
    words = set(re.findall(r"[a-zäöüß]+", text.lower()))
    return bool(
        words & {"der", "die", "das", "und", "ist", "ein", "eine", "für", "sie", "von", "mit", "werden"}
    )


def test_non_streaming_german_answer(oai: openai.OpenAI) -> None:
    reply = oai.chat.completions.create(
        model="qwen2.5-1.5b",
        temperature=0,
        max_tokens=60,
        messages=[
            {"role": "user", "content": "Was macht ein Standesamt? Antworte auf Deutsch in zwei Sätzen."}
        ],
    )
    text = reply.choices[0].message.content or ""
    assert _germanish(text), text
    assert reply.usage is not None and reply.usage.completion_tokens > 5


def test_streaming_german_answer(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="qwen2.5-1.5b",
        temperature=0,
        max_tokens=60,
        stream=True,
        messages=[{"role": "user", "content": "Nenne auf Deutsch drei Aufgaben eines Bürgeramts."}],
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert sum(1 for p in pieces if p) > 5 and _germanish("".join(pieces)), pieces


def test_json_schema_reply_validates(oai: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "ort": {"type": "string"},
            "anliegen": {"type": "string", "enum": ["Ummeldung", "Hundesteuer", "Sperrmüll"]},
        },
        "required": ["name", "ort", "anliegen"],
    }
    reply = oai.chat.completions.create(
        model="qwen2.5-1.5b",
        temperature=0,
        max_tokens=80,
        messages=[{"role": "user", "content": "Erika Mustermann aus Jena möchte ihren Hund anmelden."}],
        response_format={"type": "json_schema", "json_schema": {"name": "anfrage", "schema": schema}},
    )
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), schema)


def test_four_simultaneous_chats_complete(oai: openai.OpenAI) -> None:
    def ask(n: int) -> str:
        reply = oai.chat.completions.create(
            model="qwen2.5-1.5b",
            max_tokens=16,
            messages=[{"role": "user", "content": f"Nenne die Zahl {n}."}],
        )
        return reply.choices[0].message.content or ""

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, range(4), timeout=240))
    assert len(answers) == 4 and all(a.strip() for a in answers)


def test_invalid_setting_stops_start_naming_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [*RATHAUS, "serve"],
        env=_env(tmp_path, RATHAUS_PORT="achtzig"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "RATHAUS_PORT" in result.stderr


def test_missing_secret_stops_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [*RATHAUS, "serve"], env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "RATHAUS_SECRET_KEY" in result.stderr


def test_models_test_names_install_command_when_weights_are_missing(tmp_path: Path) -> None:
    env = _env(tmp_path / "data", RATHAUS_MODELS_DIR=str(tmp_path / "leer"))
    source = SOURCES["qwen2.5-0.5b"]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "models.yaml").write_text(
        "profiles:\n  - id: qwen2.5-0.5b\n    backend: llamacpp\n    tier: 1\n"
        f"    params: {{path: {tmp_path / 'leer' / source.filename}, "
        "install_hint: rathaus models install qwen2.5-0.5b}\n"
    )
    result = subprocess.run(
        [*RATHAUS, "models", "test", "qwen2.5-0.5b"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "rathaus models install qwen2.5-0.5b" in result.stderr


def test_assistant_answers_in_german_with_the_bundled_model(server: Running, oai: openai.OpenAI) -> None:
    document = {
        "apiVersion": "rathaus/v1",
        "kind": "Assistant",
        "metadata": {"name": "standesamt", "title": "Standesamt-Auskunft"},
        "spec": {
            "instructions": "Du bist die Auskunft des Standesamts Musterstadt. Antworte immer auf Deutsch, "
            "in höchstens zwei Sätzen.",
            "output": {"format": "text"},
        },
    }
    created = httpx.post(
        f"{server.url}/api/assistants",
        json=document,
        headers={"Authorization": f"Bearer {server.key}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    reply = oai.chat.completions.create(
        model="assistant/standesamt",
        max_tokens=60,
        messages=[{"role": "user", "content": "Welche Unterlagen brauche ich für eine Geburtsurkunde?"}],
    )
    text = reply.choices[0].message.content or ""
    assert _germanish(text), text
    assert reply.model == "assistant/standesamt"


def test_demo_assistant_answers_from_the_service_pages(server: Running, oai: openai.OpenAI) -> None:
    """The demo's Bürgerservice, the bundled model and the demo corpus: a sourced answer, or "not found"."""
    reply = oai.chat.completions.create(
        model="assistant/buergerservice",
        max_tokens=120,
        messages=[{"role": "user", "content": "Was kostet die Hundesteuer für einen zweiten Hund im Jahr?"}],
    )
    sources = (reply.model_extra or {}).get("rathaus", {}).get("sources", [])
    assert sources and sources[0]["document_title"].startswith("Hundesteuer"), sources
    assert sources[0]["url"].startswith("/knowledge/passages/")
    assert _germanish(reply.choices[0].message.content or "")

    unknown = oai.chat.completions.create(
        model="assistant/buergerservice",
        max_tokens=120,
        messages=[{"role": "user", "content": "Wie hoch ist die Quantenfluktuation im Vakuum?"}],
    )
    assert (unknown.choices[0].message.content or "").startswith("Dazu habe ich auf den Serviceseiten")
