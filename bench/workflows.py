"""Workflow engine benchmark: runs/s, step executions/s and step scheduling latency per executor.

Run from the checkout: `rathaus bench workflows [--runs N] [--database-url URL]`.

Every configuration starts the same batch of runs of one five-step workflow (template, extract and draft —
model steps through the router on the scripted backend —, a condition, set_output) at once and waits until
all have succeeded. Configurations, side by side in one invocation on the same database kind: the
in-process executor (the server's threads, RATHAUS_WORKFLOW_WORKERS = 2 and 4), and Celery on the local Redis
with one and with two `rathaus worker` processes (2 threads each). Step scheduling latency ("next step") is
the time from a step's predecessor finishing to the step starting; the queue wait is the time from a run's
creation to its first step (with a batch started at once, mostly waiting for the runs ahead of it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, percentile, write_docs
from rathaus.identity.directory import create_tenant
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.store.db import Database
from rathaus.store.migrate import upgrade
from rathaus.workflows import registry
from rathaus.workflows.models import StepRun, WorkflowRun
from rathaus.workflows.spec import load_workflow

CATALOGUE = {
    "apiVersion": "rathaus/v1",
    "kind": "ModelCatalogue",
    "profiles": [
        {"id": "scripted", "backend": "scripted", "tier": 2, "capabilities": ["chat", "json_schema"]}
    ],
}
WORKFLOW = """\
apiVersion: rathaus/v1
kind: Workflow
metadata: {name: last, title: Lastprobe}
spec:
  data_class: intern
  steps:
    - id: text
      type: template
      with: {text: "Anfrage {{ input.nummer }}: Mein Ausweis ist abgelaufen."}
    - id: angaben
      type: extract
      with:
        text: "{{ steps.text.output.text }}"
        schema: {type: object, properties: {anliegen: {type: string}}, required: [anliegen]}
    - id: entwurf
      type: draft
      with: {instructions: Antworte kurz., facts: "{{ steps.angaben.output.anliegen }}"}
    - id: pruefen
      type: condition
      with: {when: "steps.entwurf.output.text | length > 0"}
    - id: ergebnis
      type: set_output
      with: {value: "{{ steps.entwurf.output.text }}"}
"""
STEPS = 5


@dataclass
class Result:
    """One configuration's measurements."""

    name: str
    runs: int
    seconds: float
    latency_p50_ms: float
    latency_p95_ms: float
    wait_p50_ms: float
    wait_p95_ms: float

    @property
    def steps_per_s(self) -> float:
        """Step executions per second."""
        return self.runs * STEPS / self.seconds


def _settings(data_dir: Path, database_url: str | None, **extra: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="b" * 40,
        default_model="scripted",
        **extra,  # type: ignore[arg-type]
    )


def _batch(services: Services, principal: Principal, runs: int) -> tuple[list[str], float]:
    """Start `runs` runs and wait for all; returns their ids and the seconds from first start to last end."""
    started = time.perf_counter()
    ids = [services.workflows.start(principal, "last", {"nummer": n}).id for n in range(runs)]
    while True:
        with services.db.system_session() as session:
            open_runs = session.query(WorkflowRun).filter(
                WorkflowRun.id.in_(ids), WorkflowRun.status != "succeeded"
            )
            failed = open_runs.filter(WorkflowRun.status == "failed").first()
            if failed is not None:
                raise SystemExit(f"a run failed: {failed.failed_step}: {failed.error}")
            if open_runs.count() == 0:
                return ids, time.perf_counter() - started
        time.sleep(0.2)


def _latencies(services: Services, ids: list[str]) -> tuple[list[float], list[float]]:
    """In milliseconds: per run, its wait in the queue (creation to first step); per later step, the time
    from its predecessor's end to its start (the engine's scheduling)."""
    waits: list[float] = []
    delays: list[float] = []
    with services.db.system_session() as session:
        runs = {r.id: r for r in session.query(WorkflowRun).filter(WorkflowRun.id.in_(ids))}
        steps = (
            session.query(StepRun).filter(StepRun.run_id.in_(ids)).order_by(StepRun.run_id, StepRun.position)
        )
        previous: dict[str, datetime] = {}
        for step in steps:
            if step.started_at is None or step.finished_at is None:
                continue
            if step.run_id in previous:
                delays.append((step.started_at - previous[step.run_id]).total_seconds() * 1000)
            else:
                waits.append((step.started_at - runs[step.run_id].created_at).total_seconds() * 1000)
            previous[step.run_id] = step.finished_at
    return waits, delays


