"""Web pages: login, logout, language switch and the assistant list. Handlers stay thin."""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from rathaus.api.deps import ServicesDep, cookie_principal, set_session_cookie
from rathaus.api.errors import ApiError
from rathaus.assistants import registry
from rathaus.identity.invitations import PendingInvitation
from rathaus.identity.login import (
    COOKIE_NAME,
    InvitationPending,
    LoginBusy,
    LoginFailed,
    LoginThrottled,
    attempt_login,
)
from rathaus.identity.models import Role, Tenant, User
from rathaus.identity.principal import Principal
from rathaus.web import formatting, units
from rathaus.web.forms import CheckedForm, form_token, same_origin
from rathaus.web.i18n import COOKIE as LANG_COOKIE
from rathaus.web.i18n import LANGUAGES, MESSAGES, language, translator

router = APIRouter(include_in_schema=False)


@functools.cache
def templates() -> Jinja2Templates:
    """The page templates (autoescaped); a city can override them by name later."""
    pages = Jinja2Templates(directory=str(files("rathaus.web").joinpath("templates")))
    pages.env.globals.update(
        wh=units.energy, grams=units.grams, euros=units.euros, number=units.number, whole=units.whole
    )
    pages.env.globals.update(counted=formatting.count_text)
    formatting.install(pages.env)
    return pages


class LoginRequired(Exception):
    """The page needs a logged-in user; the handler redirects to the login page."""


class PasswordChangeRequired(Exception):
    """Someone else chose the person's password; the handler sends them to choose their own first."""


PASSWORD_PAGE = "/account/password"


def safe_next(target: str | None) -> str:
    """Only local paths: a login link can never send someone to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/assistants"


def page_principal(request: Request, services: ServicesDep) -> Principal:
    """The logged-in user of a page (cookie only; pages are for people, not API keys)."""
    principal = cookie_principal(request, services)
    if principal is None:
        raise LoginRequired
    request.state.principal = principal
    if principal.must_change_password and request.url.path != PASSWORD_PAGE:
        raise PasswordChangeRequired
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def page_messages(request: Request) -> dict[str, str]:
    """Every interface text in the language the person chose, by key."""
    return MESSAGES[language(request.cookies.get(LANG_COOKIE))]


def page_translator(request: Request) -> Callable[..., str]:
    """`t(key, **values)` in the language the person chose (German by default)."""
    return translator(language(request.cookies.get(LANG_COOKIE)))


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with the language, translator and current path."""
    lang = language(request.cookies.get(LANG_COOKIE))
    principal: Principal | None = getattr(request.state, "principal", None)
    t = translator(lang)
    base = {
        "lang": lang,
        "t": t,
        "tn": functools.partial(formatting.count_text, t),
        "path": request.url.path,
        "csrf": form_token(request, request.app.state.services),
        "can_build": principal is not None and principal.has_role(Role.builder),
        "is_admin": principal is not None and principal.has_role(Role.admin),
    }
    return templates().TemplateResponse(request, template, {**base, **context}, status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An error as a page of the web interface (the API answers in its own formats): what happened in the
    page's language, and for errors other than "not allowed" and "not found" the technical message folded
    away for IT."""
    t = page_translator(request)
    title = t(f"error.{status}") if status in (403, 404) else t("error.title")
    said = page_messages(request).get(f"error.{status}.text") or t("error.text")
    detail = message if status not in (403, 404) else ""  # what went wrong, for IT (not translated)
    return render(request, "error.html", status, title=title, message=said, detail=detail)


@router.get("/")
def home() -> RedirectResponse:
    """The start page is the assistant list."""
    return RedirectResponse("/assistants", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The login form."""
    return render(request, "login.html", next=safe_next(next))


@router.post("/login", response_model=None)
async def login_submit(
    request: Request,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1000)],
    tenant: Annotated[str, Form(max_length=63)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/assistants",
) -> Response:
    """Check the password; on success set the session cookie and go on, else show the form again."""
    if not same_origin(request):
        raise ApiError(403, "Log in from this site's own login page.", "csrf")
    t = page_translator(request)
    client = request.client.host if request.client else "unknown"
    settings = services.settings
    error, status = None, 200
    try:
        outcome = await run_in_threadpool(
            attempt_login,
            services.db,
            services.cookies,
            services.login_throttle,
            email,
            password,
            tenant or None,
            client,
            settings.session_hours,
        )
    except LoginThrottled as exc:
        error, status = t("login.throttled", seconds=exc.retry_after), 429
    except LoginBusy:
        error, status = t("login.busy"), 503
    except LoginFailed:
        error, status = t("login.failed"), 401
    except InvitationPending as exc:
        return ticket_page(request, exc.ticket, exc.invitations, next)
    if error is not None:
        return render(request, "login.html", status, error=error, email=email, next=next)
    # waiting invitations are shown first, so nobody misses them (they grant nothing until accepted)
    target = f"/invitations?next={quote(safe_next(next))}" if outcome.invitations else safe_next(next)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, outcome.cookie, settings.session_hours)
    return response


def ticket_page(request: Request, ticket: str, pending: list[PendingInvitation], next: str) -> HTMLResponse:
    """The invitations of a person who gave the right password but may not enter the tenant yet.

    Accepting one there completes the login (`web.invitations`); the ticket proves the password.
    """
    response = render(
        request, "invitations.html", invitations=pending, tenants=[], ticket=ticket, next=safe_next(next)
    )
    response.headers["Cache-Control"] = "no-store"  # the ticket completes a login for a few minutes
    return response


@router.post("/logout")
def logout(request: Request, services: ServicesDep, form: CheckedForm) -> RedirectResponse:
    """End the session and return to the login page."""
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        with services.db.system_session() as session:
            services.cookies.logout(session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@router.get("/language/{code}")
def switch_language(code: str, request: Request, next: str | None = None) -> RedirectResponse:
    """Remember the chosen language and go back."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


@router.get("/assistants")
def assistants_page(
    request: Request, principal: PagePrincipal, services: ServicesDep, q: str = ""
) -> HTMLResponse:
    """The assistants the user may see, with search."""
    with services.db.session(principal.tenant_id) as session:
        found = registry.listing(session, principal, q[:200])
        user = session.get(User, principal.user_id) if principal.user_id else None
        tenant = session.get(Tenant, principal.tenant_id)
        context: dict[str, Any] = {
            "assistants": [
                {"name": a.name, "title": a.title, "visibility": a.visibility, "version": a.current_version}
                for a in found
            ],
            "q": q,
            "user_email": user.email if user else "",
            "tenant_name": tenant.name if tenant else "",
            "role": principal.role.value,
        }
    return render(request, "assistants.html", **context)


def login_redirect(request: Request) -> RedirectResponse:
    """Where a page without a session sends the browser."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
