"""REST API for login, the caller, invitations, API keys, members and request records (/api)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from rathaus.accounting.models import RequestRecord
from rathaus.api.deps import (
    AdminDep,
    PrincipalDep,
    ScriptHeaderChecked,
    ServicesDep,
    TenantSessionDep,
    set_session_cookie,
)
from rathaus.api.errors import ApiError
from rathaus.identity import invitations
from rathaus.identity.api_keys import issue_key, revoke_key
from rathaus.identity.login import (
    COOKIE_NAME,
    InvitationPending,
    LoginBusy,
    LoginFailed,
    LoginThrottled,
    attempt_login,
)
from rathaus.identity.models import ApiKey, Membership, Role, Tenant, User
from rathaus.identity.principal import Principal
from rathaus.store.tenancy import NotFound, get_or_404

router = APIRouter(prefix="/api", tags=["identity"])


class LoginBody(BaseModel):
    """E-mail, password and optionally the tenant (slug) to act in."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    password: str = Field(max_length=1000)
    tenant: str | None = None


class ApiKeyCreate(BaseModel):
    """A new API key's name and role."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.staff


class ApiKeyPublic(BaseModel):
    """An API key as listed: never the secret."""

    id: str
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class MemberPublic(BaseModel):
    """A member of the tenant."""

    id: str
    email: str
    name: str
    role: Role


class TenantRef(BaseModel):
    """A tenant named by slug and name."""

    slug: str
    name: str


class InvitationPublic(BaseModel):
    """An invitation waiting for the caller."""

    id: str
    tenant: TenantRef
    role: Role
    created_at: datetime


class MembershipPublic(BaseModel):
    """The caller's membership made from an accepted invitation."""

    tenant: TenantRef
    role: Role


class RequestRecordPublic(BaseModel):
    """One model request."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: datetime
    endpoint: str
    profile_id: str
    backend: str
    location: str
    status: str
    error: str | None
    user_id: str | None
    api_key_id: str | None
    tokens_in: int
    tokens_out: int
    ttft_ms: float | None
    duration_ms: float
    cpu_seconds: float | None


def _key_public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=key.role,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


@router.post("/auth/login", operation_id="login")
def login(body: LoginBody, request: Request, response: Response, services: ServicesDep) -> dict[str, Any]:
    """Log in with e-mail and password; sets the session cookie. Repeated failures get 429.

    Without `tenant` the session opens in the home tenant (the one the user has belonged to longest);
    the answer names the tenant and how many invitations wait.
    """
    client = request.client.host if request.client else "unknown"
    settings = services.settings
    try:
        outcome = attempt_login(
            services.db,
            services.cookies,
            services.login_throttle,
            body.email,
            body.password,
            body.tenant,
            client,
            settings.session_hours,
        )
    except LoginThrottled as exc:
        raise ApiError(
            429,
            f"Too many failed logins. Try again in {exc.retry_after} seconds.",
            "too_many_attempts",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except LoginBusy:
        raise ApiError(
            503, "Login is busy, please try again shortly.", "busy", headers={"Retry-After": "5"}
        ) from None
    except LoginFailed as exc:
        raise ApiError(401, str(exc), "login_failed") from None
    except InvitationPending:
        raise ApiError(
            403,
            "This tenant has only invited you: accept or decline the invitation on the login page first.",
            "invitation_pending",
        ) from None
    set_session_cookie(response, request, outcome.cookie, settings.session_hours)
    return {
        "email": body.email.strip().lower(),
        "tenant": outcome.tenant_slug,
        "invitations": outcome.invitations,
    }


@router.post("/auth/logout", operation_id="logout", status_code=204, dependencies=[ScriptHeaderChecked])
def logout(request: Request, response: Response, services: ServicesDep) -> None:
    """End the browser session."""
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        with services.db.system_session() as session:
            services.cookies.logout(session, cookie)
    response.delete_cookie(COOKIE_NAME, path="/")


@router.get("/me", operation_id="me")
def me(principal: PrincipalDep, session: TenantSessionDep) -> dict[str, Any]:
    """The caller: tenant, role, and user or API key."""
    tenant = session.get(Tenant, principal.tenant_id)
    user = session.get(User, principal.user_id) if principal.user_id else None
    return {
        "tenant": {
            "id": principal.tenant_id,
            "slug": tenant.slug if tenant else None,
            "name": tenant.name if tenant else None,
        },
        "role": principal.role.value,
        "user": {"id": user.id, "email": user.email, "name": user.name} if user else None,
        "api_key_id": principal.api_key_id,
        "platform_admin": principal.is_platform_admin,
    }


def _person(principal: Principal) -> str:
    """Invitations are addressed to people: an API key has none."""
    if principal.user_id is None:
        raise ApiError(
            403, "Invitations belong to people: log in instead of using an API key.", "person_only"
        )
    return principal.user_id


@router.get("/invitations", operation_id="list_invitations")
def list_invitations(principal: PrincipalDep, services: ServicesDep) -> list[InvitationPublic]:
    """The invitations waiting for the caller, oldest first; they grant nothing until accepted."""
    with services.db.system_session() as session:
        pending = invitations.pending_for(session, _person(principal))
    return [
        InvitationPublic(
            id=p.id,
            tenant=TenantRef(slug=p.tenant_slug, name=p.tenant_name),
            role=p.role,
            created_at=p.created_at,
        )
        for p in pending
    ]


@router.post("/invitations/{invitation_id}/accept", operation_id="accept_invitation")
def accept_invitation(invitation_id: str, principal: PrincipalDep, services: ServicesDep) -> MembershipPublic:
    """Accept an invitation: the caller becomes a member (log in with that tenant to act there)."""
    with services.db.system_session() as session:
        tenant, role = invitations.accept(session, _person(principal), invitation_id)
        return MembershipPublic(tenant=TenantRef(slug=tenant.slug, name=tenant.name), role=role)


@router.post("/invitations/{invitation_id}/decline", operation_id="decline_invitation", status_code=204)
def decline_invitation(invitation_id: str, principal: PrincipalDep, services: ServicesDep) -> None:
    """Decline an invitation; it is deleted."""
    with services.db.system_session() as session:
        invitations.decline(session, _person(principal), invitation_id)


@router.get("/api-keys", operation_id="list_api_keys")
def list_api_keys(principal: AdminDep, session: TenantSessionDep) -> list[ApiKeyPublic]:
    """The tenant's API keys (admin)."""
    keys = session.scalars(select(ApiKey).order_by(ApiKey.created_at)).all()
    return [_key_public(k) for k in keys]


