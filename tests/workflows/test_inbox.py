"""Inbox triggers: each mail that arrives in a mailbox IT set up starts one run, read from a real IMAP
server; no mail is started twice (two servers polling, a crash between two mails) and none is lost."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.workflows import registry
from rathaus.workflows.inbox import Cursor, MailboxError, fetch_new, mail_input, poll_inboxes
from rathaus.workflows.models import WorkflowRun
from rathaus.workflows.spec import load_workflow
from tests.conftest import TenantFixture
from tests.imap import ImapServer, imap_server, mail
from tests.web.session import login

POSTEINGANG = """\
apiVersion: rathaus/v1
kind: Workflow
metadata: {name: posteingang, title: Anfragen aus dem Postfach}
spec:
  trigger: {type: inbox, mailbox: buergerservice}
  input:
    type: object
    required: [from, text]
    properties:
      from: {type: string, minLength: 3}
      text: {type: string, minLength: 1}
  steps:
    - id: eingang
      type: template
      with: {text: "{{ input.subject }} von {{ input.from }}: {{ input.text }}"}
"""


@pytest.fixture
def imap(tmp_path: Path, services: Services, jena: TenantFixture) -> Iterator[ImapServer]:
    """A real IMAP server whose inbox is set up as jena's mailbox `buergerservice`, and a workflow on it."""
    with imap_server(tmp_path / "imap.log") as server:
        services.settings.mailboxes = {"jena/buergerservice": SecretStr(server.url)}
        with services.db.session(jena.id) as session:
            registry.save(
                session,
                Principal(tenant_id=jena.id, role=Role.builder),
                load_workflow(POSTEINGANG),
                services.catalogue,
            )
        yield server


def run_inputs(services: Services, tenant: TenantFixture) -> list[dict[str, object]]:
    with services.db.session(tenant.id) as session:
        return [
            run.input
            for run in session.scalars(select(WorkflowRun).order_by(WorkflowRun.created_at))
            if run.trigger == "inbox"
        ]


def test_each_new_mail_starts_one_run(services: Services, jena: TenantFixture, imap: ImapServer) -> None:
    imap.deliver(mail("anna@example.org", "Alt", "schon gelesen"), read=True)
    imap.deliver(mail("Bernd Beispiel <bernd@example.org>", "Sperrmüll", "Wann wird abgeholt?"))

    first = poll_inboxes(services)  # the first look takes what nobody has read yet
    assert len(first) == 1
    assert services.workflows.run_here(first[0], 10) == "succeeded"
    with services.db.session(jena.id) as session:
        run = session.get(WorkflowRun, first[0])
        assert run is not None and run.trigger == "inbox"
        assert run.input["from"] == "bernd@example.org" and run.input["name"] == "Bernd Beispiel"
        assert run.output == {"eingang": {"text": "Sperrmüll von bernd@example.org: Wann wird abgeholt?"}}

    assert poll_inboxes(services) == []  # nothing new
    imap.deliver(mail("carla@example.org", "Lärm", "Baustelle ab 6 Uhr"), read=True)  # read, but new
    imap.deliver(mail("dora@example.org", "Straßenlaterne", "defekt"))
    assert len(poll_inboxes(services)) == 2
    assert [i["from"] for i in run_inputs(services, jena)] == [
        "bernd@example.org",
        "carla@example.org",
        "dora@example.org",
    ]


def test_servers_polling_at_once_start_each_mail_once(
    services: Services, jena: TenantFixture, imap: ImapServer
) -> None:
    poll_inboxes(services)  # the workflow starts watching
    for number in range(6):
        imap.deliver(mail(f"person{number}@example.org", f"Anfrage {number}", "Bitte um Rückruf"))
    with ThreadPoolExecutor(3) as pool:
        started = [run for runs in pool.map(lambda _: poll_inboxes(services), range(3)) for run in runs]
    started += poll_inboxes(services)  # whatever a server that lost a race left
    senders = [i["from"] for i in run_inputs(services, jena)]
    assert sorted(senders) == [f"person{n}@example.org" for n in range(6)]
    assert len(started) == 6


