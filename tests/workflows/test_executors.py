"""The same runs on both executors — threads in the server, and a Celery worker on the local Redis — with
the same results: every case finished once, pauses before retries kept, approvals continued, and runs
left by a dead worker picked up."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.store.base import utcnow
from rathaus.workflows import approvals, registry
from rathaus.workflows.engine import Engine
from rathaus.workflows.models import WorkflowRun
from rathaus.workflows.runs import steps_of
from rathaus.workflows.spec import load_workflow
from tests.conftest import TenantFixture
from tests.mail import Mailbox
from tests.workflows.conftest import BUERGERANFRAGE

MAIL = """\
apiVersion: rathaus/v1
kind: Workflow
metadata: {name: mitteilung, title: Mitteilung}
spec:
  steps:
    - id: text
      type: template
      with: {text: "Mitteilung {{ input.nummer }}"}
    - id: senden
      type: send_email
      with: {to: a@example.org, subject: "Nr. {{ input.nummer }}", body: "{{ steps.text.output.text }}"}
"""


def save(services: Services, tenant: TenantFixture, text: str) -> Principal:
    principal = Principal(tenant_id=tenant.id, role=Role.builder)
    with services.db.session(tenant.id) as session:
        registry.save(session, principal, load_workflow(text), services.catalogue)
    return principal


def wait_for(services: Services, run_ids: list[str], wanted: set[str], seconds: float = 60) -> dict[str, str]:
    deadline = time.monotonic() + seconds
    found: dict[str, str] = {}
    while time.monotonic() < deadline:
        found = {run_id: services.workflows.engine.status(run_id) for run_id in run_ids}
        if set(found.values()) <= wanted:
            return found
        time.sleep(0.2)
    raise AssertionError(f"runs did not reach {wanted}: {found}")


def test_twenty_cases_each_send_one_mail(
    services: Services, jena: TenantFixture, mailbox: Mailbox, executor: str
) -> None:
    principal = save(services, jena, MAIL)
    run_ids = [services.workflows.start(principal, "mitteilung", {"nummer": n}).id for n in range(20)]
    assert set(wait_for(services, run_ids, {"succeeded"}).values()) == {"succeeded"}
    assert sorted(str(m["Subject"]) for m in mailbox.messages) == sorted(f"Nr. {n}" for n in range(20))


def test_a_failing_step_pauses_then_tries_again(
    services: Services, jena: TenantFixture, executor: str
) -> None:
    services.settings.workflow_http_hosts = ["127.0.0.1:9"]
    steps = MAIL.replace("send_email", "http").replace(
        'with: {to: a@example.org, subject: "Nr. {{ input.nummer }}", body: "{{ steps.text.output.text }}"}',
        'retries: 1\n      with: {url: "http://127.0.0.1:9/"}',
    )
    principal = save(services, jena, steps)
    started = time.monotonic()
    run_id = services.workflows.start(principal, "mitteilung", {"nummer": 1}).id
    wait_for(services, [run_id], {"failed"})
    with services.db.session(jena.id) as session:
        run = session.get(WorkflowRun, run_id)
        assert run is not None and run.failed_step == "senden"
        [_, http] = steps_of(session, run_id)
    assert http.attempts == 2 and "ConnectError" in (http.error or "")
    assert time.monotonic() - started >= 2.0  # the pause before the second attempt was kept


def test_an_approved_case_goes_on_to_the_mail(
    services: Services, jena: TenantFixture, mailbox: Mailbox, executor: str
) -> None:
    principal = save(services, jena, BUERGERANFRAGE)
    data: dict[str, Any] = {"nachricht": "Wann hat das Bürgerbüro geöffnet?", "email": "d@example.org"}
    run_id = services.workflows.start(principal, "buergeranfrage", data).id
    wait_for(services, [run_id], {"waiting"})
    staff = Principal(tenant_id=jena.id, role=Role.staff)
    with services.db.session(jena.id) as session:
        [pending] = approvals.inbox(session, staff)
        approvals.decide(session, staff, pending.id, "approved", "Montag bis Freitag, 8 bis 16 Uhr.")
    services.workflows.executor.submit(run_id)
    wait_for(services, [run_id], {"succeeded"})
    assert mailbox.bodies() == ["Montag bis Freitag, 8 bis 16 Uhr.\n"]


def test_a_run_left_by_a_dead_worker_is_picked_up(
    services: Services, jena: TenantFixture, mailbox: Mailbox, executor: str
) -> None:
    principal = save(services, jena, MAIL)
    with services.db.session(jena.id) as session:  # a run a dead process had claimed: no nudge comes
        saved = registry.load(session, "mitteilung")
        run = Engine(services).start(session, principal, saved.workflow.id, 1, saved.spec, {"nummer": 7})
        run.status, run.lease_owner = "running", "dead-process"
        run.lease_until = utcnow() + timedelta(seconds=30)
    time.sleep(1.5)
    assert services.workflows.engine.status(run.id) == "running" and mailbox.messages == []
    with services.db.system_session() as session:  # its lease runs out
        session.execute(
            update(WorkflowRun)
            .where(WorkflowRun.id == run.id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    wait_for(services, [run.id], {"succeeded"})
    assert [str(m["Subject"]) for m in mailbox.messages] == ["Nr. 7"]
