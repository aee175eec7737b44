"""Backend benchmark: Rathaus' HTTP path against llama.cpp called directly, side by side.

Run from the checkout: `rathaus bench backend -- [--models ...] [--rounds N] [--concurrency ...]`.

Both paths are measured in one run and interleaved (raw, HTTP, HTTP, raw, ...), so that other load on a
noisy machine falls on both alike; results are reported as paired differences and ratios to raw.
"raw" is `xllamacpp.Server` in this process, built with the parameters LlamaCppBackend resolves for the
profile; "HTTP" is a real `rathaus serve --demo` subprocess with a temporary data directory, called with
httpx and streaming, as an OpenAI client would. Both hold both models at once (a few GB of RAM). Every
request starts its system message with a random tag, so llama.cpp's prompt cache cannot skip the prompt.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from common import write_docs

SYSTEM = "Sie sind der digitale Assistent der Stadtverwaltung Musterstadt. Antworten Sie sachlich."
PROMPT = (
    "Erklären Sie ausführlich, welche Aufgaben ein Bürgeramt hat und welche Unterlagen man "
    "für die Beantragung eines neuen Personalausweises mitbringen muss."
)
RATHAUS = [sys.executable, "-c", "from rathaus.cli import main; main()"]
PATHS = ("raw", "HTTP")
T = TypeVar("T")
YES, MET = {True: "yes", False: "**no**"}, {True: "met", False: "missed"}
NOTE = (
    "Other processes on the machine move single requests by more than the HTTP path costs, so the paired "
    "numbers (and the concurrency table) carry that noise; the in-request TTFT difference does not, but it "
    "leaves out the cost of LlamaCppBackend itself, which only the paired comparison includes."
)


@dataclass
class Sample:
    """One streamed request as the client saw it, plus llama.cpp's or the server's own timings."""

    ttft_ms: float
    gen_tps: float  # client side: (tokens_out - 1) / (arrival of last token - arrival of first token)
    tokens_in: int
    tokens_out: int
    prompt_tps: float | None = None  # llama.cpp `timings` (raw only)
    engine_tps: float | None = None
    server_ttft_ms: float | None = None  # Rathaus' request record, measured in LlamaCppBackend (HTTP only)
    server_tps: float | None = None

    def __str__(self) -> str:
        return f"TTFT {self.ttft_ms:5.0f} ms  {self.gen_tps:5.1f} tok/s"


def body(max_tokens: int) -> dict[str, Any]:
    """The fixed request, with a fresh tag so that no prompt is served from the cache."""
    system = f"[{uuid.uuid4().hex[:8]}] {SYSTEM}"
    return {
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": PROMPT}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def has_text(chunk: dict[str, Any]) -> bool:
    """Whether a streamed chunk carries generated text."""
    return any((c.get("delta") or {}).get("content") for c in chunk.get("choices", []))


def sample(start: float, marks: list[float], usage: dict[str, Any]) -> Sample:
    """Client-side TTFT and generation speed from the arrival times of the text chunks."""
    if not marks:
        raise RuntimeError("the reply contained no text")
    out, span = int(usage.get("completion_tokens", len(marks))), marks[-1] - marks[0]
    gen = (out - 1) / span if span > 0 else 0.0
    return Sample((marks[0] - start) * 1000, gen, int(usage.get("prompt_tokens", 0)), out)


class Raw:
    """llama.cpp in this process with LlamaCppBackend's parameters, but none of Rathaus on the path."""

    def __init__(self, backend: Any) -> None:
        import xllamacpp

        from rathaus.llm.llamacpp import runtime_params

        params = runtime_params(
            backend.options.path, backend.parallel, backend.context_per_slot, backend.threads
        )
        self.server = xllamacpp.Server(params)

    def chat(self, max_tokens: int, record: bool = True) -> Sample:
        """One streamed chat completion through handle_chat_completions."""
        marks: list[float] = []
        final: dict[str, Any] = {}

        def on_chunk(chunk: dict[str, Any]) -> bool:
            if has_text(chunk):
                marks.append(time.perf_counter())
            if "usage" in chunk or "choices" not in chunk:  # the last chunk, or an error
                final.update(chunk)
            return False

        start = time.perf_counter()
        self.server.handle_chat_completions(body(max_tokens), on_chunk)
        if "usage" not in final:
            raise RuntimeError(f"llama.cpp: {final.get('message', final)}")
        result, timings = sample(start, marks, final["usage"]), final.get("timings", {})
        result.prompt_tps, result.engine_tps = (
            timings.get("prompt_per_second"),
            timings.get("predicted_per_second"),
        )
        return result


