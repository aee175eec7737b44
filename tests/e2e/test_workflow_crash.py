"""Crash safety: `kill -9` the server (and, with Celery, the worker) while 100 workflows run; after a
restart all 100 finish and the SMTP server has received every e-mail.

A kill between the mail server's acceptance of a message and the commit of the step's success cannot be
told from a kill before the send: that step is run again, and the repeat carries the same Message-ID, so
that the receiving mail system can tell it (RFC 5322). Only the sends in flight at the kill can repeat, at
most one per step thread; every other run's e-mail arrives exactly once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from aiosmtpd.controller import Controller

from tests.conftest import SCRIPTED_CATALOGUE
from tests.mail import Mailbox
from tests.servers import free_port, wait_until_ready

pytestmark = pytest.mark.slow
RATHAUS = [sys.executable, "-m", "rathaus"]
RUNS = 100
WORKERS = 8  # step threads (and Celery processes): at most this many sends are in flight at the kill

WORKFLOW = """\
apiVersion: rathaus/v1
kind: Workflow
metadata: {name: bescheid, title: Bescheid senden}
spec:
  input: {type: object, required: [nummer], properties: {nummer: {type: integer}}}
  steps:
    - id: entwurf
      type: draft
      with:
        model: scripted-paced
        instructions: Schreibe einen kurzen Bescheid.
        facts: "Vorgang {{ input.nummer }}"
    - id: senden
      type: send_email
      with:
        to: buerger@example.org
        subject: "Bescheid {{ input.nummer }}"
        body: "{{ steps.entwurf.output.text }}"
    - id: abschluss
      type: template
      with: {text: "Vorgang {{ input.nummer }} erledigt"}
"""


def _env(data_dir: Path, smtp_port: int, executor: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update(
        {
            "RATHAUS_DATA_DIR": str(data_dir),
            "RATHAUS_SECRET_KEY": "k" * 40,
            "RATHAUS_DEFAULT_MODEL": "scripted",
            "RATHAUS_WORKFLOW_WORKERS": str(WORKERS),
            "RATHAUS_SMTP_HOST": "127.0.0.1",
            "RATHAUS_SMTP_PORT": str(smtp_port),
            "RATHAUS_EXECUTOR": executor,
            "RATHAUS_CELERY_QUEUE": f"rathaus-test-{uuid.uuid4().hex[:12]}",
        }
    )
    return env


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """`rathaus serve` in a child process, and with Celery `rathaus worker` in another."""
    port = free_port()
    processes = []
    with log.open("ab") as log_file:
        processes.append(
            subprocess.Popen(
                [*RATHAUS, "serve", "--port", str(port)], env=env, stdout=log_file, stderr=subprocess.STDOUT
            )
        )
        if env["RATHAUS_EXECUTOR"] == "celery":
            processes.append(
                subprocess.Popen(
                    [*RATHAUS, "worker", "--concurrency", str(WORKERS)],
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
            )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{url}/readyz", processes[0], 120, log)
        yield url, processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


def statuses(url: str, key: str) -> Counter[str]:
    runs = httpx.get(f"{url}/api/runs", params={"limit": 500}, headers={"Authorization": f"Bearer {key}"})
    return Counter(run["status"] for run in runs.json())


@pytest.mark.parametrize("executor", ["inprocess", "celery"])
def test_a_killed_server_loses_no_case_and_repeats_a_mail_only_with_its_message_id(
    tmp_path: Path, executor: str
) -> None:
    mailbox = Mailbox(free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "models.yaml").write_text(yaml.safe_dump(SCRIPTED_CATALOGUE), encoding="utf-8")
    env = _env(data_dir, mailbox.port, executor)
    (tmp_path / "bescheid.yaml").write_text(WORKFLOW, encoding="utf-8")
    for command in (
        ["db", "upgrade"],
        ["tenant", "create", "jena"],
        ["spec", "apply", str(tmp_path / "bescheid.yaml"), "--tenant", "jena"],
    ):
        subprocess.run([*RATHAUS, *command], env=env, check=True, capture_output=True)
    created = subprocess.run(
        [*RATHAUS, "key", "create", "--tenant", "jena", "--name", "test", "--role", "admin"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = re.search(r"rh_[A-Za-z0-9_-]+", created.stdout)
    assert key, created.stdout
    headers = {"Authorization": f"Bearer {key.group(0)}"}
    log = tmp_path / "serve.log"
    try:
        with server(env, log) as (url, processes):
            for number in range(RUNS):
                started = httpx.post(
                    f"{url}/api/workflows/bescheid/runs", json={"input": {"nummer": number}}, headers=headers
                )
                assert started.status_code == 202, started.text
            deadline = time.monotonic() + 60
            while not mailbox.messages and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(2.0)  # the work is well under way: drafts being written, e-mails being sent
            for process in processes:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        at_kill = len(mailbox.messages)
        assert 0 < at_kill < RUNS, f"{at_kill} e-mails at the kill: the kill did not hit running work"

        with server(env, log) as (url, _):
            deadline = time.monotonic() + 240
            while statuses(url, key.group(0))["succeeded"] < RUNS and time.monotonic() < deadline:
                time.sleep(1)
            final = statuses(url, key.group(0))
        assert final == Counter({"succeeded": RUNS}), final
        subjects = Counter(str(m["Subject"]) for m in mailbox.messages)
        assert set(subjects) == {f"Bescheid {n}" for n in range(RUNS)}
        repeated = sum(subjects.values()) - RUNS
        assert repeated <= WORKERS, f"{repeated} e-mails sent twice: more than the sends in flight"
        ids_per_subject = {
            s: {m["Message-ID"] for m in mailbox.messages if m["Subject"] == s} for s in subjects
        }
        assert all(len(ids) == 1 for ids in ids_per_subject.values())  # a repeat is recognisable
        assert len({m["Message-ID"] for m in mailbox.messages}) == RUNS
    finally:
        controller.stop()
