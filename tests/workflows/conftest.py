"""Workflow test fixtures: a local SMTP server that keeps what it receives, and workflow documents."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from rathaus.services import Services


@pytest.fixture(params=["inprocess", pytest.param("celery", marks=pytest.mark.slow)])
def executor(request: pytest.FixtureRequest, services: Services) -> Iterator[str]:
    """The services' workflow executor running: worker threads in this process, or a real Celery worker
    on the local Redis (a queue of its own) with this process as the server that sweeps."""
    if request.param == "inprocess":
        services.workflows.executor.start()
        yield "inprocess"
        return
    from celery.contrib.testing.worker import start_worker

    from rathaus.workflows.celery_executor import CeleryExecutor, celery_app

    services.settings.executor = "celery"
    services.settings.celery_queue = f"rathaus-test-{uuid.uuid4().hex[:12]}"
    app = celery_app(services.settings, services.workflows.engine)
    assert isinstance(services.workflows.executor, CeleryExecutor)  # this process only nudges and sweeps
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


def signed(key: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers of a webhook call signed as a sender would: now (or at `timestamp`), with `key`."""
    import time

    from rathaus.workflows.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

    sent = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(sent), SIGNATURE_HEADER: sign(key, sent, body)}