def test_a_crash_between_two_mails_loses_none_and_repeats_none(
    services: Services, jena: TenantFixture, imap: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    poll_inboxes(services)
    for number in range(3):
        imap.deliver(mail(f"person{number}@example.org", "Frage", f"Nummer {number}"))
    engine = services.workflows.engine
    real_start = engine.start
    calls = []

    def dies_at_the_second(*args: object, **kwargs: object) -> WorkflowRun:
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("process killed")
        return real_start(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "start", dies_at_the_second)
    with pytest.raises(SystemExit):
        poll_inboxes(services)
    monkeypatch.setattr(engine, "start", real_start)
    assert [i["text"] for i in run_inputs(services, jena)] == ["Nummer 0"]
    poll_inboxes(services)  # after the restart
    assert [i["text"] for i in run_inputs(services, jena)] == ["Nummer 0", "Nummer 1", "Nummer 2"]


def test_a_mail_the_input_schema_refuses_starts_nothing_and_is_logged(
    services: Services, jena: TenantFixture, imap: ImapServer, caplog: pytest.LogCaptureFixture
) -> None:
    poll_inboxes(services)
    imap.deliver(mail("x", "Leer", "ohne gültigen Absender"))
    imap.deliver(mail("eva@example.org", "Frage", "Öffnungszeiten?"))
    with caplog.at_level(logging.WARNING, logger="rathaus.workflows.inbox"):
        assert len(poll_inboxes(services)) == 1
    assert "started no run" in caplog.text and "from" in caplog.text
    assert [i["from"] for i in run_inputs(services, jena)] == ["eva@example.org"]


def test_a_mailbox_that_cannot_be_read_is_named_and_others_go_on(
    services: Services, jena: TenantFixture, imap: ImapServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = imap.url.replace("geheim%3A", "falsch%3A")
    with pytest.raises(MailboxError, match="buergerservice"):
        fetch_new(wrong, None, "buergerservice")
    with pytest.raises(MailboxError, match="cannot reach"):
        fetch_new("imap://u:p@127.0.0.1:9/INBOX", None, "buergerservice")

    second = POSTEINGANG.replace("posteingang", "zweites").replace("buergerservice", "unbekannt")
    with services.db.session(jena.id) as session:
        registry.save(
            session,
            Principal(tenant_id=jena.id, role=Role.builder),
            load_workflow(second),
            services.catalogue,
        )
    imap.deliver(mail("fritz@example.org", "Frage", "Hallo"))
    with caplog.at_level(logging.WARNING, logger="rathaus.workflows.inbox"):
        assert len(poll_inboxes(services)) == 1
    assert "'unbekannt' is not set up for tenant 'jena'" in caplog.text


def test_a_mail_becomes_input_with_html_text_and_attachments() -> None:
    message = mail("Jürgen Groß <juergen@example.org>", "Ümlaute im Betreff", "ignored")
    message.set_content("<p>Guten Tag,</p><p>die <b>Brücke</b> ist gesperrt.</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4 demo", maintype="application", subtype="pdf", filename="foto.pdf")
    data = mail_input(message.as_bytes())
    assert data["name"] == "Jürgen Groß" and data["subject"] == "Ümlaute im Betreff"
    assert "die Brücke ist gesperrt." in data["text"] and "<p>" not in data["text"]
    assert data["attachments"] == [{"filename": "foto.pdf", "size": 13}]
    assert data["date"] == "2026-11-30T09:15:00+01:00"


def test_a_cursor_belongs_to_one_mailbox() -> None:
    cursor = Cursor("buergerservice", 1677100421, 17)
    assert Cursor.parse(str(cursor), "buergerservice") == cursor
    assert Cursor.parse(str(cursor), "anderes") is None
    assert Cursor.parse(None, "buergerservice") is None and Cursor.parse("kaputt", "buergerservice") is None


def test_the_workflow_page_says_whether_the_mailbox_is_set_up(
    services: Services, jena: TenantFixture, imap: ImapServer, client: TestClient
) -> None:
    login(client, jena.staff_email)
    page = client.get("/workflows/posteingang")
    assert page.status_code == 200 and "Jede neue E-Mail im Postfach „buergerservice“" in page.text
    services.settings.mailboxes = {}
    page = client.get("/workflows/posteingang")
    assert "ist noch nicht eingerichtet" in page.text
