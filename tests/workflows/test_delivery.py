"""What a step sends goes out once: a mail server that answers badly after accepting, a slow mail server, and
an approval that expired while its worker was dead."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from rathaus.services import Services
from rathaus.store.base import utcnow
from rathaus.workflows import approvals
from rathaus.workflows.models import Approval, StepRun, WorkflowRun
from tests.conftest import TenantFixture
from tests.mail import Mailbox
from tests.servers import free_port
from tests.workflows.test_engine import run_of, save, start, workflow


class MailServer(socketserver.ThreadingTCPServer):
    """A minimal SMTP server that can answer slowly and refuse to say goodbye properly."""

    daemon_threads = True
    allow_reuse_address = True
    delay = 0.0
    quit_code = 221
    delivered: list[bytes]


class Conversation(socketserver.StreamRequestHandler):
    server: MailServer

    def reply(self, line: str) -> None:
        time.sleep(self.server.delay)
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 test")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command == "DATA":
                self.reply("354 go on")
                data = b""
                while not data.endswith(b"\r\n.\r\n") and (chunk := self.rfile.readline()):
                    data += chunk
                self.server.delivered.append(data)
                self.reply("250 accepted")
            elif command == "QUIT":
                self.reply(f"{self.server.quit_code} bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def mail_server(services: Services) -> Iterator[MailServer]:
    server = MailServer(("127.0.0.1", free_port()), Conversation)
    server.delivered = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    services.settings.smtp_host, services.settings.smtp_port = "127.0.0.1", server.server_address[1]
    yield server
    server.shutdown()


def _send(timeout: int = 30) -> str:
    return workflow(
        f"""\
    - id: senden
      type: send_email
      timeout_seconds: {timeout}
      retries: 2
      with: {{to: eva@example.org, subject: Antwort, body: Hallo}}
"""
    )


def test_a_bad_goodbye_after_acceptance_does_not_send_again(
    services: Services, jena: TenantFixture, mail_server: MailServer
) -> None:
    mail_server.quit_code = 421
    save(services, jena, _send())
    run_id = start(services, jena, "ablauf", {})
    assert services.workflows.run_here(run_id, 20) == "succeeded"
    assert len(mail_server.delivered) == 1 and run_of(services, jena, run_id)[1]["senden"].attempts == 1


def test_a_slow_mail_server_is_waited_for_instead_of_sent_to_twice(
    services: Services, jena: TenantFixture, mail_server: MailServer
) -> None:
    mail_server.delay = 0.4  # each reply; the whole conversation takes longer than the step's timeout
    save(services, jena, _send(timeout=1))
    run_id = start(services, jena, "ablauf", {})
    assert services.workflows.run_here(run_id, 30) == "succeeded"
    time.sleep(1)
    assert len(mail_server.delivered) == 1


def test_an_approval_that_expired_while_its_worker_was_dead_sends_nothing(
    services: Services, jena: TenantFixture, mailbox: Mailbox
) -> None:
    steps = """\
    - id: freigabe
      type: approval
      with: {text: Entwurf, deadline_hours: 1}
    - id: senden
      type: send_email
      with: {to: a@example.org, subject: Test, body: "{{ steps.freigabe.output.text }}"}
"""
    save(services, jena, workflow(steps))
    run_id = start(services, jena, "ablauf", {})
    assert services.workflows.run_here(run_id, 10) == "waiting"
    with services.db.system_session() as session:  # the worker died before it stored "waiting"
        past = utcnow() - timedelta(seconds=1)
        session.execute(
            update(WorkflowRun)
            .where(WorkflowRun.id == run_id)
            .values(status="running", lease_owner="dead", lease_until=past)
        )
        session.execute(update(StepRun).where(StepRun.step_id == "freigabe").values(status="running"))
        session.execute(update(Approval).values(deadline_at=past))
    assert approvals.expire_overdue(services.db) == 1
    assert services.workflows.run_here(run_id, 10) == "failed"
    run, rows = run_of(services, jena, run_id)
    assert run.failed_step == "freigabe" and "deadline" in (run.error or "")
    assert mailbox.messages == [] and rows["senden"].status == "pending"
