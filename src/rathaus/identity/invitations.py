"""Invitations: how a tenant administrator adds a person without taking anyone's account.

A tenant administrator never attaches an account directly. Adding an e-mail address always makes an
`Invitation` (and, when the address has no account yet, an account without a password); the answer is the
same either way, so the form cannot tell whether an address is known elsewhere. The invitation grants
nothing until the person accepts it and becomes a member.

Every invitation comes with a link: a random one-time token of which only the SHA-256 hash is stored. The
administrator passes the link on; it ends when it is used, withdrawn, renewed or after `expires_at`. A
person without a password sets one through the link (`claim`), which accepts the invitation and logs them
in; a person who already has an account logs in with their password and accepts it there.
An operator can still attach an account directly (`rathaus user add`, `directory.add_user`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from rathaus.identity.directory import EMAIL, user_by_email
from rathaus.identity.models import Invitation, LoginSession, Membership, Role, Tenant, User
from rathaus.identity.passwords import check_strength, hash_password
from rathaus.store.base import utcnow
from rathaus.store.db import Database
from rathaus.store.tenancy import NotFound, get_or_404


class InvitationRefused(ValueError):
    """The invitation cannot be made; `reason` is `email` or `member`.

    None of the reasons depends on accounts outside the tenant: the same input gets the same answer
    whether or not the address has an account elsewhere.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PendingInvitation:
    """An invitation as the invited person sees it."""

    id: str
    tenant_slug: str
    tenant_name: str
    role: Role
    created_at: datetime


@dataclass(frozen=True)
class SentInvitation:
    """An open invitation as the inviting tenant's administrators see it: nothing from other tenants."""

    id: str
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime | None

    @property
    def expired(self) -> bool:
        """Whether the invitation and its link have run out (renewing gives a new link)."""
        return self.expires_at is not None and self.expires_at <= utcnow()


class LinkInvalid(LookupError):
    """An invitation link that does not open: `reason` is `unknown` (used, withdrawn, renewed or never
    made: indistinguishable on purpose) or `expired`."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the invitation link is {reason}")
        self.reason = reason


@dataclass(frozen=True)
class LinkedInvitation:
    """What an invitation link opens: the tenant, the role, and whether the person still needs a password."""

    tenant_name: str
    email: str
    role: Role
    expires_at: datetime
    needs_password: bool


def digest(token: str) -> str:
    """The stored form of a link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _new_link(invitation: Invitation, valid_days: int) -> str:
    token = secrets.token_urlsafe(32)
    invitation.token_hash = digest(token)
    invitation.expires_at = utcnow() + timedelta(days=valid_days)
    return token


def _still_open() -> ColumnElement[bool]:
    return or_(Invitation.expires_at.is_(None), Invitation.expires_at > utcnow())


def invite(
    session: Session,
    email: str,
    role: Role,
    name: str = "",
    invited_by: str | None = None,
    valid_days: int = 7,
) -> str:
    """Invite a person into the session's tenant (tenant session); returns the link's one-time token.

    Every address gets a link, so neither the answer nor the listing shows whether the address already
    had an account. A new account has no password until the person sets one through the link; an
    existing account keeps its name and password. Inviting someone already invited updates the role and
    replaces the link.
    """
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvitationRefused("email", f"'{email}' is not an e-mail address")
    user = user_by_email(session, email)
    created = user is None
    if user is None:
        user = User(email=email, name=name.strip(), password_hash=None)
        session.add(user)
        session.flush()
    # Memberships and invitations are read through the tenant scope: only this tenant's rows count.
    elif session.scalars(select(Membership.id).where(Membership.user_id == user.id)).first() is not None:
        raise InvitationRefused("member", f"{email} is already a member")
    invitation = session.scalars(select(Invitation).where(Invitation.user_id == user.id)).first()
    if invitation is not None:
        invitation.role = role
    else:
        invitation = Invitation(user_id=user.id, role=role, invited_by=invited_by, created_account=created)
        session.add(invitation)
    token = _new_link(invitation, valid_days)
    session.flush()
    return token


def renew(session: Session, invitation_id: str, valid_days: int = 7) -> tuple[str, Role, str]:
    """A new link for an open invitation of the session's tenant (tenant session); the old link ends.

    Returns the invited address, the role and the new token.
    """
    invitation = get_or_404(session, Invitation, invitation_id)
    token = _new_link(invitation, valid_days)
    email = session.get_one(User, invitation.user_id).email
    session.flush()
    return email, invitation.role, token


def sent(session: Session) -> list[SentInvitation]:
    """The tenant's open invitations, by e-mail address (tenant session); expired ones included."""
    rows = session.execute(
        select(Invitation, User.email).join(User, User.id == Invitation.user_id).order_by(User.email)
    )
    return [SentInvitation(i.id, email, i.role, i.created_at, i.expires_at) for i, email in rows]