def measure(name: str, services: Services, principal: Principal, runs: int) -> Result:
    """One batch on the running executor."""
    ids, seconds = _batch(services, principal, runs)
    waits, delays = _latencies(services, ids)
    result = Result(
        name,
        runs,
        seconds,
        statistics.median(delays),
        percentile(delays, 0.95),
        statistics.median(waits),
        percentile(waits, 0.95),
    )
    print(f"{name}: {result.steps_per_s:.0f} steps/s, p95 {result.latency_p95_ms:.0f} ms", file=sys.stderr)
    return result


def main() -> None:
    """Measure every configuration and record the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per configuration")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--docs", default="docs/benchmarks.md", help="where to record; '-' to skip")
    args = parser.parse_args()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        (data_dir / "models.yaml").write_text(yaml.safe_dump(CATALOGUE), encoding="utf-8")
        base = _settings(data_dir, args.database_url)
        upgrade(base.effective_database_url)
        database = Database(base.effective_database_url)
        with database.system_session() as session:
            tenant_id = create_tenant(session, f"bench-{uuid.uuid4().hex[:6]}", "Bench").id
        database.dispose()
        principal = Principal(tenant_id=tenant_id, role=Role.builder)
        for workers in (2, 4):
            services = Services.build(_settings(data_dir, args.database_url, workflow_workers=workers))
            try:
                with services.db.session(tenant_id) as session:
                    registry.save(session, principal, load_workflow(WORKFLOW), services.catalogue)
                services.workflows.executor.start()
                results.append(measure(f"in-process, {workers} threads", services, principal, args.runs))
            finally:
                services.close()
        for processes in (1, 2):
            queue = f"rathaus-bench-{uuid.uuid4().hex[:8]}"
            extra = {"executor": "celery", "broker_url": args.broker_url, "celery_queue": queue}
            services = Services.build(_settings(data_dir, args.database_url, **extra))
            env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
            env.update(
                {
                    "RATHAUS_DATA_DIR": str(data_dir),
                    "RATHAUS_SECRET_KEY": "b" * 40,
                    "RATHAUS_DEFAULT_MODEL": "scripted",
                    "RATHAUS_EXECUTOR": "celery",
                    "RATHAUS_BROKER_URL": args.broker_url,
                    "RATHAUS_CELERY_QUEUE": queue,
                    **({"RATHAUS_DATABASE_URL": args.database_url} if args.database_url else {}),
                }
            )
            workers = [
                subprocess.Popen(
                    [sys.executable, "-m", "rathaus", "worker", "--concurrency", "2"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(processes)
            ]
            try:
                time.sleep(5)  # the workers connect to the broker
                services.workflows.executor.start()
                name = f"Celery, {processes} worker{'s' if processes > 1 else ''} × 2 threads"
                results.append(measure(name, services, principal, args.runs))
            finally:
                for worker in workers:
                    worker.terminate()
                    worker.wait(timeout=30)
                services.close()
    report(args, base.effective_database_url.split(":")[0].split("+")[0], results)


def report(args: argparse.Namespace, database: str, results: list[Result]) -> None:
    """Print the table and record it in docs/benchmarks.md."""
    when = datetime.now(UTC).strftime("%d %b %Y %H:%M UTC")
    baseline = results[0].steps_per_s
    lines = [
        f"## Workflows: the engine on both executors ({database})\n",
        f"`rathaus bench workflows {' '.join(sys.argv[1:])}` — {when}, {machine()}, database {database}.\n",
        f"{args.runs} runs of a five-step workflow per configuration (template; extract and draft through "
        "the router on the scripted backend, each with its request record; condition; set_output), "
        "all started "
        "at once.\n",
        "| executor | runs/s | step executions/s | vs in-process, 2 threads | next step p50 | p95 "
        "| queue wait p50 | p95 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.runs / r.seconds:.1f} | {r.steps_per_s:.0f} | {r.steps_per_s / baseline:.2f}× "
            f"| {r.latency_p50_ms:.1f} ms | {r.latency_p95_ms:.1f} ms "
            f"| {r.wait_p50_ms / 1000:.1f} s | {r.wait_p95_ms / 1000:.1f} s |"
        )
    celery = [r for r in results if r.name.startswith("Celery")]
    if len(celery) == 2:
        lines.append(
            f"\nThe second Celery worker: {celery[1].steps_per_s / celery[0].steps_per_s:.2f}× the step "
            "executions of one (target: a clear gain). In-process target: ≥ 100 step executions/s.\n"
        )
    section = "\n".join(lines) + "\n"
    print(section)
    if args.docs != "-":
        write_docs(Path(args.docs), f"workflows-{database}", section)


if __name__ == "__main__":
    main()
