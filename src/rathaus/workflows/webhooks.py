"""Signed webhook calls from other systems: the signing scheme, the time window and the signatures
already used.

A sender puts the current Unix time in seconds in `X-Rathaus-Timestamp` and signs the timestamp, a dot and
the raw body (`TIMESTAMP.BODY`) with HMAC-SHA256 and the workflow's key: `X-Rathaus-Signature:
sha256=<hex>`. A call is accepted when the signature is right, its timestamp is at most `WINDOW_S` seconds
from the server's clock, and the same signature was not accepted before. A captured call can therefore not
be sent again: within the window its signature is known, after it the timestamp is too old.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from rathaus.store.db import Database
from rathaus.workflows.models import WebhookSignature

SIGNATURE_HEADER = "X-Rathaus-Signature"
TIMESTAMP_HEADER = "X-Rathaus-Timestamp"
WINDOW_S = 300
SCHEME = (
    f"{TIMESTAMP_HEADER}: <Unix time in seconds>; "
    f"{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of '<timestamp>.<body>' with the key>"
)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class Refused(Exception):
    """A webhook call that starts nothing, with the HTTP status and code to answer."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def sign(key: str, timestamp: int | str, body: bytes) -> str:
    """The `X-Rathaus-Signature` value of a call with this timestamp and body."""
    return "sha256=" + hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(key: str | None, signature: str, timestamp: str, body: bytes, now: float | None = None) -> int:
    """The call's timestamp when the signature is right and the time within the window; else Refused.

    `key` is None for an unknown workflow, which is refused like a wrong signature (no hint that it exists).
    """
    wrong = Refused(
        401,
        f"Missing or wrong {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}. Send the current Unix time in "
        f"{TIMESTAMP_HEADER} and sign '<timestamp>.<body>' with HMAC-SHA256 and the workflow's key.",
        "bad_signature",
    )
    expected = sign(key or "", timestamp, body)  # computed for unknown workflows too: the same time taken
    if key is None or not _TIMESTAMP.fullmatch(timestamp):
        raise wrong
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise wrong
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > WINDOW_S:
        raise Refused(
            401,
            f"{TIMESTAMP_HEADER} is more than {WINDOW_S} seconds away from the server's time. Sign each "
            "call when sending it, and check the sender's clock.",
            "stale_timestamp",
        )
    return int(timestamp)


def remember(db: Database, signature: str, timestamp: int, now: float | None = None) -> None:
    """Record an accepted signature until its timestamp leaves the window; Refused (409) when it was
    accepted before. Signatures whose window has passed are forgotten on the way."""
    now = time.time() if now is None else now
    try:
        with db.system_session() as session:
            session.execute(
                delete(WebhookSignature).where(WebhookSignature.expires_at < datetime.fromtimestamp(now, UTC))
            )
            session.add(
                WebhookSignature(
                    signature=signature.removeprefix("sha256="),
                    expires_at=datetime.fromtimestamp(timestamp + WINDOW_S, UTC),
                )
            )
    except IntegrityError:  # the unique signature: another request with it was accepted first
        raise Refused(
            409,
            "This signed call was received before and is not accepted twice. Sign each call anew with "
            f"the current time in {TIMESTAMP_HEADER}.",
            "replayed",
        ) from None
