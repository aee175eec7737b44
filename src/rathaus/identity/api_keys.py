"""API keys: `rh_<prefix>_<secret>`, shown once, stored as a SHA-256 hash, scoped to one tenant.

Keys are 256-bit random values, so a fast hash is safe (unlike passwords) and lets every request be
checked without slowing the API down.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rathaus.identity.models import ApiKey, Role
from rathaus.identity.principal import Principal
from rathaus.store.base import utcnow

PREFIX = "rh_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `token` is the only time the full key exists outside the caller's hands."""

    key: ApiKey
    token: str


def issue_key(
    session: Session, name: str, role: Role = Role.staff, created_by: str | None = None
) -> IssuedKey:
    """Create a key in the session's tenant and return it with its one-time token."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=prefix, secret_hash=_hash(secret), role=role, created_by=created_by)
    session.add(key)
    session.flush()
    return IssuedKey(key=key, token=f"{PREFIX}{prefix}_{secret}")


def authenticate_key(session: Session, token: str) -> Principal | None:
    """The principal for a bearer token (system session), or None for unknown or revoked keys."""
    if not token.startswith(PREFIX) or token.count("_") < 2:
        return None
    prefix, _, secret = token[len(PREFIX) :].partition("_")
    key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    now = utcnow()
    last = key.last_used_at
    if last is None or now - last > LAST_USED_RESOLUTION:
        key.last_used_at = now  # written at most once a minute: no write per request
    return Principal(tenant_id=key.tenant_id, role=key.role, api_key_id=key.id)


def revoke_key(key: ApiKey) -> None:
    """Revoke a key; it stops working at once and stays listed for the audit trail."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
