"""Identity tables: Tenant, User, Membership (role per tenant), Invitation, ApiKey, LoginSession."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.store.base import Base, TenantOwned, UtcDateTime


class Role(enum.StrEnum):
    """What a member may do in a tenant."""

    admin = "admin"  # manages users, roles, API keys and settings of the tenant
    builder = "builder"  # builds assistants and workflows
    staff = "staff"  # uses assistants


class Tenant(Base):
    """A city or administration; every tenant-owned row points here."""

    __tablename__ = "tenants"

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # days conversations are kept after their last message; 0 keeps them in the browser only
    conversation_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # the model savings are compared with; None: the installation's reference model
    reference_model: Mapped[str | None] = mapped_column(String(100), default=None)
    # messages all the tenant's chatbots may answer per day (citizens' widget)
    widget_daily_messages: Mapped[int] = mapped_column(Integer, default=2000, server_default="2000")


class User(Base):
    """A person who can log in; belongs to tenants through memberships."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # set when someone else chose the password (`rathaus user add`): the next login asks for a new one
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Membership(TenantOwned, Base):
    """A user's role in one tenant."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))


class Invitation(TenantOwned, Base):
    """A tenant's offer of a role to a person; it grants nothing until the person accepts it.

    Accepting turns it into a `Membership`; declining or withdrawing deletes it. `created_account`
    marks an account made for this invitation, which is removed again if it ends up in no tenant.
    The invitation link carries a random token of which only the hash is stored; the invitation and its
    link end at `expires_at` (invitations made before links existed have neither and do not expire).
    """

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    invited_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_account: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class ApiKey(TenantOwned, Base):
    """A bearer key for one tenant; only its hash is stored, the key is shown once."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20), default=Role.staff)
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class LoginSession(TenantOwned, Base):
    """A browser login; the cookie carries a signed random token whose hash is stored here."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
