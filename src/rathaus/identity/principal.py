"""Who is calling: a user (browser session or API key) acting in one tenant with one role."""

from __future__ import annotations

from dataclasses import dataclass

from rathaus.identity.models import Role

_RANK = {Role.staff: 0, Role.builder: 1, Role.admin: 2}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    tenant_id: str
    role: Role
    user_id: str | None = None
    api_key_id: str | None = None
    is_platform_admin: bool = False
    must_change_password: bool = False  # someone else chose the password; pages ask for a new one first

    def has_role(self, needed: Role) -> bool:
        """Roles are ordered: admin can do what builder can, builder what staff can.

        Inside a tenant a platform administrator has exactly their membership's role; platform-wide
        powers belong to platform endpoints, never to a tenant's.
        """
        return _RANK[self.role] >= _RANK[needed]