def pending_for(session: Session, user_id: str) -> list[PendingInvitation]:
    """The unexpired invitations waiting for one person, oldest first (system session)."""
    rows = session.execute(
        select(Invitation, Tenant)
        .join(Tenant, Tenant.id == Invitation.tenant_id)
        .where(Invitation.user_id == user_id, _still_open())
        .order_by(Invitation.created_at, Tenant.slug)
    )
    return [PendingInvitation(i.id, t.slug, t.name, i.role, i.created_at) for i, t in rows]


def _by_link(session: Session, token: str) -> Invitation:
    found = session.scalars(select(Invitation).where(Invitation.token_hash == digest(token))).first()
    if found is None or found.expires_at is None:
        raise LinkInvalid("unknown")
    if found.expires_at <= utcnow():
        raise LinkInvalid("expired")
    return found


def _unclaimed(session: Session, user: User) -> bool:
    """An account nobody can log in to yet: no password and no tenant (system session)."""
    if user.password_hash is not None:
        return False
    return session.scalars(select(Membership.id).where(Membership.user_id == user.id)).first() is None


def open_link(session: Session, token: str) -> LinkedInvitation:
    """What a link leads to (system session); raises LinkInvalid."""
    invitation = _by_link(session, token)
    user = session.get_one(User, invitation.user_id)
    tenant = session.get_one(Tenant, invitation.tenant_id)
    assert invitation.expires_at is not None  # checked by _by_link
    return LinkedInvitation(
        tenant.name, user.email, invitation.role, invitation.expires_at, _unclaimed(session, user)
    )


class PasswordNotHere(PermissionError):
    """The account already has a password: the person logs in with it and accepts there."""


def claim(session: Session, token: str, password: str) -> tuple[str, str]:
    """Set the first password through a link and accept its invitation (system session).

    Returns (user id, tenant id). Raises LinkInvalid, PasswordNotHere, or WeakPassword (the link stays
    valid then). The link cannot be used twice: accepting deletes the invitation with its token.
    """
    invitation = _by_link(session, token)
    user = session.get_one(User, invitation.user_id)
    if not _unclaimed(session, user):
        raise PasswordNotHere("log in with the existing password to accept the invitation")
    check_strength(password)
    user.password_hash = hash_password(password)
    user.must_change_password = False
    tenant_id = invitation.tenant_id
    accept(session, user.id, invitation.id)
    return user.id, tenant_id


def _addressed_to(session: Session, user_id: str, invitation_id: str) -> Invitation:
    """The person's own unexpired invitation; anyone else's is not found, like a missing one."""
    found = session.scalars(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.user_id == user_id, _still_open())
    ).first()
    if found is None:
        raise NotFound("Invitation", invitation_id[:64])
    return found


def accept(session: Session, user_id: str, invitation_id: str) -> tuple[Tenant, Role]:
    """Accept an invitation addressed to this person (system session): it becomes a membership.

    If an operator made the person a member meanwhile, that membership and its role stay.
    """
    invitation = _addressed_to(session, user_id, invitation_id)
    tenant = session.get_one(Tenant, invitation.tenant_id)
    membership = session.scalars(
        select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user_id)
    ).first()
    if membership is None:
        membership = Membership(tenant_id=tenant.id, user_id=user_id, role=invitation.role)
        session.add(membership)
    session.delete(invitation)
    session.flush()
    return tenant, membership.role


def decline(session: Session, user_id: str, invitation_id: str) -> bool:
    """Decline an invitation addressed to this person (system session).

    Returns whether the account itself is gone: one made only for this invitation is deleted with it.
    """
    invitation = _addressed_to(session, user_id, invitation_id)
    created = invitation.created_account
    session.delete(invitation)
    session.flush()
    return created and _forget_unclaimed(session, user_id)


def withdraw(db: Database, tenant_id: str, invitation_id: str) -> None:
    """A tenant administrator withdraws an open invitation of their tenant.

    An account made for it and never used is deleted too, so the first password its administrator
    chose does not linger for an address another tenant may invite later.
    """
    with db.session(tenant_id) as session:
        invitation = get_or_404(session, Invitation, invitation_id)
        user_id, created = invitation.user_id, invitation.created_account
        session.delete(invitation)
    if created:
        # Whether the account is used elsewhere needs every tenant's rows; nothing of them is returned.
        with db.system_session() as session:
            _forget_unclaimed(session, user_id)


def _forget_unclaimed(session: Session, user_id: str) -> bool:
    """Delete an account that belongs to no tenant, is invited nowhere and never logged in."""
    user = session.get(User, user_id)
    if user is None or user.is_platform_admin:
        return False
    still_used = (
        select(Membership.id).where(Membership.user_id == user_id),
        select(Invitation.id).where(Invitation.user_id == user_id),
        select(LoginSession.id).where(LoginSession.user_id == user_id),
    )
    if any(session.scalars(query).first() is not None for query in still_used):
        return False
    session.delete(user)
    session.flush()
    return True
