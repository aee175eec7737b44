"""Workflow test fixtures: a local SMTP server that keeps what it receives, and workflow documents."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from rathaus.services import Services
from rathaus.settings import Settings


@dataclass
class Mailbox:
    """Everything the test SMTP server received."""

    port: int
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"

    def bodies(self) -> list[str]:
        """The text of every message received."""
        with self.lock:
            return [str(m.get_payload(decode=True), "utf-8").replace("\r\n", "\n") for m in self.messages]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox(settings: Settings, services: Services) -> Iterator[Mailbox]:
    """A local SMTP server the services send workflow e-mails to."""
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    services.settings.smtp_host, services.settings.smtp_port = "127.0.0.1", box.port
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(params=["inprocess", pytest.param("celery", marks=pytest.mark.slow)])
def executor(request: pytest.FixtureRequest, services: Services) -> Iterator[str]:
    """The services' workflow executor running: worker threads in this process, or a real Celery worker
    on the local Redis (a queue of its own) with this process as the server that sweeps."""
    if request.param == "inprocess":
        services.workflows.executor.start()
        yield "inprocess"
        return
    from celery.contrib.testing.worker import start_worker

    from rathaus.workflows.celery_executor import celery_app

    services.settings.executor = "celery"
    services.settings.celery_queue = f"rathaus-test-{uuid.uuid4().hex[:12]}"
    app = celery_app(services.settings, services.workflows.engine)
    services.workflows.executor.start()
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"):
        yield "celery"


BUERGERANFRAGE = """\
apiVersion: rathaus/v1
kind: Workflow
metadata:
  name: buergeranfrage
  title: Bürgeranfrage zuordnen und beantworten
spec:
  input:
    type: object
    required: [nachricht, email]
    properties:
      nachricht: {type: string, minLength: 1}
      email: {type: string}
  steps:
    - id: abteilung
      type: classify
      with:
        text: "{{ input.nachricht }}"
        labels:
          - {value: Bürgerbüro, description: "Ausweis, Pass, Meldewesen"}
          - {value: Ordnungsamt, description: "Falschparker, Lärm"}
    - id: anliegen
      type: extract
      with:
        text: "{{ input.nachricht }}"
        schema:
          type: object
          properties:
            name: {type: string}
            anliegen: {type: string}
          required: [name, anliegen]
    - id: entwurf
      type: draft
      with:
        instructions: Schreibe eine Antwort an die Bürgerin oder den Bürger.
        facts: "Abteilung: {{ steps.abteilung.output.label }}. Anliegen: {{ steps.anliegen.output.anliegen }}"
    - id: freigabe
      type: approval
      with:
        text: "{{ steps.entwurf.output.text }}"
        details: "{{ input }}"
    - id: senden
      type: send_email
      with:
        to: "{{ input.email }}"
        subject: Ihre Anfrage an die Stadt
        body: "{{ steps.freigabe.output.text }}"
"""
