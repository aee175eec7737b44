"""The OpenAI-compatible API with the scripted backend: the official client works unchanged."""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rathaus.accounting.models import RequestRecord
from rathaus.services import Services
from tests.conftest import TenantFixture

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "plz": {"type": "string"}, "dringend": {"type": "boolean"}},
    "required": ["name", "plz", "dringend"],
}


@pytest.fixture
def oai(client: TestClient, jena: TenantFixture) -> openai.OpenAI:
    """The official client, talking to the in-process app."""
    return openai.OpenAI(
        base_url="http://testserver/v1", api_key=jena.staff_key, http_client=client, max_retries=0
    )


def test_models_lists_catalogue_with_readiness(oai: openai.OpenAI) -> None:
    models = {m.id: m for m in oai.models.list()}
    assert {"scripted", "scripted-embeddings"} <= models.keys()
    assert models["scripted"].rathaus["available"] is True  # type: ignore[attr-defined]
    assert models["missing-weights"].rathaus["available"] is False  # type: ignore[attr-defined]


def test_chat_non_streaming_returns_text_and_usage(oai: openai.OpenAI) -> None:
    reply = oai.chat.completions.create(
        model="scripted",
        messages=[{"role": "system", "content": "Sei höflich."}, {"role": "user", "content": "Guten Tag"}],
    )
    assert reply.choices[0].message.content == "[system: Sei höflich.] Echo: Guten Tag"
    assert reply.usage is not None and reply.usage.completion_tokens == 6 and reply.usage.prompt_tokens == 4


def test_chat_streaming_delivers_chunks_and_usage(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "eins zwei drei"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: eins zwei drei"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 4
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_json_schema_reply_validates(oai: openai.OpenAI) -> None:
    reply = oai.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "Max, 07743"}],
        response_format={"type": "json_schema", "json_schema": {"name": "antrag", "schema": SCHEMA}},
    )
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), SCHEMA)


def test_json_schema_on_model_without_capability_is_400(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="JSON schema"):
        oai.chat.completions.create(
            model="scripted-plain",
            messages=[{"role": "user", "content": "x"}],
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}},
        )


def test_every_request_is_recorded(oai: openai.OpenAI, services: Services, jena: TenantFixture) -> None:
    oai.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "a b c"}])
    list(
        oai.chat.completions.create(
            model="scripted", messages=[{"role": "user", "content": "d"}], stream=True
        )
    )
    with pytest.raises(openai.APIStatusError):
        oai.chat.completions.create(model="scripted-broken", messages=[{"role": "user", "content": "x"}])
    oai.embeddings.create(model="scripted-embeddings", input=["Hundesteuer"])
    with services.db.session(jena.id) as session:
        records = session.scalars(select(RequestRecord).order_by(RequestRecord.created_at)).all()
    assert [(r.endpoint, r.profile_id, r.status) for r in records] == [
        ("v1.chat", "scripted", "ok"),
        ("v1.chat", "scripted", "ok"),
        ("v1.chat", "scripted-broken", "error"),
        ("v1.embeddings", "scripted-embeddings", "ok"),
    ]
    first = records[0]
    assert first.tokens_in == 3 and first.tokens_out == 4 and first.api_key_id is not None
    assert first.duration_ms >= 0 and first.tenant_id == jena.id


def test_embeddings_shape(oai: openai.OpenAI) -> None:
    result = oai.embeddings.create(model="scripted-embeddings", input=["Sperrmüll", "Ummeldung"])
    assert [len(d.embedding) for d in result.data] == [384, 384]
    with pytest.raises(openai.BadRequestError, match="not an embedding model"):
        oai.embeddings.create(model="scripted", input="x")


def test_backend_failure_is_reported_in_openai_format(client: TestClient, jena: TenantFixture) -> None:
    body = {"model": "scripted-broken", "messages": [{"role": "user", "content": "x"}]}
    response = client.post("/v1/chat/completions", json=body, headers=jena.headers())
    assert response.status_code == 502
    assert "scripted failure" in response.json()["error"]["message"]


def test_missing_weights_name_the_install_command(client: TestClient, jena: TenantFixture) -> None:
    for stream in (False, True):
        body = {"model": "missing-weights", "messages": [{"role": "user", "content": "x"}], "stream": stream}
        response = client.post("/v1/chat/completions", json=body, headers=jena.headers())
        assert response.status_code == 503
        assert "rathaus models install qwen2.5-1.5b" in response.json()["error"]["message"]
