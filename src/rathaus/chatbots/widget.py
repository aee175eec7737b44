"""The public side of chatbots: what the widget on the city's website may do, with every limit enforced.

Origins are checked per chatbot; messages are limited per client IP and per widget session (in this
process) and per tenant and day (in the database, so across servers). Transcripts are kept as long as the
tenant keeps conversations; with 0 days no message text is stored at all.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from rathaus.assistants import conversations
from rathaus.assistants import registry as assistants
from rathaus.chatbots import answers, registry
from rathaus.chatbots.guard import client_key
from rathaus.chatbots.models import Chatbot, Handoff, WidgetDay, WidgetMessage, WidgetSession
from rathaus.chatbots.registry import ChatbotSettings
from rathaus.identity.models import Role, Tenant
from rathaus.identity.principal import Principal
from rathaus.llm.backend import Message
from rathaus.sharing import FixedWindow, SlidingWindow
from rathaus.store.base import new_id, utcnow
from rathaus.store.batches import delete_by_ids

if TYPE_CHECKING:
    from rathaus.services import Services

logger = logging.getLogger(__name__)

PER_IP_PER_MINUTE = 60
PER_IP_PER_DAY = 300  # messages: one address cannot use up the tenant's daily quota
PER_SESSION_PER_MINUTE = 20
SESSIONS_PER_IP_PER_MINUTE = 60  # a session is one small row; as many as messages
HANDOFFS_PER_SESSION = 2  # per hour
HANDOFFS_PER_IP = 5  # per hour
BOT_SECONDS = 5.0  # how long a looked-up chatbot is reused
HISTORY = 6  # earlier messages of the session given to the model
SESSION_DAYS_UNSTORED = 1  # sessions of tenants that keep no transcripts (no text in them) are kept this long


class Refused(Exception):
    """The widget's request is refused: HTTP status, a code the widget translates, and a message."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


@dataclass(frozen=True)
class Bot:
    """A chatbot as one request sees it."""

    id: str
    tenant_id: str
    settings: ChatbotSettings

    @property
    def principal(self) -> Principal:
        """Who the citizen acts as: the tenant, as no person (no staff rights, no login)."""
        return Principal(tenant_id=self.tenant_id, role=Role.staff)


