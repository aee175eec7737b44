"""Bad input gets the right status in the caller's format and never a stack trace."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantFixture

CHAT = {"model": "scripted", "messages": [{"role": "user", "content": "Hallo"}]}


def _openai_error(response_json: dict[str, object]) -> dict[str, object]:
    error = response_json["error"]
    assert isinstance(error, dict) and {"message", "type", "param", "code"} <= error.keys()
    return error


def test_malformed_json_is_400_openai_format(client: TestClient, jena: TenantFixture) -> None:
    response = client.post(
        "/v1/chat/completions",
        content=b'{"model": "scripted", "messages": [',
        headers={**jena.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert _openai_error(response.json())["type"] == "invalid_request_error"


def test_invalid_fields_are_400_naming_the_field(client: TestClient, jena: TenantFixture) -> None:
    response = client.post(
        "/v1/chat/completions", json={"model": "scripted", "messages": []}, headers=jena.headers()
    )
    assert response.status_code == 400
    assert _openai_error(response.json())["param"] == "messages"
    image = {"model": "scripted", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}
    response = client.post("/v1/chat/completions", json=image, headers=jena.headers())
    assert response.status_code == 400


def test_unknown_model_is_404(client: TestClient, jena: TenantFixture) -> None:
    response = client.post("/v1/chat/completions", json={**CHAT, "model": "gpt-17"}, headers=jena.headers())
    assert response.status_code == 404
    assert _openai_error(response.json())["code"] == "model_not_found"


def test_missing_or_wrong_key_is_401(client: TestClient, jena: TenantFixture) -> None:
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 401
    wrong = client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer rh_abc_def"})
    assert wrong.status_code == 401
    assert _openai_error(wrong.json())["type"] == "authentication_error"
    basic = client.get("/v1/models", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401
    problem = client.get("/api/me")
    assert problem.status_code == 401
    assert problem.headers["content-type"] == "application/problem+json"


def test_body_over_limit_is_413(client: TestClient, jena: TenantFixture) -> None:
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 70_000}]}
    response = client.post("/v1/chat/completions", json=big, headers=jena.headers())
    assert response.status_code == 413
    assert _openai_error(response.json())["code"] == "request_too_large"

    def chunks():  # no Content-Length: the limit is enforced while reading
        yield b'{"model": "scripted", "messages": [{"role": "user", "content": "'
        for _ in range(20):
            yield b"y" * 5000
        yield b'"}]}'

    streamed = client.post(
        "/v1/chat/completions",
        content=chunks(),
        headers={**jena.headers(), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413


def test_staff_cannot_manage_keys_403_problem_json(client: TestClient, jena: TenantFixture) -> None:
    response = client.get("/api/api-keys", headers=jena.headers("staff"))
    assert response.status_code == 403
    assert response.json()["status"] == 403 and "admin" in response.json()["detail"]


def test_unsupported_features_are_refused_not_dropped(client: TestClient, jena: TenantFixture) -> None:
    tools = [{"type": "function", "function": {"name": "wetter", "parameters": {"type": "object"}}}]
    response = client.post("/v1/chat/completions", json={**CHAT, "tools": tools}, headers=jena.headers())
    assert response.status_code == 400
    assert _openai_error(response.json())["param"] == "tools"
    response = client.post("/v1/chat/completions", json={**CHAT, "n": 3}, headers=jena.headers())
    assert response.status_code == 400


def test_unexpected_errors_keep_the_api_format(
    client: TestClient, jena: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rathaus.llm.catalogue import Catalogue

    def broken(self: Catalogue) -> list[object]:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(Catalogue, "profiles", broken)
    with TestClient(client.app, raise_server_exceptions=False) as plain:
        response = plain.get("/v1/models", headers=jena.headers())
    assert response.status_code == 500
    assert _openai_error(response.json())["code"] == "internal_error"
    assert "secret internal detail" not in response.text


def test_more_unsupported_inputs_are_400(client: TestClient, jena: TenantFixture) -> None:
    cases = [
        {**CHAT, "messages": [{"role": "tool", "content": "42", "tool_call_id": "x"}]},
        {**CHAT, "messages": [{"role": "assistant", "content": None, "tool_calls": [{"id": "x"}]}]},
        {**CHAT, "logit_bias": {"123": 5}},
        {**CHAT, "max_tokens": 10**30},
        {**CHAT, "temperature": 7},
    ]
    for body in cases:
        response = client.post("/v1/chat/completions", json=body, headers=jena.headers())
        assert response.status_code == 400, body
        _openai_error(response.json())


def test_nul_characters_never_cause_500(client: TestClient, jena: TenantFixture) -> None:
    assert client.get("/api/api-keys/%00", headers=jena.headers()).status_code == 404
    assert client.get("/api/requests/abc%00", headers=jena.headers()).status_code == 404
    login = client.post("/api/auth/login", json={"email": "a\u0000@b.example", "password": "x" * 12})
    assert login.status_code in (400, 401)
    created = client.post("/api/api-keys", json={"name": "mit\u0000null"}, headers=jena.headers())
    assert created.status_code in (201, 400)  # SQLite stores NUL, PostgreSQL refuses it with 400
    assert created.headers["content-type"].startswith(("application/json", "application/problem+json"))


def test_misconfigured_profile_does_not_break_others(client: TestClient, jena: TenantFixture) -> None:
    models = client.get("/v1/models", headers=jena.headers())
    assert models.status_code == 200
    listed = {m["id"]: m["rathaus"]["available"] for m in models.json()["data"]}
    assert listed["misconfigured"] is False and listed["scripted"] is True
    chat = client.post(
        "/v1/chat/completions", json={**CHAT, "model": "misconfigured"}, headers=jena.headers()
    )
    assert chat.status_code == 503 and "misconfigured" in _openai_error(chat.json())["message"]
