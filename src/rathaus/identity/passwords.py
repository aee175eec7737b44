"""Password hashing with argon2id."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


class WeakPassword(ValueError):
    """A password the rules refuse; `code` names the rule, so each interface can word it in its language.

    Codes: `too_short` (fewer than `MIN_LENGTH` characters), `blank` (only spaces).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_strength(password: str) -> None:
    """Raise WeakPassword for a password too weak to set."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword("too_short", f"the password must be at least {MIN_LENGTH} characters long")
    if not password.strip():
        raise WeakPassword("blank", "the password must not consist of spaces only")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; False for no hash, a mismatch or a malformed hash."""
    if not password_hash:
        _hasher().hash(password)  # spend the same time as a real check: no user enumeration by timing
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