class Widget:
    """The widget's operations; one per process (its rate limits are shared through services.sharing)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        sharing = services.sharing
        self.per_ip = sharing.sliding("widget:ip", PER_IP_PER_MINUTE)
        self.per_ip_day = sharing.fixed("widget:ip-day", PER_IP_PER_DAY, 86_400)
        self.per_session = sharing.sliding("widget:session", PER_SESSION_PER_MINUTE)
        self.openings = sharing.sliding("widget:openings", SESSIONS_PER_IP_PER_MINUTE)
        self.votes = sharing.sliding("widget:votes", PER_IP_PER_MINUTE)
        self.handoffs_per_session = sharing.sliding("widget:handoffs-session", HANDOFFS_PER_SESSION, 3600)
        self.handoffs_per_ip = sharing.sliding("widget:handoffs-ip", HANDOFFS_PER_IP, 3600)
        self._rated: set[str] = set()  # votes on answers that were not stored
        self._bots: dict[str, tuple[float, Bot | None]] = {}
        self._lock = threading.Lock()

    def bot(self, token: str, origin: str | None) -> Bot:
        """The chatbot of this token if `origin` may use it; Refused otherwise. Chatbots are looked up at
        most every BOT_SECONDS, so a changed setting or a withdrawn chatbot takes effect within that time."""
        now = time.monotonic()
        cached = self._bots.get(token)
        if cached is not None and cached[0] > now:
            bot = cached[1]
        else:
            with self.services.db.system_session(read_only=True) as session:
                found = registry.by_token(session, token)
                bot = (
                    Bot(found.id, found.tenant_id, registry.settings_of(found)) if found is not None else None
                )
            if len(self._bots) > 10_000:
                self._bots.clear()
            self._bots[token[:64]] = (now + BOT_SECONDS, bot)
        if bot is None:
            raise Refused(404, "unknown_bot", "There is no chatbot with this token.")
        if origin is None or origin.rstrip("/").lower() not in bot.settings.origins:
            raise Refused(403, "origin_not_allowed", "This website may not use this chatbot.")
        return bot

    def config(self, bot: Bot) -> dict[str, Any]:
        """What the widget shows before the first message."""
        s = bot.settings
        with self.services.db.session(bot.tenant_id, read_only=True) as session:
            starters = assistants.load(session, bot.principal, s.assistant).spec.spec.starters
        return {
            "title": s.title, "greeting": s.greeting, "color": s.color, "logo_url": s.logo_url,
            "privacy_url": s.privacy_url, "languages": s.languages, "starters": starters,
            "handoff": s.handoff, "max_chars": s.max_chars,
        }  # fmt: skip

    def open_session(self, bot: Bot, client: str) -> str:
        """A new conversation; its id is all the widget keeps."""
        _limit((self.openings, f"{bot.id}:{client_key(client)}"))
        with self.services.db.session(bot.tenant_id) as session:
            row = WidgetSession(chatbot_id=bot.id, last_at=utcnow())
            session.add(row)
            session.flush()
            return row.id

    def reply(
        self, bot: Bot, client: str, session_id: str, message: str, language: str, easy: bool
    ) -> dict[str, Any]:
        """The bot's answer to one message, after every limit has been checked."""
        if len(message) > bot.settings.max_chars:
            raise Refused(
                422, "message_too_long", f"A message may have at most {bot.settings.max_chars} characters."
            )
        language = language if language in bot.settings.languages else "de"
        address = f"{bot.id}:{client_key(client)}"
        _limit((self.per_ip, address), (self.per_session, session_id), (self.per_ip_day, address))
        for attempt in range(2):
            try:
                with self.services.db.session(bot.tenant_id) as session:
                    conversation = self._session(session, bot, session_id)
                    keep = conversations.kept_days(session, bot.tenant_id) > 0
                    past = self._past(session, session_id) if keep else []
                    spec = assistants.load(session, bot.principal, bot.settings.assistant).spec
                    conversation.last_at, conversation.language = utcnow(), language
                    self._count_today(session, bot)
                break
            except IntegrityError:  # another server counted the day's first message: count again
                if attempt:
                    raise
        answer = answers.answer(self.services, bot.principal, spec, past, message, language, easy)
        message_id = (
            self._keep(bot, session_id, message, answer, language, answer.easy)
            if keep
            else self._signed(session_id, new_id())
        )
        return {"id": message_id, **answer.as_json()}

    def feedback(self, bot: Bot, client: str, session_id: str, message_id: str, helpful: bool) -> None:
        """Count one helpful / not helpful per answer the bot really gave in this session (a second vote on
        the same answer, or a vote on an answer that does not exist, changes nothing)."""
        _limit((self.votes, f"{bot.id}:{client_key(client)}"))
        with self.services.db.session(bot.tenant_id) as session:
            self._session(session, bot, session_id)
            if "." in message_id:  # an answer that was not stored: its id is signed for this session
                if not hmac.compare_digest(message_id, self._signed(session_id, message_id.split(".")[0])):
                    return
                with self._lock:
                    if message_id in self._rated:
                        return
                    if len(self._rated) > 100_000:
                        self._rated.clear()
                    self._rated.add(message_id)
            else:
                voted = session.execute(
                    update(WidgetMessage)
                    .where(
                        WidgetMessage.id == message_id,
                        WidgetMessage.session_id == session_id,
                        WidgetMessage.role == "assistant",
                        WidgetMessage.helpful.is_(None),
                    )
                    .values(helpful=helpful)
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
                if voted != 1:
                    return
            column = Chatbot.helpful if helpful else Chatbot.not_helpful
            session.execute(update(Chatbot).where(Chatbot.id == bot.id).values({column: column + 1}))

    def handoff(self, bot: Bot, client: str, session_id: str, name: str, contact: str, message: str) -> str:
        """Leave the citizen's request for a person; returns the reference the citizen is given."""
        if not bot.settings.handoff:
            raise Refused(409, "handoff_off", "This chatbot does not hand over to staff.")
        _limit(
            (self.handoffs_per_session, session_id),
            (self.handoffs_per_ip, f"{bot.id}:{client_key(client)}"),
        )
        reference = "H-" + "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        with self.services.db.session(bot.tenant_id) as session:
            self._session(session, bot, session_id)
            transcript = [
                {"role": m.role, "content": m.content} for m in self._stored(session, session_id)[-20:]
            ]
            session.add(
                Handoff(
                    chatbot_id=bot.id, reference=reference, name=name, contact=contact, message=message,
                    transcript=transcript or None,
                )
            )  # fmt: skip
        if bot.settings.handoff_workflow:
            self._start_workflow(bot, reference, name, contact, message)
        logger.info("hand-off %s left with chatbot %s", reference, bot.settings.name)
        return reference

    # helpers

    def _session(self, session: Any, bot: Bot, session_id: str) -> WidgetSession:
        row = session.get(WidgetSession, session_id[:32])
        if row is None or row.chatbot_id != bot.id:
            raise Refused(404, "unknown_session", "This conversation has ended; please start a new one.")
        return row  # type: ignore[no-any-return]

    def _stored(self, session: Any, session_id: str) -> list[WidgetMessage]:
        return list(
            session.scalars(
                select(WidgetMessage)
                .where(WidgetMessage.session_id == session_id)
                .order_by(WidgetMessage.created_at, WidgetMessage.id)
            )
        )

    def _signed(self, session_id: str, message_id: str) -> str:
        """The id of an answer that is not stored, signed for its session (so feedback cannot be made up)."""
        key = self.services.settings.require_secret().encode()
        mac = hmac.new(key, f"{session_id}:{message_id}".encode(), hashlib.sha256).hexdigest()[:16]
        return f"{message_id}.{mac}"

    def _past(self, session: Any, session_id: str) -> list[Message]:
        """The conversation so far, without the turns the bot declined (an attempt to steer it included)."""
        rows = [m for m in self._stored(session, session_id) if not m.declined][-HISTORY:]
        return [
            Message(role="assistant" if m.role == "assistant" else "user", content=m.content) for m in rows
        ]

    def _keep(
        self, bot: Bot, session_id: str, question: str, answer: answers.Answer, language: str, easy: bool
    ) -> str:
        with self.services.db.session(bot.tenant_id) as session:
            session.add(
                WidgetMessage(
                    session_id=session_id, role="user", content=question, language=language,
                    declined=answer.declined,
                )
            )  # fmt: skip
            reply = WidgetMessage(
                session_id=session_id, role="assistant", content=answer.text, sources=answer.sources_json(),
                declined=answer.declined, easy=easy, language=language,
            )  # fmt: skip
            session.add(reply)
            session.flush()
            return reply.id

    def _count_today(self, session: Any, bot: Bot) -> None:
        """Count the message against the tenant's daily quota; Refused when it is used up."""
        zone = ZoneInfo(self.services.settings.timezone)
        now = datetime.now(zone)
        today = now.date()
        tenant = session.get(Tenant, bot.tenant_id)
        limit = tenant.widget_daily_messages if tenant is not None else 0
        counted = session.execute(
            update(WidgetDay)
            .where(WidgetDay.day == today, WidgetDay.messages < limit)
            .values(messages=WidgetDay.messages + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if counted:
            return
        first = session.scalars(select(WidgetDay.id).where(WidgetDay.day == today)).first() is None
        if first and limit > 0:
            session.add(WidgetDay(day=today, messages=1))
            session.flush()  # IntegrityError when another server added the day at the same moment
            return
        midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)
        raise Refused(
            429,
            "quota_exhausted",
            "The chatbot has answered all the messages it may today; it is back tomorrow.",
            (midnight - now).total_seconds(),
        )

    def _start_workflow(self, bot: Bot, reference: str, name: str, contact: str, message: str) -> None:
        """Start the chatbot's hand-off workflow with the request (the conversation stays in the inbox)."""
        data: dict[str, Any] = {"reference": reference, "name": name, "contact": contact, "message": message}
        try:
            run = self.services.workflows.start(
                bot.principal, bot.settings.handoff_workflow or "", data, "chatbot"
            )
        except Exception as exc:  # the hand-off is in the inbox either way; the log names no personal data
            logger.warning(
                "hand-off %s: workflow %s not started (%s)",
                reference, bot.settings.handoff_workflow, type(exc).__name__,
            )  # fmt: skip
            return
        with self.services.db.session(bot.tenant_id) as session:
            session.execute(update(Handoff).where(Handoff.reference == reference).values(run_id=run.id))


def _limit(*windows: tuple[SlidingWindow | FixedWindow, str]) -> None:
    """Count the event in every window; Refused (429) with the wait when one of them is full."""
    for window, key in windows:
        wait = window.hit(key)
        if wait is not None:
            raise Refused(429, "rate_limited", "Too many requests; please wait a moment.", wait)


def purge(session: Any, now: datetime | None = None) -> int:
    """Delete widget sessions past their tenant's retention (with their messages) and finished hand-offs
    older than it, in every tenant (system session); returns how many sessions were deleted."""
    now = now or utcnow()
    deleted = 0
    for tenant in session.scalars(select(Tenant)):
        days = tenant.conversation_days or SESSION_DAYS_UNSTORED
        cutoff = now - timedelta(days=days)
        ids = list(
            session.scalars(
                select(WidgetSession.id).where(
                    WidgetSession.tenant_id == tenant.id, WidgetSession.last_at <= cutoff
                )
            )
        )
        delete_by_ids(session, ids, WidgetMessage.session_id, WidgetSession.id)
        session.execute(
            delete(Handoff).where(
                Handoff.tenant_id == tenant.id, Handoff.status == "done", Handoff.done_at <= cutoff
            )
        )
        deleted += len(ids)
    return deleted
