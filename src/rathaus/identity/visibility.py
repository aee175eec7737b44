"""Who sees a shared object (an assistant, a knowledge collection): one rule for all of them.

`private` is seen by its owner only; `team` by the people who build (roles builder and admin) and the
owner; `tenant` by everyone in the tenant.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal


class Forbidden(PermissionError):
    """The caller may see the object but not change it."""


def visible_to(principal: Principal, visibility: Any, owner_id: Any) -> ColumnElement[bool]:
    """A WHERE condition: rows whose `visibility` and `owner_id` columns let the principal see them."""
    conditions = [visibility == "tenant"]
    if principal.has_role(Role.builder):
        conditions.append(visibility == "team")
    if principal.user_id:
        conditions.append(owner_id == principal.user_id)
    return or_(*conditions)
