"""Tenant administration pages: people and their roles, API keys, how long conversations are kept and how
many messages the chatbots answer a day.

People are added by invitation (`identity.invitations`): the page answers the same for every address,
shows the invitation link once to pass on, and lists only this tenant's members and open invitations.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from rathaus.api.deps import ServicesDep
from rathaus.api.errors import ApiError
from rathaus.identity import directory, invitations
from rathaus.identity.api_keys import issue_key, revoke_key
from rathaus.identity.models import ApiKey, Role, Tenant
from rathaus.identity.principal import Principal
from rathaus.mail import MailFailed, mail_configured, send_mail
from rathaus.services import Services
from rathaus.store.tenancy import get_or_404
from rathaus.web.forms import CheckedForm
from rathaus.web.pages import PagePrincipal, page_translator, render

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/admin", include_in_schema=False)
ROLES = [r.value for r in Role]
MAX_DAYS = 3650
MAX_WIDGET_MESSAGES = 1_000_000


def require_admin(principal: Principal) -> None:
    if not principal.has_role(Role.admin):
        raise ApiError(403, "The administration pages need the role 'admin'.", "forbidden")


def _field(form: CheckedForm, name: str, limit: int = 254) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _role(form: CheckedForm) -> Role:
    value = _field(form, "role", 20)
    if value not in ROLES:
        raise ApiError(422, f"Unknown role '{value}'.", "invalid_role", "role")
    return Role(value)


def _role_options(request: Request) -> list[tuple[str, str]]:
    t = page_translator(request)
    return [(role, t(f"role.{role}")) for role in ROLES]


def _link_shown(
    request: Request, services: Services, principal: Principal, email: str, role: Role, token: str
) -> HTMLResponse:
    """The users page with a new invitation link, shown this once (the page is not cached); with a mail
    server set up, the link also goes to the person by e-mail."""
    link = f"{str(request.base_url).rstrip('/')}/join/{token}"
    days = services.settings.invitation_days
    mailed = ""
    if mail_configured(services.settings):
        t = page_translator(request)
        with services.db.session(principal.tenant_id) as session:
            tenant = session.get_one(Tenant, principal.tenant_id).name
        body = t("admin.mail.body", tenant=tenant, role=t(f"role.{role.value}"), link=link, days=days)
        try:
            send_mail(services.settings, [email], t("admin.mail.subject", tenant=tenant), body)
            mailed = "sent"
        except MailFailed as exc:
            logger.warning("invitation e-mail to %s not sent: %s", email, exc)
            mailed = "failed"
    response = _users_page(
        request, services, principal, new_link=link, new_link_email=email, link_days=days, mailed=mailed
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _users_page(
    request: Request, services: Services, principal: Principal, status: int = 200, **extra: Any
) -> HTMLResponse:
    with services.db.session(principal.tenant_id) as session:
        rows = [
            {"id": u.id, "email": u.email, "name": u.name, "role": r.value, "me": u.id == principal.user_id}
            for u, r in directory.members(session)
        ]
        invited = invitations.sent(session)
    return render(
        request,
        "admin_users.html",
        status,
        members=rows,
        invitations=invited,
        roles=_role_options(request),
        **extra,
    )


@router.get("/users")
def users_page(
    request: Request, principal: PagePrincipal, services: ServicesDep, done: str = ""
) -> HTMLResponse:
    """The tenant's people with their roles; add, change a role, remove."""
    require_admin(principal)
    return _users_page(request, services, principal, done=done)


@router.post("/users", response_model=None)
def add_user(
    request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Invite a person and show the link to pass on; the answer is the same whether or not the address
    already has an account."""
    require_admin(principal)
    t = page_translator(request)
    email, name = _field(form, "email"), _field(form, "name", 200)
    role = _role(form)
    days = services.settings.invitation_days
    try:
        with services.db.session(principal.tenant_id) as session:
            token = invitations.invite(session, email, role, name, principal.user_id, days)
    except invitations.InvitationRefused as exc:
        values = {"email": email, "name": name, "role": role.value}
        error = t(f"admin.users.refused.{exc.reason}")
        return _users_page(request, services, principal, 422, error=error, values=values)
    return _link_shown(request, services, principal, email.strip().lower(), role, token)


@router.post("/invitations/{invitation_id}/renew")
def renew_invitation(
    invitation_id: str, request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> HTMLResponse:
    """A new link for an open (or expired) invitation; the old link stops working."""
    require_admin(principal)
    with services.db.session(principal.tenant_id) as session:
        email, role, token = invitations.renew(session, invitation_id, services.settings.invitation_days)
    return _link_shown(request, services, principal, email, role, token)


@router.post("/invitations/{invitation_id}/withdraw")
def withdraw_invitation(
    invitation_id: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> RedirectResponse:
    """Withdraw an open invitation of this tenant; another tenant's is not found."""
    require_admin(principal)
    invitations.withdraw(services.db, principal.tenant_id, invitation_id)
    return RedirectResponse("/admin/users?done=withdrawn", status_code=303)


@router.post("/users/{user_id}/role", response_model=None)
def change_role(
    user_id: str, request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Give a member another role."""
    require_admin(principal)
    return _member_change(
        request, services, principal, lambda s: directory.change_role(s, user_id, _role(form)), "role"
    )


@router.post("/users/{user_id}/remove", response_model=None)
def remove_user(
    user_id: str, request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Remove a person from the tenant; their logins here end at once."""
    require_admin(principal)
    return _member_change(
        request, services, principal, lambda s: directory.remove_member(s, user_id), "removed"
    )


def _member_change(
    request: Request, services: Services, principal: Principal, change: Any, done: str
) -> Response:
    t = page_translator(request)
    try:
        with services.db.session(principal.tenant_id) as session:
            change(session)
    except directory.LastAdmin:
        return _users_page(request, services, principal, 409, error=t("admin.users.last_admin"))
    return RedirectResponse(f"/admin/users?done={done}", status_code=303)


def _keys_page(
    request: Request, services: Services, principal: Principal, status: int = 200, **extra: Any
) -> HTMLResponse:
    with services.db.session(principal.tenant_id) as session:
        keys = [
            {
                "id": k.id,
                "name": k.name,
                "prefix": k.prefix,
                "role": k.role.value,
                "created_at": k.created_at,
                "last_used_at": k.last_used_at,
                "revoked": k.revoked_at is not None,
            }
            for k in session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc()))
        ]
    return render(request, "admin_keys.html", status, keys=keys, roles=_role_options(request), **extra)


