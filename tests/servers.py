"""Helpers for tests that start real server processes on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float, log: Path) -> None:
    """Poll `url` until it answers 200; fail with the process's log if it dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"server process exited with {process.returncode}: {error}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} did not become ready within {timeout_s:.0f} s")


@contextmanager
def serve_in_thread(app: FastAPI, **options: Any) -> Iterator[str]:
    """Run the app under uvicorn (with any further Uvicorn `options`) in a thread on a free loopback port;
    yields its base URL."""
    port = free_port()
    config = {**options, "host": "127.0.0.1", "port": port, "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


LLAMA_SERVER = """
import sys, time, xllamacpp
params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.port = int(sys.argv[2])
params.hostnames = ["127.0.0.1"]
params.n_parallel = 2
params.n_ctx = 2048
params.verbosity = -1
params.warmup = False
server = xllamacpp.Server(params)
while True:
    time.sleep(3600)
"""


@contextmanager
def llama_server(model: Path, port: int, log: Path) -> Iterator[str]:
    """llama.cpp's own OpenAI-compatible server in a child process; yields its /v1 base URL."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-c", LLAMA_SERVER, str(model), str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{url}/health", process, 120, log)
        yield f"{url}/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)
