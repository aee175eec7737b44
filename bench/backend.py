"""Backend benchmark: Rathaus' HTTP path against llama.cpp called directly, side by side.

Run from the checkout: `rathaus bench backend [--models ...] [--rounds N] [--concurrency ...]`.

Both paths run in one go and are interleaved (raw, HTTP, HTTP, raw, ...), so that the load of a noisy
machine falls on both alike; the results are reported as paired differences and ratios to the raw
runtime. "raw" is `xllamacpp.Server` in this process, built with the parameters LlamaCppBackend uses;
"HTTP" is a real `rathaus serve --demo` subprocess with a temporary data directory, called with httpx
(streaming, as an OpenAI client would). Each request gets a short random tag at the start of its
system message, so llama.cpp's prompt cache cannot skip the prompt on repeats.
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
from typing import Any

import httpx

SYSTEM = "Sie sind der digitale Assistent der Stadtverwaltung Musterstadt. Antworten Sie sachlich."
PROMPT = (
    "Erklären Sie ausführlich, welche Aufgaben ein Bürgeramt hat und welche Unterlagen man "
    "für die Beantragung eines neuen Personalausweises mitbringen muss."
)
MARK_BEGIN, MARK_END = "<!-- bench:backend:begin -->", "<!-- bench:backend:end -->"
RATHAUS = [sys.executable, "-c", "from rathaus.cli import main; main()"]


@dataclass
class Sample:
    """One streamed request as the client saw it, plus the engine's or server's own timings."""

    ttft_ms: float
    gen_tps: float  # client-side: (tokens_out - 1) / (last token time - first token time)
    tokens_out: int
    prompt_tps: float | None = None  # llama.cpp `timings` (raw only)
    engine_tps: float | None = None  # llama.cpp `timings.predicted_per_second` (raw only)
    server_ttft_ms: float | None = None  # Rathaus' request record (HTTP only)
    server_tps: float | None = None


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


def sample(start: float, marks: list[float], tokens_out: int) -> Sample:
    """Client-side TTFT and generation speed from the arrival times of the content chunks."""
    if not marks:
        raise RuntimeError("the reply contained no text")
    span = marks[-1] - marks[0]
    return Sample((marks[0] - start) * 1000, (tokens_out - 1) / span if span > 0 else 0.0, tokens_out)


class Raw:
    """llama.cpp in this process, with LlamaCppBackend's parameters but none of its code on the path."""

    def __init__(self, backend: Any) -> None:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(backend.options.path)
        params.n_parallel = backend.parallel
        params.n_ctx = backend.parallel * backend.context_per_slot
        params.verbosity = -1
        params.warmup = False
        if backend.threads:
            params.cpuparams.n_threads = backend.threads
            params.cpuparams_batch.n_threads = backend.threads
        self.server = xllamacpp.Server(params)

    def chat(self, max_tokens: int, record: bool = True) -> Sample:
        """One streamed chat completion through handle_chat_completions."""
        marks: list[float] = []
        final: dict[str, Any] = {}

        def on_chunk(chunk: dict[str, Any]) -> bool:
            if any((c.get("delta") or {}).get("content") for c in chunk.get("choices", [])):
                marks.append(time.perf_counter())
            if "timings" in chunk or "usage" in chunk or "choices" not in chunk:
                final.update(chunk)
            return False

        start = time.perf_counter()
        self.server.handle_chat_completions(body(max_tokens), on_chunk)
        if "usage" not in final:
            raise RuntimeError(f"llama.cpp: {final.get('message', final)}")
        result = sample(start, marks, int(final["usage"]["completion_tokens"]))
        timings = final.get("timings", {})
        result.prompt_tps, result.engine_tps = (
            timings.get("prompt_per_second"),
            timings.get("predicted_per_second"),
        )
        return result


class Http:
    """A Rathaus server, called over loopback like any OpenAI client would."""

    def __init__(self, url: str, api_key: str, database: Path, model: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=900)
        self.database, self.model = database, model

    def chat(self, max_tokens: int, record: bool = True) -> Sample:
        """One streamed POST /v1/chat/completions; `record` also reads the server's request record."""
        marks: list[float] = []
        usage: dict[str, Any] = {}
        start = time.perf_counter()
        with self.client.stream(
            "POST", "/v1/chat/completions", json={"model": self.model, **body(max_tokens)}
        ) as r:
            if r.status_code != 200:
                raise RuntimeError(f"HTTP {r.status_code}: {r.read().decode()[:500]}")
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    raise RuntimeError(f"server: {chunk['error']}")
                if any((c.get("delta") or {}).get("content") for c in chunk.get("choices", [])):
                    marks.append(time.perf_counter())
                usage = chunk.get("usage") or usage
        result = sample(start, marks, int(usage.get("completion_tokens", len(marks))))
        if record:  # written before `[DONE]` is sent, so it is there now
            with sqlite3.connect(self.database) as db:
                ttft, duration, out = db.execute(
                    "SELECT ttft_ms, duration_ms, tokens_out FROM request_records ORDER BY rowid DESC LIMIT 1"
                ).fetchone()
            result.server_ttft_ms = ttft
            result.server_tps = (out - 1) / ((duration - ttft) / 1000) if ttft and duration > ttft else None
        return result


