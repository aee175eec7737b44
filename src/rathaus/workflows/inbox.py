"""The inbox trigger: workflows with `trigger: inbox` start a run for each e-mail that arrives in a mailbox.

IT sets the mailboxes up (`RATHAUS_MAILBOXES`, one IMAP address per tenant and name); a workflow names one.
Rathaus opens the mailbox read-only and changes nothing in it: the mail stays where staff can see it.

No mail is lost or started twice: each workflow keeps a cursor — the mailbox's UIDVALIDITY and the UID of
the last mail it started a run for. The run and the moved cursor are written in one transaction, and the
cursor only moves from the value the poll began with, so a crash between two mails, or two servers polling
at once, starts each mail's run exactly once. The first poll of a workflow (and the first after the mailbox
was recreated, when UIDVALIDITY changes) takes the mail nobody has read yet; later polls take every mail
that arrived since, read or not.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import imaplib
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, update

from rathaus.identity.models import Role, Tenant
from rathaus.identity.principal import Principal
from rathaus.knowledge.parsing import ParseError, parse
from rathaus.workflows import registry
from rathaus.workflows.engine import InputInvalid
from rathaus.workflows.models import Workflow
from rathaus.workflows.uploads import MAX_TEXT_CHARS

if TYPE_CHECKING:
    from rathaus.services import Services
    from rathaus.settings import Settings

logger = logging.getLogger(__name__)

BATCH = 50  # mails taken per workflow and poll; the rest come with the next poll
TIMEOUT_SECONDS = 30.0


class MailboxError(RuntimeError):
    """The mailbox is not set up, cannot be reached, or refuses the login; the message says which."""


@dataclass(frozen=True)
class Cursor:
    """Where a workflow stands in its mailbox: the last UID started, valid for one UIDVALIDITY."""

    mailbox: str
    uidvalidity: int
    uid: int

    def __str__(self) -> str:
        return f"{self.uidvalidity}:{self.uid}:{self.mailbox}"

    @classmethod
    def parse(cls, text: str | None, mailbox: str) -> Cursor | None:
        """The stored cursor, or None when there is none or it belongs to another mailbox."""
        if not text:
            return None
        validity, _, rest = text.partition(":")
        uid, _, name = rest.partition(":")
        if name != mailbox or not validity.isdigit() or not uid.isdigit():
            return None
        return cls(mailbox, int(validity), int(uid))


@dataclass(frozen=True)
class Mail:
    """One mail fetched from a mailbox: its UID and raw bytes."""

    uid: int
    raw: bytes


def _key(tenant_slug: str, name: str) -> str:
    """How RATHAUS_MAILBOXES names a tenant's mailbox."""
    return f"{tenant_slug}/{name}"


def is_set_up(settings: Settings, tenant_slug: str, name: str) -> bool:
    """Whether IT has set up this tenant's mailbox."""
    return _key(tenant_slug, name) in settings.mailboxes


def mailbox_url(settings: Settings, tenant_slug: str, name: str) -> str:
    """The IMAP address IT set up for this tenant's mailbox; MailboxError if there is none."""
    url = settings.mailboxes.get(_key(tenant_slug, name))
    if url is None:
        raise MailboxError(f"mailbox '{name}' is not set up for tenant '{tenant_slug}' (RATHAUS_MAILBOXES)")
    return url.get_secret_value()


def fetch_new(url: str, cursor: Cursor | None, mailbox: str) -> tuple[int, list[Mail]]:
    """The mailbox's UIDVALIDITY and the mails after the cursor (unread ones when there is no valid
    cursor), oldest first, at most BATCH."""
    parts = urlsplit(url)
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    try:
        client: imaplib.IMAP4 = (
            imaplib.IMAP4_SSL(parts.hostname or "", parts.port or 993, timeout=TIMEOUT_SECONDS)
            if parts.scheme == "imaps"
            else imaplib.IMAP4(parts.hostname or "", parts.port or 143, timeout=TIMEOUT_SECONDS)
        )
    except OSError as exc:
        raise MailboxError(f"mailbox '{mailbox}': cannot reach {parts.hostname}: {exc}") from None
    try:
        client.login(unquote(parts.username or ""), unquote(parts.password or ""))
        status, _ = client.select(_quoted(folder), readonly=True)
        if status != "OK":
            raise MailboxError(f"mailbox '{mailbox}': there is no folder '{folder}'")
        validity = int(client.response("UIDVALIDITY")[1][0] or 0)
        if cursor is None or cursor.uidvalidity != validity:
            _, found = client.uid("SEARCH", None, "UNSEEN")  # type: ignore[arg-type]
            after = 0
        else:
            _, found = client.uid("SEARCH", None, "UID", f"{cursor.uid + 1}:*")  # type: ignore[arg-type]
            after = cursor.uid
        uids = sorted(int(u) for u in (found[0] or b"").split() if int(u) > after)[:BATCH]
        return validity, [Mail(uid, _fetch(client, uid)) for uid in uids]
    except imaplib.IMAP4.error as exc:
        raise MailboxError(f"mailbox '{mailbox}': {exc}") from None
    except OSError as exc:
        raise MailboxError(f"mailbox '{mailbox}': connection lost: {exc}") from None
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetch(client: imaplib.IMAP4, uid: int) -> bytes:
    """One mail's raw bytes, without marking it read."""
    _, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
    for part in data:
        if isinstance(part, tuple):
            return bytes(part[1])
    raise MailboxError(f"mail {uid} could not be fetched")