class Http:
    """A Rathaus server over loopback; `record` also reads the request record the server wrote."""

    def __init__(self, client: httpx.Client, database: Path, model: str) -> None:
        self.client, self.database, self.model = client, database, model

    def chat(self, max_tokens: int, record: bool = True) -> Sample:
        """One streamed POST /v1/chat/completions."""
        marks: list[float] = []
        usage: dict[str, Any] = {}
        start = time.perf_counter()
        with self.client.stream(
            "POST", "/v1/chat/completions", json={"model": self.model, **body(max_tokens)}
        ) as r:
            if r.status_code != 200:
                raise RuntimeError(f"HTTP {r.status_code}: {r.read().decode()[:500]}")
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    chunk = json.loads(line[6:])
                    if "error" in chunk:
                        raise RuntimeError(f"server: {chunk['error']}")
                    if has_text(chunk):
                        marks.append(time.perf_counter())
                    usage = chunk.get("usage") or usage
        result = sample(start, marks, usage)
        if record:  # the server writes the record before it sends `[DONE]`
            with sqlite3.connect(self.database) as db:
                ttft, duration, out = db.execute(
                    "SELECT ttft_ms, duration_ms, tokens_out FROM request_records ORDER BY rowid DESC LIMIT 1"
                ).fetchone()
            result.server_ttft_ms = ttft
            result.server_tps = (out - 1) / ((duration - ttft) / 1000) if ttft and duration > ttft else None
        return result