def run(*args: str, env: dict[str, str]) -> str:
    """Run a `rathaus` command, failing loudly with its output."""
    done = subprocess.run([*RATHAUS, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"rathaus {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[str]:
    """Start `rathaus serve --demo` on a free loopback port; yields its URL and always stops it."""
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
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def batch(call: Callable[[int, bool], Sample], n: int, max_tokens: int) -> float:
    """Aggregate generation throughput of n simultaneous requests: output tokens / wall time."""
    start = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        samples = list(pool.map(lambda _: call(max_tokens, False), range(n)))
    return sum(s.tokens_out for s in samples) / (time.perf_counter() - start)


def spread(values: list[float]) -> tuple[float, float, float]:
    """Lower quartile, median and upper quartile."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def med(samples: list[Sample], field: str) -> float | None:
    """Median of a field over samples, None if nobody measured it."""
    values = [v for s in samples if (v := getattr(s, field)) is not None]
    return statistics.median(values) if values else None


def f(value: float | None, digits: int = 0) -> str:
    """A number for a table cell."""
    return "–" if value is None else f"{value:.{digits}f}"


def machine() -> str:
    """CPU, cores, RAM and load, for the record."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    cpu = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "?")
    ram = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1]) / 2**20  # type: ignore[index]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{len(os.sched_getaffinity(0))} cores (`nproc`), {cpu}, {ram:.1f} GiB RAM; load average {load}"


Sequential = dict[str, dict[str, list[Sample]]]  # model -> path -> samples
Concurrent = dict[tuple[str, int], dict[str, list[float]]]  # (model, n) -> path -> tok/s


def report(args: argparse.Namespace, seq: Sequential, conc: Concurrent, info: str) -> str:
    """The Markdown section: command, machine, date, tables and an interpretation."""
    lines = [
        "## Backend: HTTP path against the raw llama.cpp runtime",
        "",
        f"Command (from the checkout): `{shlex.join(['rathaus', 'bench', 'backend', *sys.argv[1:]])}`",
        "",
        f"Machine: {info}. Date: {datetime.now(UTC).strftime('%a %b %d %H:%M:%S UTC %Y')}.",
        "",
        f"One request at a time, {args.rounds} interleaved rounds (after {args.warmup} warm-up requests per "
        f"path), {args.max_tokens} output tokens, temperature 0; medians. Client-side generation speed is "
        "(output tokens − 1) / (last token − first token); *llama.cpp* is its own `predicted_per_second`; "
        "*server* columns come from Rathaus' request record (measured inside LlamaCppBackend).",
        "",
        "| Model | Path | TTFT ms | Prompt tok/s (llama.cpp) | Gen tok/s (client) | Gen tok/s (llama.cpp) "
        "| Server TTFT ms | Gen tok/s (server) |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    verdicts, compare = (
        [],
        ["", "| Model | TTFT added by HTTP, ms (IQR) | ≤ 20 ms | Gen speed HTTP / raw (IQR) | ≥ 95 % |"],
    )
    compare.append("|---|--:|:-:|--:|:-:|")
    for model, paths in seq.items():
        for name, rows in paths.items():
            cells = [f(med(rows, "ttft_ms")), f(med(rows, "prompt_tps")), f(med(rows, "gen_tps"), 1)]
            cells += [
                f(med(rows, "engine_tps"), 1),
                f(med(rows, "server_ttft_ms")),
                f(med(rows, "server_tps"), 1),
            ]
            lines.append(f"| {model} | {name} | " + " | ".join(cells) + " |")
        pairs = list(zip(paths["raw"], paths["HTTP"], strict=True))
        d_lo, d_mid, d_hi = spread([h.ttft_ms - r.ttft_ms for r, h in pairs])
        r_lo, r_mid, r_hi = spread([100 * h.gen_tps / r.gen_tps for r, h in pairs if r.gen_tps])
        ok_t, ok_g = d_mid <= 20, r_mid >= 95
        compare.append(
            f"| {model} | {d_mid:+.0f} ({d_lo:+.0f} … {d_hi:+.0f}) | {'yes' if ok_t else '**no**'} "
            f"| {r_mid:.1f} % ({r_lo:.1f} … {r_hi:.1f}) | {'yes' if ok_g else '**no**'} |"
        )
        verdicts.append(
            f"{model}: HTTP adds {d_mid:+.0f} ms to the time to first token (target ≤ 20 ms: "
            f"{'met' if ok_t else 'missed'}) and keeps {r_mid:.1f} % of raw generation speed "
            f"(target ≥ 95 %: {'met' if ok_g else 'missed'})."
        )
    lines += [
        *compare,
        "",
        "Aggregate generation throughput (all output tokens / wall time of the batch), tok/s:",
        "",
    ]
    lines += ["| Model | Concurrent | raw | HTTP | HTTP / raw |", "|---|--:|--:|--:|--:|"]
    for (model, n), tps in conc.items():
        raw, http = statistics.median(tps["raw"]), statistics.median(tps["HTTP"])
        lines.append(f"| {model} | {n} | {raw:.1f} | {http:.1f} | {100 * http / raw:.0f} % |")
    spreads = [
        spread([100 * h.gen_tps / r.gen_tps for r, h in zip(*p.values(), strict=True)]) for p in seq.values()
    ]
    noisy = any(hi - lo > 10 for lo, _, hi in spreads)
    lines += [
        "",
        "Interpretation: " + " ".join(verdicts),
        "The HTTP path pays for authentication (a database write per key use), the request record, SSE "
        "framing and loopback TCP; the comparison with the server-side columns shows how much of the "
        "client's TTFT is spent before the model starts. "
        + (
            "The interquartile ranges are wide: other load on this machine moves single requests by more "
            "than the effect measured, so treat the medians as indicative and rerun with more `--rounds`."
            if noisy
            else "The interquartile ranges are narrow enough to trust the medians at this sample size."
        ),
    ]
    return "\n".join(lines) + "\n"