def mail_input(raw: bytes) -> dict[str, Any]:
    """A run's input from a mail: sender, subject, date, text (the plain part, or the HTML part read as
    text) and the attachments' names and sizes."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    name, address = next(iter(getaddresses([str(message.get("From", ""))])), ("", ""))
    try:
        date = parsedate_to_datetime(str(message["Date"])).isoformat() if message["Date"] else None
    except (TypeError, ValueError):
        date = None
    return {
        "from": address,
        "name": name,
        "subject": str(message.get("Subject", "")),
        "date": date,
        "message_id": str(message.get("Message-ID", "")).strip(),
        "text": _body_text(message)[:MAX_TEXT_CHARS],
        "attachments": [
            {"filename": part.get_filename() or "", "size": len(part.get_payload(decode=True) or b"")}
            for part in message.iter_attachments()
            if isinstance(part, EmailMessage)
        ],
    }


def _body_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if not isinstance(body, EmailMessage):
        return ""
    content = str(body.get_content())
    if body.get_content_subtype() == "html":
        try:
            content = "\n\n".join(b.text for b in parse(content.encode(), "mail.html").blocks)
        except ParseError:
            content = re.sub(r"<[^>]+>", " ", content)
    return content.strip()


def poll_inboxes(services: Services) -> list[str]:
    """Start a run for each new mail of every workflow with an inbox trigger; returns the new runs' ids.
    A mailbox that cannot be read is logged and tried again with the next poll."""
    with services.db.system_session(read_only=True) as session:
        watching = list(
            session.execute(
                select(Workflow.id, Workflow.tenant_id, Tenant.slug, Workflow.name, Workflow.inbox_cursor)
                .join(Tenant, Tenant.id == Workflow.tenant_id)
                .where(Workflow.trigger == "inbox")
            )
        )
    started: list[str] = []
    for workflow_id, tenant_id, slug, name, cursor in watching:
        try:
            started += _poll_one(services, workflow_id, tenant_id, slug, name, cursor)
        except MailboxError as exc:
            logger.warning("inbox of workflow %s not read: %s", name, exc)
        except Exception:  # one broken workflow must not stop the other inboxes
            logger.exception("inbox of workflow %s not read", name)
    return started


def _poll_one(
    services: Services, workflow_id: str, tenant_id: str, slug: str, name: str, stored: str | None
) -> list[str]:
    """Fetch the workflow's new mail and start one run per mail, moving the cursor with each run."""
    with services.db.session(tenant_id, read_only=True) as session:
        spec = registry.load(session, name).spec
    mailbox = spec.spec.trigger.mailbox or ""
    validity, mails = fetch_new(
        mailbox_url(services.settings, slug, mailbox), Cursor.parse(stored, mailbox), mailbox
    )
    started: list[str] = []
    submitted: set[str] = set()
    principal = Principal(tenant_id=tenant_id, role=Role.staff)
    for mail in mails:
        moved = str(Cursor(mailbox, validity, mail.uid))
        with services.db.session(tenant_id) as session:
            claimed = session.execute(
                update(Workflow)
                .where(
                    Workflow.id == workflow_id,
                    Workflow.inbox_cursor.is_(None) if stored is None else Workflow.inbox_cursor == stored,
                )
                .values(inbox_cursor=moved)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return started  # another server is reading this inbox
            saved = registry.load(session, name)
            try:
                run = services.workflows.engine.start(
                    session, principal, workflow_id, saved.version, saved.spec, mail_input(mail.raw), "inbox"
                )
            except InputInvalid as exc:  # the mail stays in the mailbox; say why no run started
                logger.warning("mail %s in inbox of workflow %s started no run: %s", mail.uid, name, exc)
            else:
                started.append(run.id)
        stored = moved
        if started and started[-1] not in submitted:
            submitted.add(started[-1])
            services.workflows.executor.submit(started[-1])
    return started