def rathaus(*args: str, env: dict[str, str]) -> str:
    """Run a `rathaus` command; its output, or an error showing it."""
    done = subprocess.run([*RATHAUS, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"rathaus {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[str]:
    """`rathaus serve --demo` on a free loopback port until ready; yields its URL and always stops it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*RATHAUS, "serve", "--demo", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError("the server did not start")
        yield url
    except Exception:
        print(f"server log (end):\n{log.read_text()[-4000:]}", file=sys.stderr)
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def batch(client: Raw | Http, n: int, max_tokens: int) -> float:
    """Aggregate generation throughput of n simultaneous requests: all output tokens / wall time."""
    start = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        samples = list(pool.map(lambda _: client.chat(max_tokens, False), range(n)))
    return sum(s.tokens_out for s in samples) / (time.perf_counter() - start)


def spread(values: list[float], form: str) -> tuple[float, str]:
    """The median, and a cell "median (lower quartile … upper quartile)" in the given number format."""
    q = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
    return q[1], f"{q[1]:{form}} ({q[0]:{form}} … {q[2]:{form}})"


def med(samples: list[Sample], field: str, digits: int = 0) -> str:
    """The median of a field as a table cell; a dash where this path does not measure it."""
    values = [v for s in samples if (v := getattr(s, field)) is not None]
    return f"{statistics.median(values):.{digits}f}" if values else "–"


def machine() -> str:
    """Cores, CPU model and RAM, for the record."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    cpu = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "?")
    kib = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    ram = f"{int(kib[1]) / 2**20:.1f} GiB RAM" if kib else "RAM unknown"
    return f"{len(os.sched_getaffinity(0))} cores (`nproc`), {cpu}, {ram}"


def load() -> str:
    """The load average over 1, 5 and 15 minutes."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def report(args: argparse.Namespace, seq: dict[str, dict[str, list[Sample]]], conc: dict[int, Any]) -> str:
    """The Markdown section: command, machine, date, tables and an interpretation of the numbers."""
    command = shlex.join(["rathaus", "bench", "backend", *(["--", *sys.argv[1:]] if sys.argv[1:] else [])])
    tokens_in = statistics.median(s.tokens_in for rows in seq.values() for s in rows["raw"])
    out = [
        "## Backend: HTTP path against the raw llama.cpp runtime\n",
        f"Command, from the checkout: `{command}`  \nMachine: {args.machine}; load average {args.load}  ",
        f"Date: {args.date}\n",
        f"One request at a time, {args.rounds} interleaved rounds after {args.warmup} warm-up request(s) per "
        f"path and model; ≈{tokens_in:.0f} prompt tokens, {args.max_tokens} output tokens, temperature 0; "
        "medians. Generation speed (client) = (output tokens − 1) / (last token − first token). *llama.cpp* "
        "columns are its own `timings`; *server* columns are Rathaus' request record, measured inside "
        "LlamaCppBackend (so without HTTP, authentication and routing).\n",
        "| Model | Path | TTFT ms | Prompt tok/s (llama.cpp) | Gen tok/s (client) | Gen tok/s (llama.cpp) "
        "| TTFT ms (server) | Gen tok/s (server) |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    costs = [
        "\nWhat the HTTP path costs, medians (interquartile ranges). *In-request*: client TTFT − server "
        "TTFT of the same request. *Paired*: HTTP − raw in the same round, with the model's own noise.\n",
        "| Model | TTFT added, in-request ms | TTFT added, paired ms | ≤ 20 ms "
        "| Gen speed HTTP / raw, paired % | ≥ 95 % |",
        "|---|--:|--:|:-:|--:|:-:|",
    ]
    text = []
    for model, paths in seq.items():
        for path, rows in paths.items():
            cells = [med(rows, "ttft_ms"), med(rows, "prompt_tps"), med(rows, "gen_tps", 1)]
            cells += [med(rows, "engine_tps", 1), med(rows, "server_ttft_ms"), med(rows, "server_tps", 1)]
            out.append(f"| {model} | {path} | " + " | ".join(cells) + " |")
        pairs = list(zip(paths["raw"], paths["HTTP"], strict=True))
        own, own_cell = spread([h.ttft_ms - (h.server_ttft_ms or 0) for h in paths["HTTP"]], ".1f")
        paired, paired_cell = spread([h.ttft_ms - r.ttft_ms for r, h in pairs], "+.0f")
        ratio, ratio_cell = spread([100 * h.gen_tps / r.gen_tps for r, h in pairs], ".1f")
        ok_t, ok_g = own <= 20, ratio >= 95
        cells = [own_cell, paired_cell, YES[ok_t], ratio_cell, YES[ok_g]]
        costs.append(f"| {model} | " + " | ".join(cells) + " |")
        text.append(
            f"{model}: the HTTP path adds {own:.0f} ms to the time to first token within a request (target "
            f"≤ 20 ms {MET[ok_t]}); the paired difference to the raw runtime is {paired:+.0f} ms. "
            f"Generation keeps {ratio:.0f} % of the raw speed (target ≥ 95 % {MET[ok_g]})."
        )
    out += costs
    out.append(
        "\nAggregate generation throughput, tok/s: all output tokens / wall time of a batch of concurrent "
        f"requests (median of {args.batches} batch(es) per path, prompt processing included).\n"
    )
    out += ["| Model | Concurrent | raw | HTTP | HTTP / raw |", "|---|--:|--:|--:|--:|"]
    for model in seq:
        for n, by_model in conc.items():
            tps = by_model[model]
            raw, http = statistics.median(tps["raw"]), statistics.median(tps["HTTP"])
            out.append(f"| {model} | {n} | {raw:.1f} | {http:.1f} | {100 * http / raw:.0f} % |")
    if len(conc) > 1:
        lo, hi = min(conc), max(conc)
        scale = [statistics.median(conc[hi][m]["HTTP"]) / statistics.median(conc[lo][m]["HTTP"]) for m in seq]
        text.append(
            f"Through HTTP, {hi} concurrent requests give {' and '.join(f'{x:.1f}×' for x in scale)} the "
            f"aggregate throughput of {lo} ({' and '.join(seq)})."
        )
    out.append("\nInterpretation (generated from the numbers above): " + " ".join(text) + " " + NOTE)
    return "\n".join(out) + "\n"


def alternate(clients: dict[str, dict[str, Any]], repeats: int, run: Callable[[Any], T], label: str) -> Any:
    """Run each path `repeats` times per model, alternating which goes first; results by model and path."""
    results: dict[str, dict[str, list[T]]] = {m: {p: [] for p in PATHS} for m in clients}
    for i in range(repeats):
        for model, pair in clients.items():
            for path in PATHS[:: 1 if i % 2 == 0 else -1]:
                results[model][path].append(value := run(pair[path]))
                shown = f"{value:5.1f} tok/s in all" if isinstance(value, float) else value
                print(f"{label} {i + 1}/{repeats}  {model}  {path:4}  {shown}", file=sys.stderr)
    return results


def main() -> None:
    """Set up a temporary Rathaus, measure both paths interleaved, print and record the results."""
    parser = argparse.ArgumentParser(prog="rathaus bench backend --", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["qwen2.5-0.5b", "qwen2.5-1.5b"])
    parser.add_argument("--rounds", type=int, default=6, help="Measured requests per path and model.")
    parser.add_argument("--warmup", type=int, default=1, help="Unmeasured requests per path and model.")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--batches", type=int, default=2, help="Batches per concurrency level and path.")
    parser.add_argument(
        "--docs", default="docs/benchmarks.md", help="File to record the results in; '-': none."
    )
    args = parser.parse_args()
    args.machine, args.load = machine(), load()
    args.date = datetime.now(UTC).strftime("%a %b %d %H:%M:%S UTC %Y")  # as `date -u` prints it

    from rathaus.llm.catalogue import Catalogue
    from rathaus.llm.llamacpp import LlamaCppBackend
    from rathaus.settings import load_settings

    for name in ("RATHAUS_CONFIG", "RATHAUS_DATABASE_URL"):  # never touch a real installation
        os.environ.pop(name, None)
    models_dir = str(load_settings().effective_models_dir)  # reuse the installed weights
    with tempfile.TemporaryDirectory(prefix="rathaus-bench-") as tmp:
        os.environ.update(
            RATHAUS_DATA_DIR=tmp, RATHAUS_MODELS_DIR=models_dir, RATHAUS_DEFAULT_MODEL=args.models[0]
        )
        env = dict(os.environ)
        rathaus("models", "install", *args.models, env=env)
        found = re.search(r"rh_\S+", rathaus("demo", env=env))
        if not found:
            raise RuntimeError("`rathaus demo` printed no API key")
        settings = load_settings()
        catalogue = Catalogue(settings.catalogue_file)
        raw = {m: Raw(LlamaCppBackend.from_profile(catalogue.get(m), settings)) for m in args.models}
        with server(env, Path(tmp) / "server.log") as url:
            headers = {"Authorization": f"Bearer {found[0]}"}
            with httpx.Client(base_url=url, headers=headers, timeout=900) as http:
                db = settings.data_dir / "rathaus.db"
                clients = {m: {"raw": raw[m], "HTTP": Http(http, db, m)} for m in args.models}
                alternate(clients, args.warmup, lambda c: c.chat(args.max_tokens), "warm-up")
                seq = alternate(clients, args.rounds, lambda c: c.chat(args.max_tokens), "round")
                conc = {
                    n: alternate(clients, args.batches, lambda c, n=n: batch(c, n, args.max_tokens), f"{n} ×")
                    for n in args.concurrency
                }
    args.load += f" at the start, {load()} at the end"
    section = report(args, seq, conc)
    print("\n" + section)
    if args.docs != "-":
        write_docs(Path(args.docs), "backend", section)
        print(f"written to {args.docs}", file=sys.stderr)


if __name__ == "__main__":
    main()
