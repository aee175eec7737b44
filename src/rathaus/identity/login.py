"""Password login and browser sessions (a signed cookie holding a random, revocable token).

Without a tenant, a login opens the user's home tenant: the one they have belonged to longest
(`directory.memberships_of`). A person whose only way into a tenant is an open invitation gets no
session but an `InvitationPending` with a short-lived ticket, to accept or decline it first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from rathaus.identity.directory import memberships_of, tenant_by_slug, user_by_email
from rathaus.identity.invitations import PendingInvitation, pending_for
from rathaus.identity.models import LoginSession, User
from rathaus.identity.passwords import verify_password
from rathaus.identity.principal import Principal
from rathaus.identity.throttle import LoginThrottle
from rathaus.store.base import utcnow
from rathaus.store.db import Database

COOKIE_NAME = "rathaus_session"
TICKET_SECONDS = 900  # time to decide on invitations after the password check


class LoginFailed(PermissionError):
    """Wrong e-mail, password or tenant; deliberately not saying which."""


class InvitationPending(PermissionError):
    """The password was right, but the tenant asked for is only an open invitation (or the person belongs
    to no tenant yet): decide on `invitations` first, proving the login with `ticket`."""

    def __init__(self, ticket: str, invitations: list[PendingInvitation]) -> None:
        super().__init__("accept or decline the invitation first")
        self.ticket = ticket
        self.invitations = invitations


@dataclass(frozen=True)
class LoginOutcome:
    """A successful login: the cookie, the tenant it opened and how many invitations wait."""

    cookie: str
    tenant_slug: str
    invitations: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionCookies:
    """Signs and reads the session cookie with the server's secret key."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="rathaus-session")
        self._tickets = URLSafeTimedSerializer(secret_key, salt="rathaus-invitation-ticket")
        self._form_key = hashlib.sha256(b"rathaus-form:" + secret_key.encode()).digest()

    def form_token(self, cookie: str) -> str:
        """The token the pages' forms carry: bound to one login session, unguessable without the key."""
        return hmac.new(self._form_key, cookie.encode(), hashlib.sha256).hexdigest()

    def invitation_ticket(self, user_id: str) -> str:
        """Proof, for a few minutes, that this person just gave the right password."""
        return self._tickets.dumps(user_id)

    def ticket_user(self, ticket: str) -> str | None:
        """The user a ticket was issued to, or None when it is forged or expired."""
        try:
            user_id = self._tickets.loads(ticket, max_age=TICKET_SECONDS)
        except BadSignature:  # includes SignatureExpired
            return None
        return user_id if isinstance(user_id, str) else None

    def open_session(self, session: Session, user_id: str, tenant_id: str, hours: int) -> str:
        """A new login session in one tenant (system session); returns the cookie value."""
        token = secrets.token_urlsafe(32)
        session.add(
            LoginSession(
                tenant_id=tenant_id,
                user_id=user_id,
                token_hash=_digest(token),
                expires_at=utcnow() + timedelta(hours=hours),
            )
        )
        return self._serializer.dumps(token)

    def login(
        self, session: Session, email: str, password: str, tenant_slug: str | None, hours: int
    ) -> LoginOutcome:
        """Check the password and open a session (system session).

        Without `tenant_slug` the session opens in the home tenant (see the module docstring).
        """
        user = user_by_email(session, email)
        password_ok = verify_password(user.password_hash if user else None, password)
        if user is None or not user.is_active or not password_ok:
            raise LoginFailed("e-mail address or password is wrong")
        tenants = memberships_of(session, user)
        if tenant_slug:
            tenants = [(t, r) for t, r in tenants if t.slug == tenant_slug]
        if not tenants:
            pending = pending_for(session, user.id)
            if any(not tenant_slug or p.tenant_slug == tenant_slug for p in pending):
                raise InvitationPending(self.invitation_ticket(user.id), pending)
            if tenant_slug and user.is_platform_admin and tenant_by_slug(session, tenant_slug):
                raise LoginFailed("platform administrators act in a tenant only as its members")
            raise LoginFailed("e-mail address or password is wrong")
        tenant, _role = tenants[0]
        cookie = self.open_session(session, user.id, tenant.id, hours)
        return LoginOutcome(cookie, tenant.slug, len(pending_for(session, user.id)))

    def session_hash(self, cookie: str) -> str | None:
        """The stored hash of the login session behind a cookie value, or None for a forged cookie."""
        try:
            return _digest(str(self._serializer.loads(cookie)))
        except BadSignature:
            return None

    def authenticate(self, session: Session, cookie: str) -> Principal | None:
        """The principal for a cookie value (system session), or None."""
        try:
            token = self._serializer.loads(cookie)
        except BadSignature:
            return None
        row = session.scalars(
            select(LoginSession).where(LoginSession.token_hash == _digest(str(token)))
        ).first()
        if row is None or row.revoked_at is not None or row.expires_at < utcnow():
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.is_active:
            return None
        role = next((r for t, r in memberships_of(session, user) if t.id == row.tenant_id), None)
        if role is None:
            return None
        return Principal(
            tenant_id=row.tenant_id,
            role=role,
            user_id=user.id,
            is_platform_admin=user.is_platform_admin,
            must_change_password=user.must_change_password,
        )

    def logout(self, session: Session, cookie: str) -> None:
        """Revoke the session behind a cookie (system session)."""
        try:
            token = self._serializer.loads(cookie)
        except BadSignature:
            return
        row = session.scalars(
            select(LoginSession).where(LoginSession.token_hash == _digest(str(token)))
        ).first()
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()


class LoginThrottled(PermissionError):
    """Too many failed attempts; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


class LoginBusy(RuntimeError):
    """Too many password checks are running at once."""


def attempt_login(
    db: Database,
    cookies: SessionCookies,
    throttle: LoginThrottle,
    email: str,
    password: str,
    tenant_slug: str | None,
    client: str,
    hours: int,
) -> LoginOutcome:
    """The whole password login, shared by the API and the web pages.

    Raises LoginThrottled, LoginBusy or LoginFailed (counted against the e-mail address and client), or
    InvitationPending (a right password: not counted as a failure).
    """
    wait = throttle.retry_after(email, client)
    if wait is not None:
        raise LoginThrottled(wait)
    if not throttle.checks.acquire(timeout=30):
        raise LoginBusy("login is busy")
    try:
        with db.system_session() as session:
            outcome = cookies.login(session, email, password, tenant_slug, hours)
    except LoginFailed:
        throttle.failed(email, client)
        raise
    except InvitationPending:
        throttle.succeeded(email)
        raise
    finally:
        throttle.checks.release()
    throttle.succeeded(email)
    return outcome
