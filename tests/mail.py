"""A local SMTP server for tests that keeps what it receives."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any


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
