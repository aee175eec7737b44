"""A person's own password: changing it, and having to change one that someone else chose.

Changing the password ends the person's other login sessions in every tenant; the session the change
was made in stays open. A password an operator typed (`rathaus user add`) is marked
`must_change_password`, and the pages ask for a new one before anything else.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rathaus.identity.models import LoginSession, User
from rathaus.identity.passwords import check_strength, hash_password, verify_password
from rathaus.store.base import utcnow


class PasswordChangeRefused(ValueError):
    """The change was refused; `code` is `wrong_current`, `mismatch` or `unchanged`.

    A password the rules refuse raises `passwords.WeakPassword` instead.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def change_password(
    session: Session, user_id: str, current: str, new: str, repeated: str, keep_session: str | None = None
) -> int:
    """Change a person's password (system session); returns how many other login sessions ended.

    `keep_session` is the token hash of the login session the change comes from; it stays open.
    """
    user = session.get_one(User, user_id)
    if not verify_password(user.password_hash, current):
        raise PasswordChangeRefused("wrong_current", "the current password is wrong")
    if new != repeated:
        raise PasswordChangeRefused("mismatch", "the two new passwords differ")
    check_strength(new)
    if verify_password(user.password_hash, new):
        raise PasswordChangeRefused("unchanged", "the new password is the current one")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    ended = 0
    now = utcnow()
    others = select(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None), LoginSession.expires_at > now
    )
    for login in session.scalars(others):
        if login.token_hash != keep_session:
            login.revoked_at = now
            ended += 1
    session.flush()
    return ended
