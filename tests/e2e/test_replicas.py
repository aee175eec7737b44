"""Two replicas of two worker processes each, behind nginx, on PostgreSQL and Redis, with a Celery worker:
they behave as one, and losing a replica loses nothing that was accepted.

The replicas are `rathaus serve --workers 2` processes as an operator starts them; nginx (Debian's, started
by the test with its own configuration) spreads requests over them in turn. Limits that live in Redis and
budgets that live in PostgreSQL must hold whichever process answers; workflow steps run in `rathaus worker`.
The last test kills a replica: the module's tests run in order.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from rathaus.accounting.models import Budget, RequestRecord
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.store.migrate import upgrade
from tests.chatbots.conftest import SITE, publish_bot
from tests.conftest import (
    MODELS_DIR,
    SCRIPTED_CATALOGUE,
    TenantFixture,
    _fresh_postgres_database,
    make_tenant,
)
from tests.routing.test_budgets import PRICED
from tests.servers import free_port, wait_until_ready

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
REDIS = "redis://127.0.0.1:6379/13"
BROKER = "redis://127.0.0.1:6379/12"
WORKFLOW = """\
apiVersion: rathaus/v1
kind: Workflow
metadata: {name: vorgang, title: Vorgang bearbeiten}
spec:
  input: {type: object, required: [nummer], properties: {nummer: {type: integer}}}
  steps:
    - id: entwurf
      type: draft
      with:
        model: scripted-paced
        instructions: Schreibe einen kurzen Vermerk.
        facts: "Vorgang {{ input.nummer }}"
    - id: abschluss
      type: template
      with: {text: "Vorgang {{ input.nummer }} erledigt"}
