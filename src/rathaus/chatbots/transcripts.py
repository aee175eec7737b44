"""What staff see of a chatbot's conversations: the kept transcripts and the feedback statistics.

Transcripts exist only as long as the tenant keeps conversations; the helpful / not helpful counts are kept
on the chatbot itself and outlive them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from rathaus.chatbots.models import Chatbot, WidgetMessage, WidgetSession

PAGE_SIZE = 50


@dataclass(frozen=True)
class Source:
    """A source the bot cited: its number, title and the official page (None: named, not linked)."""

    number: int
    title: str
    url: str | None


@dataclass(frozen=True)
class Line:
    """One message of a transcript."""

    role: str  # user | assistant
    content: str
    declined: bool
    easy: bool
    helpful: bool | None
    sources: list[Source]


@dataclass(frozen=True)
class Transcript:
    """One widget session with its messages in order."""

    id: str
    started_at: datetime
    last_at: datetime
    language: str
    messages: list[Line]

    @property
    def helpful(self) -> int:
        """Answers the citizen found helpful."""
        return sum(1 for m in self.messages if m.helpful is True)

    @property
    def not_helpful(self) -> int:
        """Answers the citizen found not helpful."""
        return sum(1 for m in self.messages if m.helpful is False)


@dataclass(frozen=True)
class Page:
    """A page of transcripts, newest first."""

    transcripts: list[Transcript]
    page: int
    has_more: bool


@dataclass(frozen=True)
class Stats:
    """A chatbot's feedback, and how its kept answers went."""

    helpful: int
    not_helpful: int
    answers: int  # answers in the kept transcripts
    declined: int  # of these, answers not given from the sources

    @property
    def rated(self) -> int:
        """Answers that were rated."""
        return self.helpful + self.not_helpful

    @property
    def helpful_share(self) -> float | None:
        """The share of rated answers found helpful (0 to 1); None before the first rating."""
        return self.helpful / self.rated if self.rated else None


def _sources(value: Any) -> list[Source]:
    if not isinstance(value, list):
        return []
    found: list[Source] = []
    for item in value:
        if not isinstance(item, dict):
            continue
        url = item.get("url")
        linkable = isinstance(url, str) and url.startswith(("https://", "http://"))
        number = item.get("number")
        found.append(
            Source(
                number=number if isinstance(number, int) else len(found) + 1,
                title=str(item.get("title") or ""),
                url=url if linkable else None,
            )
        )
    return found


def _has_messages() -> Any:
    return exists().where(WidgetMessage.session_id == WidgetSession.id)


def page_of(session: Session, bot: Chatbot, page: int = 1, size: int = PAGE_SIZE) -> Page:
    """The bot's kept conversations (those with messages), newest first, `size` to a page."""
    page = max(1, page)
    rows = list(
        session.scalars(
            select(WidgetSession)
            .where(WidgetSession.chatbot_id == bot.id, _has_messages())
            .order_by(WidgetSession.last_at.desc(), WidgetSession.id)
            .offset((page - 1) * size)
            .limit(size + 1)
        )
    )
    has_more, rows = len(rows) > size, rows[:size]
    lines: dict[str, list[Line]] = defaultdict(list)
    if rows:
        messages = session.scalars(
            select(WidgetMessage)
            .where(WidgetMessage.session_id.in_([r.id for r in rows]))
            .order_by(WidgetMessage.created_at, WidgetMessage.id)
        )
        for m in messages:
            lines[m.session_id].append(
                Line(m.role, m.content, m.declined, m.easy, m.helpful, _sources(m.sources))
            )
    transcripts = [Transcript(r.id, r.created_at, r.last_at, r.language, lines[r.id]) for r in rows]
    return Page(transcripts, page, has_more)


def stats(session: Session, bot: Chatbot) -> Stats:
    """The bot's feedback counts and, from the kept transcripts, its answers and declined answers."""
    answers, declined = session.execute(
        select(func.count(), func.sum(case((WidgetMessage.declined.is_(True), 1), else_=0)))
        .select_from(WidgetMessage)
        .join(WidgetSession, WidgetSession.id == WidgetMessage.session_id)
        .where(WidgetSession.chatbot_id == bot.id, WidgetMessage.role == "assistant")
    ).one()
    return Stats(bot.helpful or 0, bot.not_helpful or 0, answers or 0, declined or 0)