def write_docs(path: Path, section: str) -> None:
    """Write or replace the benchmark's section of docs/benchmarks.md."""
    block = f"{MARK_BEGIN}\n{section}{MARK_END}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        text = head + block + rest.split(MARK_END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def main() -> None:
    """Set up a temporary Rathaus, measure both paths interleaved, print and record the results."""
    parser = argparse.ArgumentParser(prog="rathaus bench backend", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["qwen2.5-0.5b", "qwen2.5-1.5b"])
    parser.add_argument(
        "--rounds", type=int, default=5, help="Measured sequential requests per path and model."
    )
    parser.add_argument("--warmup", type=int, default=1, help="Unmeasured requests per path and model.")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--batches", type=int, default=1, help="Batches per concurrency level and path.")
    parser.add_argument("--docs", type=Path, default=Path("docs/benchmarks.md"), help="'-' to skip.")
    args = parser.parse_args()

    from rathaus.llm.catalogue import Catalogue
    from rathaus.llm.llamacpp import LlamaCppBackend
    from rathaus.settings import load_settings

    for name in ("RATHAUS_CONFIG", "RATHAUS_DATABASE_URL"):  # never touch a real installation
        os.environ.pop(name, None)
    info = machine()
    models_dir = str(load_settings().effective_models_dir)
    with tempfile.TemporaryDirectory(prefix="rathaus-bench-") as tmp:
        env = {**os.environ, "RATHAUS_DATA_DIR": tmp, "RATHAUS_MODELS_DIR": models_dir}
        env["RATHAUS_DEFAULT_MODEL"] = args.models[0]
        os.environ.update(env)
        run("models", "install", *args.models, env=env)
        api_key = re.search(r"rh_\S+", run("demo", env=env))[0]  # type: ignore[index]
        settings = load_settings()
        catalogue = Catalogue(settings.catalogue_file)
        raw = {m: Raw(LlamaCppBackend.from_profile(catalogue.get(m), settings)) for m in args.models}
        with server(env, Path(tmp) / "server.log") as url:
            db = settings.data_dir / "rathaus.db"
            paths = {m: {"raw": raw[m], "HTTP": Http(url, api_key, db, m)} for m in args.models}
            for pair in paths.values():
                for client in pair.values():
                    for _ in range(args.warmup):
                        client.chat(args.max_tokens)
            seq: Sequential = {m: {"raw": [], "HTTP": []} for m in args.models}
            for i in range(args.rounds):
                for model, pair in paths.items():
                    for name in ("raw", "HTTP") if i % 2 == 0 else ("HTTP", "raw"):
                        s = pair[name].chat(args.max_tokens)
                        seq[model][name].append(s)
                        print(
                            f"round {i + 1} {model:14} {name:4} TTFT {s.ttft_ms:6.0f} ms  "
                            f"{s.gen_tps:5.1f} tok/s",
                            file=sys.stderr,
                            flush=True,
                        )
            conc: Concurrent = {}
            for n in args.concurrency:
                for model, pair in paths.items():
                    conc[(model, n)] = {"raw": [], "HTTP": []}
                    for i in range(args.batches):
                        for name in ("raw", "HTTP") if i % 2 == 0 else ("HTTP", "raw"):
                            conc[(model, n)][name].append(batch(pair[name].chat, n, args.max_tokens))
                    print(f"concurrency {n} {model:14} {conc[(model, n)]}", file=sys.stderr, flush=True)
        raw.clear()
    section = report(
        args, seq, conc, info + f" → {', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end"
    )
    print("\n" + section)
    if str(args.docs) != "-":
        write_docs(args.docs, section)
        print(f"written to {args.docs}", file=sys.stderr)


if __name__ == "__main__":
    main()