@router.post("/api-keys", operation_id="create_api_key", status_code=201)
def create_api_key(body: ApiKeyCreate, principal: AdminDep, session: TenantSessionDep) -> dict[str, Any]:
    """A new key; the `key` field is shown only in this response."""
    issued = issue_key(session, body.name, body.role, created_by=principal.user_id)
    return {**_key_public(issued.key).model_dump(mode="json"), "key": issued.token}


@router.get("/api-keys/{key_id}", operation_id="get_api_key")
def get_api_key(key_id: str, principal: AdminDep, session: TenantSessionDep) -> ApiKeyPublic:
    """One API key (admin)."""
    return _key_public(get_or_404(session, ApiKey, key_id))


@router.delete("/api-keys/{key_id}", operation_id="revoke_api_key", status_code=204)
def delete_api_key(key_id: str, principal: AdminDep, session: TenantSessionDep) -> None:
    """Revoke a key; it stops working at once."""
    revoke_key(get_or_404(session, ApiKey, key_id))


def _members(session: TenantSessionDep, user_id: str | None = None) -> list[MemberPublic]:
    query = select(User, Membership.role).join(Membership, Membership.user_id == User.id).order_by(User.email)
    if user_id is not None:
        query = query.where(User.id == user_id)
    return [MemberPublic(id=u.id, email=u.email, name=u.name, role=r) for u, r in session.execute(query)]


@router.get("/users", operation_id="list_users")
def list_users(principal: AdminDep, session: TenantSessionDep) -> list[MemberPublic]:
    """The tenant's members (admin)."""
    return _members(session)


@router.get("/users/{user_id}", operation_id="get_user")
def get_user(user_id: str, principal: AdminDep, session: TenantSessionDep) -> MemberPublic:
    """One member of the tenant (admin); users of other tenants are not found."""
    found = _members(session, user_id)
    if not found:
        raise NotFound("User", user_id)
    return found[0]


@router.get("/requests", operation_id="list_requests")
def list_requests(
    principal: PrincipalDep, session: TenantSessionDep, limit: int = 100
) -> list[RequestRecordPublic]:
    """Recent model requests: all of the tenant for admins, otherwise the caller's own."""
    query = select(RequestRecord).order_by(RequestRecord.created_at.desc()).limit(max(1, min(limit, 1000)))
    if not principal.has_role(Role.admin):
        query = query.where(
            RequestRecord.api_key_id == principal.api_key_id
            if principal.api_key_id
            else RequestRecord.user_id == principal.user_id
        )
    return [RequestRecordPublic.model_validate(r) for r in session.scalars(query)]


@router.get("/requests/{record_id}", operation_id="get_request")
def get_request(record_id: str, principal: PrincipalDep, session: TenantSessionDep) -> RequestRecordPublic:
    """One request record of the tenant."""
    record = get_or_404(session, RequestRecord, record_id)
    own = (
        record.api_key_id == principal.api_key_id
        if principal.api_key_id
        else record.user_id == principal.user_id
    )
    if not (own or principal.has_role(Role.admin)):
        raise NotFound("RequestRecord", record_id)
    return RequestRecordPublic.model_validate(record)
