"""A real IMAP server for tests (pymap, in-memory): mail is delivered to it with APPEND, as a mail server
would, and Rathaus reads it over IMAP like any other mailbox."""

from __future__ import annotations

import imaplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from tests.servers import free_port

USER, PASSWORD = "buergerservice@jena.example", "geheim:/@"


@dataclass
class ImapServer:
    """A running IMAP server with one account."""

    port: int

    @property
    def url(self) -> str:
        """The account's address as RATHAUS_MAILBOXES names it (user and password percent-encoded)."""
        return f"imap://buergerservice%40jena.example:geheim%3A%2F%40@127.0.0.1:{self.port}/INBOX"

    def deliver(self, message: EmailMessage, read: bool = False) -> None:
        """Put a mail into the inbox; `read` marks it as read by a person already."""
        client = imaplib.IMAP4("127.0.0.1", self.port)
        try:
            client.login(USER, PASSWORD)
            flags = "(\\Seen)" if read else None
            client.append("INBOX", flags, imaplib.Time2Internaldate(time.time()), message.as_bytes())
        finally:
            client.logout()


def mail(sender: str, subject: str, text: str) -> EmailMessage:
    """A plain-text mail to the inbox."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, USER, subject
    message["Date"] = "Mon, 30 Nov 2026 09:15:00 +0100"
    message.set_content(text)
    return message


@contextmanager
def imap_server(log: Path) -> Iterator[ImapServer]:
    """Start pymap on a free loopback port; stop it afterwards."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("pymap")),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-tls",
    ]
    command += ["dict", "--demo-user", USER, "--demo-password", PASSWORD]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"IMAP server did not start: {log.read_text(errors='replace')}"
                    ) from None
                time.sleep(0.2)
        yield ImapServer(port)
    finally:
        process.terminate()
        process.wait(10)
