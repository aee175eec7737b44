"""The staff inbox of hand-offs: citizens' requests to be contacted by a person, left in the widget.

Everyone in the tenant sees the requests and may mark one as done; the open ones come first (oldest first,
as they are worked through), then the latest done ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rathaus.chatbots.models import Chatbot, Handoff
from rathaus.identity.models import User
from rathaus.identity.principal import Principal
from rathaus.store.base import utcnow
from rathaus.store.tenancy import get_or_404

OPEN_LIMIT = 200
DONE_LIMIT = 50


@dataclass(frozen=True)
class Entry:
    """A hand-off as the inbox shows it."""

    id: str
    reference: str
    chatbot: str  # the chatbot's title
    created_at: datetime
    name: str
    contact: str
    message: str
    transcript: list[dict[str, str]]
    run_id: str | None
    status: str
    done_at: datetime | None
    done_by: str  # the e-mail address of the person who marked it done, "" when unknown


def _transcript(value: Any) -> list[dict[str, str]]:
    """The stored transcript as a list of role and text (anything else in the JSON is left out)."""
    if not isinstance(value, list):
        return []
    return [
        {"role": str(m.get("role") or ""), "content": str(m.get("content") or "")}
        for m in value
        if isinstance(m, dict)
    ]


def _rows(session: Session, status: str, limit: int) -> list[Entry]:
    order = Handoff.created_at.asc() if status == "open" else Handoff.done_at.desc()
    statement = (
        select(Handoff, Chatbot.title, User.email)
        .join(Chatbot, Chatbot.id == Handoff.chatbot_id)
        .outerjoin(User, User.id == Handoff.done_by)
        .where(Handoff.status == status)
        .order_by(order, Handoff.id)
        .limit(limit)
    )
    return [
        Entry(
            id=h.id,
            reference=h.reference,
            chatbot=title,
            created_at=h.created_at,
            name=h.name,
            contact=h.contact,
            message=h.message,
            transcript=_transcript(h.transcript),
            run_id=h.run_id,
            status=h.status,
            done_at=h.done_at,
            done_by=email or "",
        )
        for h, title, email in session.execute(statement)
    ]


def open_requests(session: Session, limit: int = OPEN_LIMIT) -> list[Entry]:
    """The tenant's open hand-offs, oldest first."""
    return _rows(session, "open", limit)


def done_requests(session: Session, limit: int = DONE_LIMIT) -> list[Entry]:
    """The tenant's latest done hand-offs, the most recently finished first."""
    return _rows(session, "done", limit)


def open_counts(session: Session) -> dict[str, int]:
    """Open hand-offs per chatbot id."""
    statement = (
        select(Handoff.chatbot_id, func.count()).where(Handoff.status == "open").group_by(Handoff.chatbot_id)
    )
    return {chatbot_id: count for chatbot_id, count in session.execute(statement)}


def mark_done(session: Session, principal: Principal, handoff_id: str) -> bool:
    """Mark the hand-off as done by this person; False when it was done already (nothing changes then).

    Another tenant's hand-off is not there (NotFound)."""
    handoff = get_or_404(session, Handoff, handoff_id)
    if handoff.status == "done":
        return False
    handoff.status, handoff.done_by, handoff.done_at = "done", principal.user_id, utcnow()
    session.flush()
    return True
