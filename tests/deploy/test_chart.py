"""The Helm chart renders with the real Helm, passes `helm lint --strict`, and every manifest it renders is
valid against the Kubernetes schemas of the oldest version the chart supports and of a current one.

Helm comes from `make helm` (scripts/install-helm.py); without it these tests are skipped, except in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate.utils import ValidationError, validate

from rathaus.llm.catalogue import CatalogueFile
from tests.deploy.files import CHART, unknown_settings

KUBERNETES_VERSIONS = ("1.29.0", "1.35.0")
"""The chart's kubeVersion floor (Chart.yaml) and the version the bundled Helm was built against."""

DATABASE_URL = "postgresql+psycopg://rathaus:geheim@postgres.datenbanken.svc:5432/rathaus"
VARIANTS: dict[str, list[str]] = {
    "minimal": ["--set", f"database.url={DATABASE_URL}"],
    "everything": ["--values", str(CHART / "ci" / "everything-values.yaml")],
    "existing-secret": ["--values", str(CHART / "ci" / "existing-secret-values.yaml")],
}

Manifest = dict[str, Any]


def _helm() -> str:
    beside_python = Path(sys.executable).parent / "helm"
    found = str(beside_python) if beside_python.is_file() else shutil.which("helm")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("helm is missing: `make helm` installs it (make test does)")
    pytest.skip("helm is missing: `make helm` installs it")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_helm(), *args], capture_output=True, text=True, timeout=120, check=False)


def render(*values: str) -> list[Manifest]:
    """The chart's manifests for these value arguments, as `helm template` renders them."""
    result = _run("template", "rathaus", str(CHART), "--namespace", "stadt", *values)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    return {name: render(*values) for name, values in VARIANTS.items()}


def find(manifests: list[Manifest], kind: str, component: str | None = None) -> list[Manifest]:
    """The manifests of one kind (and component label)."""
    return [
        m
        for m in manifests
        if m["kind"] == kind
        and (component is None or m["metadata"]["labels"].get("app.kubernetes.io/component") == component)
    ]