"""
QUESTION = "Quantenchromodynamik"
NGINX = """
{user}
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream rathaus {{
    {servers}
    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://rathaus;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_buffering off;
    }}
  }}
}}
"""


@dataclass
class Cluster:
    """The proxy's URL, the replicas' URLs, and what the test set up."""

    url: str
    replicas: list[str]
    services: Services
    tenant: TenantFixture
    bot: str
    processes: list[subprocess.Popen[bytes]]
    env: dict[str, str]


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.fail("These tests need Debian's nginx: `make proxy` (apt-get install nginx)")
    return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_server: str) -> Iterator[Cluster]:
    """PostgreSQL, Redis, two replicas × two workers and nginx in front; a tenant with a chatbot."""
    database = _fresh_postgres_database(postgres_server)
    upgrade(database)
    data = tmp_path_factory.mktemp("data")
    priced = {"id": "priced", "tier": 1, **PRICED}  # 1 € per 1,000 tokens: about 0.025 € a request
    catalogue = {**SCRIPTED_CATALOGUE, "profiles": [*SCRIPTED_CATALOGUE["profiles"], priced]}
    (data / "models.yaml").write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    secret = "r" * 40
    settings = Settings(
        data_dir=data, database_url=database, models_dir=MODELS_DIR, secret_key=secret,
        default_model="scripted", redis_url=REDIS, redis_prefix=prefix,
    )  # fmt: skip
    services = Services.build(settings)
    tenant = make_tenant(services, "jena")
    bot = publish_bot(services, tenant)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update(
        RATHAUS_DATA_DIR=str(data), RATHAUS_DATABASE_URL=database, RATHAUS_MODELS_DIR=str(MODELS_DIR),
        RATHAUS_SECRET_KEY=secret, RATHAUS_DEFAULT_MODEL="scripted", RATHAUS_REDIS_URL=REDIS,
        RATHAUS_REDIS_PREFIX=prefix, RATHAUS_TRUSTED_PROXIES="127.0.0.1", RATHAUS_EXECUTOR="celery",
        RATHAUS_BROKER_URL=BROKER, RATHAUS_CELERY_QUEUE=f"rathaus-test-{prefix}",
    )  # fmt: skip
    logs = tmp_path_factory.mktemp("logs")
    processes: list[subprocess.Popen[bytes]] = []
    ports = [free_port(), free_port()]
    for number, port in enumerate(ports):
        with (logs / f"replica{number}.log").open("wb") as log:
            command = [sys.executable, "-m", "rathaus", "serve", "--workers", "2", "--port", str(port),
                       "--no-preload"]  # fmt: skip
            processes.append(
                subprocess.Popen(
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
    with (logs / "worker.log").open("wb") as log:
        command = [sys.executable, "-m", "rathaus", "worker", "--concurrency", "4"]
        worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    proxy_dir = tmp_path_factory.mktemp("nginx")
    proxy_port = free_port()
    config = NGINX.format(
        user="user root;" if os.geteuid() == 0 else "",
        dir=proxy_dir,
        port=proxy_port,
        servers="\n    ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;" for p in ports),
    )
    (proxy_dir / "nginx.conf").write_text(config, encoding="utf-8")
    with (logs / "nginx.log").open("wb") as log:
        proxy = subprocess.Popen(
            [_nginx(), "-p", str(proxy_dir), "-c", str(proxy_dir / "nginx.conf"), "-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    replicas = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for url, process, number in zip(replicas, processes, range(2), strict=True):
            wait_until_ready(f"{url}/readyz", process, 120, logs / f"replica{number}.log")
        wait_until_ready(f"http://127.0.0.1:{proxy_port}/readyz", proxy, 30, logs / "nginx.log")
        yield Cluster(f"http://127.0.0.1:{proxy_port}", replicas, services, tenant, bot, processes, env)
    finally:
        proxy.terminate()
        worker.terminate()
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [proxy, worker, *processes]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        services.close()


def _widget(cluster: Cluster, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{cluster.url}/api/widget/{cluster.bot}{path}", json=body, headers={"Origin": SITE},
                      timeout=60)  # fmt: skip


def test_requests_through_the_proxy_reach_every_replica(cluster: Cluster) -> None:
    for _ in range(8):
        assert httpx.get(f"{cluster.url}/readyz", timeout=30).status_code == 200
    models = httpx.get(f"{cluster.url}/v1/models", headers=cluster.tenant.headers("staff"), timeout=30)
    assert models.status_code == 200 and "priced" in {m["id"] for m in models.json()["data"]}
    for replica in cluster.replicas:  # both answer, with the data both share
        direct = httpx.get(f"{replica}/v1/models", headers=cluster.tenant.headers("staff"), timeout=30)
        assert direct.status_code == 200


def test_the_61st_widget_message_in_a_minute_is_refused_whichever_process_gets_it(cluster: Cluster) -> None:
    sessions = []
    for _ in range(4):
        opened = _widget(cluster, "/sessions", {})
        assert opened.status_code == 201, opened.text
        sessions.append(opened.json()["session"])
    for number in range(60):  # 15 per session (a session may send 20), spread over four processes
        answer = _widget(
            cluster, "/messages", {"session": sessions[number // 15], "message": "Quantenchromodynamik"}
        )
        assert answer.status_code == 200, (number, answer.text)
    refused = _widget(cluster, "/messages", {"session": sessions[3], "message": QUESTION})
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_fifty_concurrent_requests_overshoot_a_hard_budget_by_at_most_one(cluster: Cluster) -> None:
    services, tenant = cluster.services, cluster.tenant
    with services.db.session(tenant.id) as session:
        session.add(Budget(eur_per_month=0.2, action="refuse"))
    question = {"role": "user", "content": "Wie beantrage ich einen Anwohnerparkausweis?"}
    body = {"model": "priced", "messages": [question], "max_tokens": 12}

    def ask(_: int) -> int:
        url, headers = f"{cluster.url}/v1/chat/completions", tenant.headers("staff")
        response = httpx.post(url, json=body, headers=headers, timeout=120)
        assert response.status_code in (200, 429), response.text
        if response.status_code == 429:
            assert response.json()["error"]["code"] == "budget_exhausted"
        return response.status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(ask, range(50)))
    with services.db.session(tenant.id) as session:
        count, eur = session.execute(
            select(func.count(), func.sum(RequestRecord.eur)).where(RequestRecord.profile_id == "priced")
        ).one()
        biggest = session.scalar(
            select(func.max(RequestRecord.eur)).where(RequestRecord.profile_id == "priced")
        )
    assert codes.count(200) == count  # every answered request is recorded, once
    assert 429 in codes
    assert float(eur) <= 0.2 + float(biggest) + 1e-9  # over the limit by at most one request


def test_killing_a_replica_mid_load_loses_no_accepted_run_and_no_request_record(cluster: Cluster) -> None:
    """Workflow runs and model requests go through the proxy while one replica (its two workers with it) is
    killed: every run that was accepted finishes, and every answered request is recorded."""
    services = cluster.services
    halle = make_tenant(services, "halle")
    spec = Path(cluster.env["RATHAUS_DATA_DIR"]) / "vorgang.yaml"
    spec.write_text(WORKFLOW, encoding="utf-8")
    applied = subprocess.run(
        [sys.executable, "-m", "rathaus", "spec", "apply", str(spec), "--tenant", "halle"],
        env=cluster.env, capture_output=True, text=True,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    headers = halle.headers("admin")
    accepted: list[str] = []
    answered = cut = 0
    lock = threading.Lock()
    halfway = threading.Event()

    def start_run(number: int) -> None:
        if number == 20:
            halfway.set()
        try:
            url, body = f"{cluster.url}/api/workflows/vorgang/runs", {"input": {"nummer": number}}
            response = httpx.post(url, json=body, headers=headers, timeout=60)
        except httpx.HTTPError:
            response = None  # cut off with its replica: not accepted
        with lock:
            if response is not None and response.status_code == 202:
                accepted.append(response.json()["id"])
            else:
                nonlocal cut
                cut += 1

    def ask(_: int) -> None:
        nonlocal answered, cut
        body = {
            "model": "scripted-paced",
            "messages": [{"role": "user", "content": "Hallo"}],
            "max_tokens": 8,
        }
        try:
            response = httpx.post(
                f"{cluster.url}/v1/chat/completions", json=body, headers=headers, timeout=60
            )
        except httpx.HTTPError:
            response = None
        with lock:
            if response is not None and response.status_code == 200:
                answered += 1
            else:
                cut += 1

    def kill_when_halfway() -> None:
        halfway.wait(60)
        time.sleep(0.5)
        os.killpg(cluster.processes[0].pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_halfway)
    killer.start()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for number in range(40):
            pool.submit(start_run, number)
            pool.submit(ask, number)
            time.sleep(0.05)
    killer.join(timeout=60)
    assert cluster.processes[0].wait(timeout=30) is not None
    print(f"accepted {len(accepted)} runs, answered {answered} requests, {cut} cut off by the kill")
    assert len(accepted) >= 30 and answered >= 30, (len(accepted), answered, cut)

    deadline = time.monotonic() + 180
    finished: dict[str, str] = {}
    while time.monotonic() < deadline and len(finished) < len(accepted):
        for run in accepted:
            if run not in finished:
                state = httpx.get(f"{cluster.replicas[1]}/api/runs/{run}", headers=headers, timeout=30).json()
                if state["status"] in ("succeeded", "failed", "cancelled"):
                    finished[run] = state["status"]
        time.sleep(1)
    assert set(finished.values()) == {"succeeded"} and len(finished) == len(accepted), finished
    with services.db.session(halle.id) as session:
        records = session.scalar(
            select(func.count()).select_from(RequestRecord).where(RequestRecord.endpoint == "v1.chat")
        )
    assert (records or 0) >= answered
