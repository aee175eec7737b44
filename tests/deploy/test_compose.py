"""deploy/compose.yaml has the topology the operator guide describes: two Rathaus replicas behind nginx,
PostgreSQL, Redis, a Celery worker, migrations and model weights as one-shot services everything waits
for, and the optional model server. The file is read, not run: no container runtime is needed."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rathaus.llm.catalogue import read_catalogue
from rathaus.settings import Settings
from tests.deploy.files import COMPOSE, DEPLOY, IMAGE_MODELS_DIR, unknown_settings

Service = dict[str, Any]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Service]:
    found: dict[str, Service] = compose["services"]
    return found


def env_example() -> dict[str, str]:
    """The variables deploy/.env.example sets (comments left out)."""
    pairs = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def interpolate(text: str) -> str:
    """Compose's `${NAME:-default}` with deploy/.env.example's values, for reading paths and ports."""
    values = env_example()

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3) or ""
        return values.get(name) or default

    return re.sub(r"\$\{([A-Z0-9_]+)(:?[-?]([^}]*))?\}", one, text)


def test_services(services: dict[str, Service]) -> None:
    assert set(services) == {"db", "redis", "migrate", "models", "rathaus", "worker", "proxy", "model-server"}
    assert services["rathaus"]["deploy"]["replicas"] == 2
    assert services["rathaus"]["command"] == ["serve"]
    assert services["worker"]["command"] == ["worker"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["models"]["command"][:2] == ["models", "install"]
    assert services["db"]["image"].startswith("pgvector/pgvector:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["proxy"]["image"].startswith("nginx:")
    assert "llama.cpp:server" in services["model-server"]["image"]


def test_only_the_model_server_is_optional(services: dict[str, Service]) -> None:
    assert services["model-server"]["profiles"] == ["model-server"]
    assert [name for name, service in services.items() if "profiles" in service] == ["model-server"]


def test_dependencies_wait_for_health_or_completion(services: dict[str, Service]) -> None:
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on the unknown service {dependency}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck for {name}"
            else:
                assert condition == "service_completed_successfully", f"{name} → {dependency}: {condition}"
                assert services[dependency]["restart"] == "no", f"{dependency} is not a one-shot service"
    for name in ("rathaus", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["models"]["condition"] == "service_completed_successfully"
        assert depends["db"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["rathaus"]["condition"] == "service_healthy"


def test_replicas_are_ready_when_readyz_says_so(services: dict[str, Service]) -> None:
    check = " ".join(services["rathaus"]["healthcheck"]["test"])
    assert "/readyz" in check and ":8000" in check


def test_replicas_and_worker_share_settings_data_and_models(services: dict[str, Service]) -> None:
    server, worker = services["rathaus"], services["worker"]
    assert worker["environment"].items() <= server["environment"].items()
    assert server["volumes"] == worker["volumes"]
    targets = {interpolate(volume).split(":")[1] for volume in server["volumes"]}
    assert targets == {"/var/lib/rathaus", "/var/lib/rathaus/models.yaml", IMAGE_MODELS_DIR}
    assert server["environment"]["RATHAUS_EXECUTOR"] == "celery"
    assert server["environment"]["RATHAUS_BROKER_URL"] == "redis://redis:6379/0"
    assert "@db:5432/" in server["environment"]["RATHAUS_DATABASE_URL"]
    assert server["read_only"] is True and worker["read_only"] is True


def test_every_rathaus_variable_is_a_setting(services: dict[str, Service]) -> None:
    names = [name for service in services.values() for name in service.get("environment", {})]
    names += list(env_example())
    assert "RATHAUS_SECRET_KEY" in names and "RATHAUS_DATABASE_URL" in names
    assert not unknown_settings(names)


def test_secrets_come_from_the_env_file(services: dict[str, Service]) -> None:
    example = env_example()
    assert example["RATHAUS_SECRET_KEY"] == "" and example["POSTGRES_PASSWORD"] == ""
    for name in ("RATHAUS_SECRET_KEY", "RATHAUS_DATABASE_URL"):
        assert ":?" in services["rathaus"]["environment"][name], (
            f"{name} has no error when the secret is missing"
        )
    assert "deploy/.env" in (DEPLOY.parent / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_images_are_pinned(services: dict[str, Service]) -> None:
    for name, service in services.items():
        image = interpolate(service["image"])
        tag = image.split("@")[0].rpartition(":")[2]
        assert re.search(r"\d", tag) and "latest" not in tag, f"{name}: {image} is not pinned to a version"
    for name in ("redis", "proxy"):
        assert re.search(r"@sha256:[0-9a-f]{64}$", services[name]["image"]), f"{name} has no digest"


def test_proxy_forwards_to_the_replicas_within_rathaus_limits(
    compose: dict[str, Any], services: dict[str, Service]
) -> None:
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert "server rathaus:8000 resolve" in conf
    assert services["proxy"]["volumes"] == ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
    listen = re.search(r"listen (\d+);", conf)
    assert listen and services["proxy"]["ports"] == [f"${{HTTP_PORT:-8080}}:{listen.group(1)}"]
    body = re.search(r"client_max_body_size (\d+)m;", conf)
    assert body and int(body.group(1)) * 1024 * 1024 > Settings.model_fields["max_upload_bytes"].default
    read_timeout = re.search(r"proxy_read_timeout (\d+)s;", conf)
    assert read_timeout and int(read_timeout.group(1)) > Settings.model_fields["request_timeout_s"].default
    assert "proxy_buffering off;" in conf
    # Rathaus believes X-Forwarded-For from the network nginx forwards from.
    subnet = interpolate(compose["networks"]["rathaus"]["ipam"]["config"][0]["subnet"])
    trusted = interpolate(services["rathaus"]["environment"]["RATHAUS_TRUSTED_PROXIES"])
    assert subnet in trusted.split(",")
    assert services["rathaus"]["environment"]["RATHAUS_TRUSTED_PROXIES"].endswith(f":-{subnet}}}")


def test_catalogues_name_the_bundled_model_and_the_model_server(services: dict[str, Service]) -> None:
    example = env_example()
    catalogue = read_catalogue(DEPLOY / Path(example["CATALOGUE"]))
    assert example["RATHAUS_DEFAULT_MODEL"] in {p.id for p in catalogue.profiles}
    (bundled,) = catalogue.profiles
    assert bundled.id == example["BUNDLED_MODEL"]
    assert bundled.params["path"].startswith(f"{IMAGE_MODELS_DIR}/{bundled.id}/")

    (served,) = read_catalogue(DEPLOY / "models.model-server.yaml").profiles
    command = services["model-server"]["command"]
    option = {name: value for name, value in itertools.pairwise(command) if name.startswith("--")}
    assert served.params["base_url"] == f"http://model-server:{option['--port']}/v1"
    assert served.params["model"] == option["--alias"]
    assert option["--model"] == bundled.params["path"].replace(IMAGE_MODELS_DIR, "/models")
    assert services["model-server"]["volumes"] == ["models:/models:ro"]
    context_per_slot = int(option["--ctx-size"]) // int(option["--parallel"])
    assert served.context <= context_per_slot