def containers(manifests: list[Manifest]) -> Iterator[Manifest]:
    """Every container of every pod template."""
    for manifest in manifests:
        if manifest["kind"] in {"Deployment", "Job"}:
            yield from manifest["spec"]["template"]["spec"]["containers"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_manifest_is_valid_kubernetes(
    rendered: dict[str, list[Manifest]], variant: str, version: str
) -> None:
    problems = []
    for manifest in rendered[variant]:
        try:
            validate(manifest, version, strict=True)
        except ValidationError as exc:
            problems.append(f"{manifest['kind']} {manifest['metadata']['name']}: {exc.message}")
    assert not problems, f"Kubernetes {version}, values {variant}: {problems}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_helm_lint_passes(variant: str) -> None:
    result = _run("lint", "--strict", str(CHART), *VARIANTS[variant])
    assert result.returncode == 0, result.stdout + result.stderr


def test_everything_renders_every_part(rendered: dict[str, list[Manifest]]) -> None:
    kinds = {m["kind"] for m in rendered["everything"]}
    assert kinds == {
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Job",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "ServiceAccount",
    }
    assert find(rendered["everything"], "Deployment", "server")
    assert find(rendered["everything"], "Deployment", "worker")


def test_without_a_database_the_chart_says_what_is_missing() -> None:
    result = _run("template", "rathaus", str(CHART))
    assert result.returncode != 0
    assert "database.url is required" in result.stderr


def test_values_schema_rejects_what_rathaus_would_not_understand() -> None:
    for values in (
        ["--set", "database.url=mysql://rathaus@db/rathaus"],
        ["--set", f"database.url={DATABASE_URL}", "--set", "config.LOG_LEVEL=debug"],
        ["--set", f"database.url={DATABASE_URL}", "--set", "secrets.secretKey=zu-kurz"],
        ["--set", f"database.url={DATABASE_URL}", "--set", "replicas=3"],
    ):
        result = _run("template", "rathaus", str(CHART), *values)
        assert result.returncode != 0, f"{values} was accepted"


@pytest.mark.parametrize("variant", VARIANTS)
def test_servers_are_probed_and_run_unprivileged(rendered: dict[str, list[Manifest]], variant: str) -> None:
    (server,) = find(rendered[variant], "Deployment", "server")
    pod = server["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve"]
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    for pod_container in containers(rendered[variant]):
        context = pod_container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        mounts = {mount["mountPath"] for mount in pod_container["volumeMounts"]}
        assert "/tmp" in mounts, f"{pod_container['name']} has no writable /tmp"


@pytest.mark.parametrize("variant", VARIANTS)
def test_migrations_run_before_install_and_upgrade(rendered: dict[str, list[Manifest]], variant: str) -> None:
    (job,) = find(rendered[variant], "Job")
    hooks = job["metadata"]["annotations"]["helm.sh/hook"].split(",")
    assert set(hooks) == {"pre-install", "pre-upgrade"}
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["db", "upgrade"]
    assert "serviceAccountName" not in job["spec"]["template"]["spec"], "hooks run before the account exists"
    (database_url,) = [env for env in container["env"] if env["name"] == "RATHAUS_DATABASE_URL"]
    secret_name = database_url["valueFrom"]["secretKeyRef"]["name"]
    secrets = {m["metadata"]["name"]: m for m in find(rendered[variant], "Secret")}
    if variant == "existing-secret":
        assert secret_name == "rathaus-secrets" and not secrets
    else:
        # The release's own Secret does not exist yet when the hook runs: the Job's Secret is a hook too.
        annotations = secrets[secret_name]["metadata"]["annotations"]
        assert set(annotations["helm.sh/hook"].split(",")) == set(hooks)
        assert int(annotations["helm.sh/hook-weight"]) < int(
            job["metadata"]["annotations"]["helm.sh/hook-weight"]
        )
        assert secrets[secret_name]["stringData"]["RATHAUS_DATABASE_URL"] == DATABASE_URL


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_rathaus_variable_is_a_setting(rendered: dict[str, list[Manifest]], variant: str) -> None:
    names: list[str] = []
    for manifest in rendered[variant]:
        if manifest["kind"] == "ConfigMap":
            names += manifest["data"]
        elif manifest["kind"] == "Secret":
            names += manifest["stringData"]
    names += [env["name"] for container in containers(rendered[variant]) for env in container.get("env", [])]
    assert any(name.startswith("RATHAUS_") for name in names)
    assert not unknown_settings(names)


@pytest.mark.parametrize("variant", ["minimal", "everything"])
def test_catalogue_is_valid_and_holds_the_default_model(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    maps = {m["metadata"]["name"]: m for m in find(rendered[variant], "ConfigMap")}
    catalogue = CatalogueFile.model_validate(yaml.safe_load(maps["rathaus-catalogue"]["data"]["models.yaml"]))
    default_model = maps["rathaus-config"]["data"]["RATHAUS_DEFAULT_MODEL"]
    assert default_model in {profile.id for profile in catalogue.profiles}
    (server,) = find(rendered[variant], "Deployment", "server")
    (mount,) = [
        m
        for m in server["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        if m["name"] == "catalogue"
    ]
    assert mount["mountPath"] == "/var/lib/rathaus/models.yaml", "the catalogue belongs in RATHAUS_DATA_DIR"


def test_worker_runs_the_steps_through_the_broker(rendered: dict[str, list[Manifest]]) -> None:
    manifests = rendered["everything"]
    (worker,) = find(manifests, "Deployment", "worker")
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["worker", "--concurrency", "4"]
    (config,) = [m for m in find(manifests, "ConfigMap") if m["metadata"]["name"] == "rathaus-config"]
    assert config["data"]["RATHAUS_EXECUTOR"] == "celery"
    (secret,) = [m for m in find(manifests, "Secret") if m["metadata"]["name"] == "rathaus"]
    assert secret["stringData"]["RATHAUS_BROKER_URL"].startswith("redis://")
    (server,) = find(manifests, "Deployment", "server")
    assert server["spec"]["template"]["spec"]["containers"][0]["envFrom"] == container["envFrom"]
    assert "RATHAUS_EXECUTOR" not in find(rendered["minimal"], "ConfigMap")[0]["data"]


def test_autoscaling_disruption_budget_and_network_policy(rendered: dict[str, list[Manifest]]) -> None:
    manifests = rendered["everything"]
    (server,) = find(manifests, "Deployment", "server")
    assert "replicas" not in server["spec"], "the autoscaler sets the replicas"
    (hpa,) = find(manifests, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == server["metadata"]["name"]
    (pdb,) = find(manifests, "PodDisruptionBudget")
    server_labels = server["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= server_labels.items()
    policies = {p["metadata"]["name"]: p["spec"] for p in find(manifests, "NetworkPolicy")}
    assert policies["rathaus"]["ingress"] == [], "worker and migration pods take no connections"
    assert "Egress" in policies["rathaus"]["policyTypes"]
    (allowed,) = policies["rathaus-server"]["ingress"]
    assert allowed["ports"] == [{"port": "http", "protocol": "TCP"}] and allowed["from"]
    (static,) = find(rendered["existing-secret"], "Deployment", "server")
    assert static["spec"]["replicas"] == 3
