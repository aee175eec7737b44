"""The Dockerfile, read as text (building it needs a container builder, see docs/operators.en.md): several
stages, a base image pinned by version and digest, an unprivileged user, no weights by default, settings
that exist, and the same version and paths as the chart and the Compose file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from rathaus.llm.catalogue import CatalogueFile, Profile
from rathaus.llm.installer import bundled_profile
from rathaus.llm.weights import SOURCES, weights_path
from tests.deploy.files import CHART, COMPOSE, DEPLOY, DOCKERFILE, IMAGE_MODELS_DIR, ROOT, unknown_settings


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (keyword, arguments), continuation lines joined, comments left out."""
    lines = [line for line in DOCKERFILE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            found.append((keyword.upper(), arguments.strip()))
    return found


def runtime_stage() -> list[tuple[str, str]]:
    """The instructions of the last stage, the image that runs."""
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def env(stage: list[tuple[str, str]]) -> dict[str, str]:
    """The ENV variables a stage sets."""
    found = {}
    for keyword, arguments in stage:
        if keyword == "ENV":
            found.update(re.findall(r"(\w+)=(\S+)", arguments))
    return found


def version() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return str(project["version"])


def test_stages_build_wheels_then_a_slim_runtime() -> None:
    steps = instructions()
    stages = [arguments for keyword, arguments in steps if keyword == "FROM"]
    assert len(stages) >= 3
    assert stages[0] == "${PYTHON_IMAGE} AS build" and stages[-1] == "${PYTHON_IMAGE} AS runtime"
    (base,) = [
        arguments for keyword, arguments in steps if keyword == "ARG" and arguments.startswith("PYTHON_IMAGE")
    ]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base)
    runs = " ".join(arguments for keyword, arguments in steps if keyword == "RUN")
    assert "pip wheel" in runs and "--find-links /wheels" in runs
    copies = [arguments for keyword, arguments in runtime_stage() if keyword == "COPY"]
    assert all(arguments.startswith("--from=") for arguments in copies), "the runtime gets only build results"


def test_runtime_runs_unprivileged() -> None:
    stage = runtime_stage()
    users = [arguments for keyword, arguments in stage if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    keywords = [keyword for keyword, _ in stage]
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert ("ENTRYPOINT", '["rathaus"]') in stage and ("CMD", '["serve"]') in stage


def test_no_weights_unless_asked_for() -> None:
    steps = instructions()
    assert ("ARG", 'BUNDLED_MODELS=""') in steps
    install = [
        arguments for keyword, arguments in steps if keyword == "RUN" and "models install" in arguments
    ]
    assert len(install) == 1 and 'if [ -n "$BUNDLED_MODELS" ]' in install[0]


def test_settings_and_paths_agree_with_compose_and_chart() -> None:
    settings = env(runtime_stage())
    assert not unknown_settings(settings)
    assert settings["RATHAUS_MODELS_DIR"] == IMAGE_MODELS_DIR
    assert settings["RATHAUS_DATA_DIR"] == "/var/lib/rathaus"
    assert settings["RATHAUS_HOST"] == "0.0.0.0" and settings["RATHAUS_PORT"] == "8000"
    assert ("EXPOSE", "8000") in runtime_stage()
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert compose["x-rathaus"]["image"] == f"${{IMAGE:-rathaus:{version()}}}"
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["appVersion"] == version()


def test_build_context_is_the_package_sources() -> None:
    ignored = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert ignored[0] == "*"
    kept = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    assert kept == {"pyproject.toml", "README.md", "LICENSE", "src"}
    copied = {
        path.rstrip("/").removeprefix("./")
        for keyword, arguments in instructions()
        if keyword == "COPY" and not arguments.startswith("--from")
        for path in arguments.split()[:-1]
    }
    assert copied <= kept


def _installed_profile(name: str) -> Profile:
    source = SOURCES[name]
    return bundled_profile(source, weights_path(Path(IMAGE_MODELS_DIR), source))


def test_catalogues_register_the_bundled_model_as_install_does() -> None:
    """The profile in deploy/models.yaml and in the chart's values is the one `rathaus models install`
    writes for weights in the image, so an installation reads the same calibration and licence."""
    compose_catalogue = CatalogueFile.model_validate(yaml.safe_load((DEPLOY / "models.yaml").read_text()))
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    chart_catalogue = CatalogueFile.model_validate({"profiles": values["catalogue"]["profiles"]})
    for catalogue in (compose_catalogue, chart_catalogue):
        (profile,) = catalogue.profiles
        assert profile == _installed_profile(profile.id)
    assert values["config"]["RATHAUS_DEFAULT_MODEL"] == profile.id
