"""Invitations: how a tenant administrator adds a person without taking anyone's account.

A tenant administrator never attaches an account directly. Adding an e-mail address always makes an
`Invitation` (and, when the address has no account yet, the account with the given first password);
the answer is the same either way, so the form cannot tell whether an address is known elsewhere. The
invitation grants nothing: only when the person logs in and accepts it does it become a membership.
An operator can still attach an account directly (`rathaus user add`, `directory.add_user`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rathaus.identity.directory import EMAIL, user_by_email
from rathaus.identity.models import Invitation, LoginSession, Membership, Role, Tenant, User
from rathaus.identity.passwords import check_strength, hash_password
from rathaus.store.db import Database
from rathaus.store.tenancy import NotFound, get_or_404


class InvitationRefused(ValueError):
    """The invitation cannot be made; `reason` is `email`, `password` or `member`.

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


def invite(
    session: Session,
    email: str,
    role: Role,
    password: str,
    name: str = "",
    invited_by: str | None = None,
) -> None:
    """Invite a person into the session's tenant (tenant session); returns nothing on purpose.

    The first password is required and checked for every address, and always hashed, so neither the
    answer nor its timing shows whether the address already had an account. An existing account keeps
    its name and password. Inviting someone already invited updates the role.
    """
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvitationRefused("email", f"'{email}' is not an e-mail address")
    try:
        check_strength(password)
    except ValueError as exc:
        raise InvitationRefused("password", str(exc)) from None
    password_hash = hash_password(password)
    user = user_by_email(session, email)
    created = user is None
    if user is None:
        user = User(email=email, name=name.strip(), password_hash=password_hash)
        session.add(user)
        session.flush()
    # Memberships and invitations are read through the tenant scope: only this tenant's rows count.
    elif session.scalars(select(Membership.id).where(Membership.user_id == user.id)).first() is not None:
        raise InvitationRefused("member", f"{email} is already a member")
    pending = session.scalars(select(Invitation).where(Invitation.user_id == user.id)).first()
    if pending is not None:
        pending.role = role
    else:
        session.add(Invitation(user_id=user.id, role=role, invited_by=invited_by, created_account=created))
    session.flush()


def sent(session: Session) -> list[SentInvitation]:
    """The tenant's open invitations, by e-mail address (tenant session)."""
    rows = session.execute(
        select(Invitation, User.email).join(User, User.id == Invitation.user_id).order_by(User.email)
    )
    return [SentInvitation(i.id, email, i.role, i.created_at) for i, email in rows]


def pending_for(session: Session, user_id: str) -> list[PendingInvitation]:
    """The invitations waiting for one person, oldest first (system session)."""
    rows = session.execute(
        select(Invitation, Tenant)
        .join(Tenant, Tenant.id == Invitation.tenant_id)
        .where(Invitation.user_id == user_id)
        .order_by(Invitation.created_at, Tenant.slug)
    )
    return [PendingInvitation(i.id, t.slug, t.name, i.role, i.created_at) for i, t in rows]


def _addressed_to(session: Session, user_id: str, invitation_id: str) -> Invitation:
    """The person's own invitation; anyone else's is not found, like a missing one."""
    found = session.scalars(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.user_id == user_id)
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