@router.get("/keys")
def keys_page(
    request: Request, principal: PagePrincipal, services: ServicesDep, done: str = ""
) -> HTMLResponse:
    """The tenant's API keys: create (shown once) and revoke."""
    require_admin(principal)
    return _keys_page(request, services, principal, done=done)


@router.post("/keys")
def create_key(
    request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> HTMLResponse:
    """Create a key and show it this once (the page is not cached and the key not stored)."""
    require_admin(principal)
    name = _field(form, "name", 200)
    if not name:
        t = page_translator(request)
        return _keys_page(request, services, principal, 422, error=t("admin.keys.name_missing"))
    with services.db.session(principal.tenant_id) as session:
        issued = issue_key(session, name, _role(form), created_by=principal.user_id)
        token = issued.token
    response = _keys_page(request, services, principal, new_key=token, new_key_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/keys/{key_id}/revoke")
def revoke(
    key_id: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> RedirectResponse:
    """Revoke a key; it stops working at once."""
    require_admin(principal)
    with services.db.session(principal.tenant_id) as session:
        revoke_key(get_or_404(session, ApiKey, key_id))
    return RedirectResponse("/admin/keys?done=revoked", status_code=303)


def _reference_options(request: Request, services: Services) -> list[tuple[str, str]]:
    """The choices for the reference model: the installation's default, then every chat model."""
    t = page_translator(request)
    default = services.gateway.costing.reference()
    options = [("", t("admin.settings.reference.default", model=default.id if default else "–"))]
    chat = sorted((p for p in services.catalogue.profiles() if p.can("chat")), key=lambda p: (p.tier, p.id))
    return options + [
        (p.id, t("admin.settings.reference.option", model=p.title or p.id, tier=p.tier)) for p in chat
    ]


def _settings_page(
    request: Request,
    references: list[tuple[str, str]],
    values: dict[str, str],
    errors: dict[str, str],
    done: str = "",
) -> HTMLResponse:
    return render(
        request,
        "admin_settings.html",
        422 if errors else 200,
        values=values,
        errors=errors,
        done=done,
        max_days=MAX_DAYS,
        max_widget_messages=MAX_WIDGET_MESSAGES,
        references=references,
    )


@router.get("/settings")
def settings_page(
    request: Request, principal: PagePrincipal, services: ServicesDep, done: str = ""
) -> HTMLResponse:
    """The tenant's settings: how long conversations are kept, the model savings are compared with, how many
    messages the chatbots answer a day."""
    require_admin(principal)
    with services.db.session(principal.tenant_id) as session:
        tenant = session.get(Tenant, principal.tenant_id)
        days, reference, quota = (
            (tenant.conversation_days, tenant.reference_model, tenant.widget_daily_messages)
            if tenant
            else (30, None, 0)
        )
    values = {
        "conversation_days": str(days),
        "reference_model": reference or "",
        "widget_daily_messages": str(quota),
    }
    return _settings_page(request, _reference_options(request, services), values, {}, done)


@router.post("/settings", response_model=None)
def save_settings(
    request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Save the settings; conversations older than the new limit are deleted at the next purge."""
    require_admin(principal)
    t = page_translator(request)
    values = {
        "conversation_days": _field(form, "conversation_days", 10),
        "reference_model": _field(form, "reference_model", 100),
        "widget_daily_messages": _field(form, "widget_daily_messages", 10),
    }
    errors: dict[str, str] = {}
    days = values["conversation_days"]
    if not (days.isascii() and days.isdigit()) or int(days) > MAX_DAYS:
        errors["conversation_days"] = t("admin.settings.invalid", max=MAX_DAYS)
    quota = values["widget_daily_messages"]
    quota_sent = form.get("widget_daily_messages") is not None  # older forms and scripts may leave it out
    if quota_sent and (not (quota.isascii() and quota.isdigit()) or int(quota) > MAX_WIDGET_MESSAGES):
        errors["widget_daily_messages"] = t("admin.settings.widget_quota.invalid")
    references = _reference_options(request, services)
    if values["reference_model"] not in {value for value, _ in references}:
        errors["reference_model"] = t("admin.settings.reference.invalid")
    if errors:
        return _settings_page(request, references, values, errors)
    with services.db.system_session() as session:
        tenant = session.get(Tenant, principal.tenant_id)
        if tenant is not None:
            tenant.conversation_days = int(days)
            tenant.reference_model = values["reference_model"] or None
            if quota_sent:
                tenant.widget_daily_messages = int(quota)
    services.gateway.forget_reference(principal.tenant_id)
    return RedirectResponse("/admin/settings?done=saved", status_code=303)
