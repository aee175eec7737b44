"""The invited person's side of an invitation: see it, accept it or decline it.

Three ways in. The invitation link (/join/TOKEN) lets a person without a password choose one, which
accepts the invitation and logs them in; a person with an account is asked to log in. A logged-in person
opens /invitations (forms carry the session's token). A person whose only way into a tenant is an
invitation gets no session at the login; the login page shows the invitations with a short-lived ticket
instead, and accepting one there completes the login.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rathaus.api.deps import ServicesDep, set_session_cookie
from rathaus.api.errors import ApiError
from rathaus.identity import invitations
from rathaus.identity.directory import memberships_of
from rathaus.identity.models import User
from rathaus.identity.passwords import MIN_LENGTH, WeakPassword
from rathaus.services import Services
from rathaus.web.forms import CheckedForm, same_origin
from rathaus.web.pages import PagePrincipal, page_translator, render, safe_next, ticket_page

router = APIRouter(include_in_schema=False)
DONE = ("accepted", "declined")


@router.get("/invitations")
def invitations_page(
    request: Request, principal: PagePrincipal, services: ServicesDep, done: str = "", next: str = ""
) -> HTMLResponse:
    """The person's open invitations and the tenants they belong to, the home tenant marked."""
    user_id = principal.user_id or ""
    with services.db.system_session() as session:
        pending = invitations.pending_for(session, user_id)
        user = session.get(User, user_id)
        tenants = [
            {"slug": t.slug, "name": t.name, "role": r.value, "current": t.id == principal.tenant_id}
            for t, r in (memberships_of(session, user) if user else [])
        ]
    return render(
        request,
        "invitations.html",
        invitations=pending,
        tenants=tenants,
        done=done if done in DONE else "",
        next=safe_next(next),
    )


@router.post("/invitations/{invitation_id}/accept")
def accept(
    invitation_id: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> RedirectResponse:
    """Accept an invitation; the person works there after logging in with that tenant."""
    with services.db.system_session() as session:
        invitations.accept(session, principal.user_id or "", invitation_id)
    return RedirectResponse("/invitations?done=accepted", status_code=303)


@router.post("/invitations/{invitation_id}/decline")
def decline(
    invitation_id: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> RedirectResponse:
    """Decline an invitation; the inviting tenant's administrators see it disappear."""
    with services.db.system_session() as session:
        invitations.decline(session, principal.user_id or "", invitation_id)
    return RedirectResponse("/invitations?done=declined", status_code=303)


def _ticket_user(request: Request, services: Services, ticket: str) -> str | None:
    if not same_origin(request):
        raise ApiError(403, "Decide on invitations from this site's own login page.", "csrf")
    return services.cookies.ticket_user(ticket)


def _expired(request: Request) -> HTMLResponse:
    return render(request, "login.html", 401, error=page_translator(request)("login.ticket_expired"))


@router.post("/login/invitations/{invitation_id}/accept", response_model=None)
def accept_at_login(
    invitation_id: str,
    request: Request,
    services: ServicesDep,
    ticket: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form(max_length=2000)] = "/assistants",
) -> Response:
    """Accept an invitation at the login and log in to that tenant."""
    user_id = _ticket_user(request, services, ticket)
    if user_id is None:
        return _expired(request)
    hours = services.settings.session_hours
    with services.db.system_session() as session:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            return _expired(request)
        tenant, _role = invitations.accept(session, user_id, invitation_id)
        cookie = services.cookies.open_session(session, user_id, tenant.id, hours)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, request, cookie, hours)
    return response


@router.post("/login/invitations/{invitation_id}/decline", response_model=None)
def decline_at_login(
    invitation_id: str,
    request: Request,
    services: ServicesDep,
    ticket: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form(max_length=2000)] = "/assistants",
) -> Response:
    """Decline an invitation at the login; what is left to decide is shown again."""
    user_id = _ticket_user(request, services, ticket)
    if user_id is None:
        return _expired(request)
    with services.db.system_session() as session:
        gone = invitations.decline(session, user_id, invitation_id)
        pending = [] if gone else invitations.pending_for(session, user_id)
    if pending:
        return ticket_page(request, ticket, pending, next)
    notice = page_translator(request)("login.declined")
    return render(request, "login.html", notice=notice, next=safe_next(next))


def _link_page(request: Request, token: str, status: int = 200, **context: object) -> HTMLResponse:
    response = render(request, "join.html", status, token=token, min_length=MIN_LENGTH, **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/join/{token}")
def link_page(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """What an invitation link opens: choose a password, or log in with the account one has."""
    try:
        with services.db.system_session() as session:
            linked = invitations.open_link(session, token[:100])
    except invitations.LinkInvalid as exc:
        return _link_page(request, "", 410 if exc.reason == "expired" else 404, invalid=exc.reason)
    return _link_page(request, token, invitation=linked, errors={})


@router.post("/join/{token}", response_model=None)
def choose_password(
    token: str,
    request: Request,
    services: ServicesDep,
    password: Annotated[str, Form(max_length=1000)] = "",
    repeated: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Set the first password through the link, accept the invitation and log in."""
    if not same_origin(request):
        raise ApiError(403, "Choose the password on this site's own page.", "csrf")
    t = page_translator(request)
    hours = services.settings.session_hours
    errors: dict[str, str] = {}
    try:
        with services.db.system_session() as session:
            linked = invitations.open_link(session, token[:100])
            if password != repeated:
                errors["repeated"] = t("password.refused.mismatch")
            else:
                user_id, tenant_id = invitations.claim(session, token[:100], password)
                cookie = services.cookies.open_session(session, user_id, tenant_id, hours)
    except invitations.LinkInvalid as exc:
        return _link_page(request, "", 410 if exc.reason == "expired" else 404, invalid=exc.reason)
    except invitations.PasswordNotHere:
        return RedirectResponse(f"/join/{token[:100]}", status_code=303)
    except WeakPassword as exc:
        errors["password"] = t(f"password.weak.{exc.code}", min=MIN_LENGTH)
    if errors:
        return _link_page(request, token, 422, invitation=linked, errors=errors)
    response = RedirectResponse("/assistants", status_code=303)
    set_session_cookie(response, request, cookie, hours)
    return response
