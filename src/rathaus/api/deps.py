"""Request dependencies: the shared services, the authenticated principal, role checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from rathaus.api.errors import ApiError
from rathaus.identity.api_keys import authenticate_key
from rathaus.identity.login import COOKIE_NAME
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SCRIPT_HEADER = "X-Rathaus-CSRF"  # another site's form cannot send a custom header
FINISHING = 8  # threads that commit or roll back handlers' transactions


def get_services(request: Request) -> Services:
    """The services of the running app."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def cookie_principal(request: Request, services: Services) -> Principal | None:
    """The person behind the session cookie, if any and still valid."""
    cookie = request.cookies.get(COOKIE_NAME)
    if not cookie:
        return None
    with services.db.system_session() as session:
        return services.cookies.authenticate(session, cookie)


def set_session_cookie(response: Response, request: Request, cookie: str, hours: int) -> None:
    """The session cookie: HTTP only, same-site lax, secure behind HTTPS."""
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=hours * 3600,
        path="/",
    )


def require_script_header(request: Request) -> None:
    """A change made with the session cookie must carry the script header; 403 otherwise.

    Another site's form cannot send a custom header, and its scripts may only with a CORS permission
    Rathaus never gives for it, so no other site can act with a logged-in browser. Bearer API keys and
    requests without the cookie are not concerned.
    """
    if request.method in SAFE_METHODS or request.headers.get("authorization"):
        return
    if request.cookies.get(COOKIE_NAME) and request.headers.get(SCRIPT_HEADER) != "1":
        raise ApiError(403, f"Changes with a login cookie need the header '{SCRIPT_HEADER}: 1'.", "csrf")


ScriptHeaderChecked = Depends(require_script_header)


def get_principal(request: Request, services: ServicesDep) -> Principal:
    """The caller: a bearer API key, else a session cookie; 401 when neither is valid.

    With a cookie, changing requests must carry the script header (`require_script_header`).
    """
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Use 'Authorization: Bearer <API key>'.", "invalid_authorization")
        with services.db.system_session() as session:
            principal = authenticate_key(session, token.strip())
        if principal is None:
            raise ApiError(401, "The API key is unknown or revoked.", "invalid_api_key")
        return principal
    principal = cookie_principal(request, services)
    if principal is not None:
        require_script_header(request)
        return principal
    raise ApiError(
        401, "Authentication required: send an API key as a bearer token or log in.", "unauthenticated"
    )


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(role: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only callers with at least `role` through."""

    def check(principal: PrincipalDep) -> Principal:
        if not principal.has_role(role):
            raise ApiError(403, f"This needs the role '{role.value}' in this tenant.", "forbidden")
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require_role(Role.admin))]


async def get_tenant_session(
    request: Request, principal: PrincipalDep, services: ServicesDep
) -> AsyncIterator[Session]:
    """A database session scoped to the caller's tenant, committed after the handler; read-only for GET.

    The handler's first statement begins the transaction in the handler's worker thread. Ending it must not
    wait for one of the shared worker threads: under load all of them can be waiting for the database's
    write lock — the lock this very transaction holds (SQLite) — and nothing would move for half a minute.
    So the commit has threads of its own (`FINISHING`).
    """
    scope = services.db.scope(principal.tenant_id, read_only=request.method in SAFE_METHODS)
    try:
        yield scope.session
    except BaseException:
        await to_thread.run_sync(scope.finish, False, limiter=_finishing())
        raise
    await to_thread.run_sync(scope.finish, True, limiter=_finishing())


_limiters: dict[int, CapacityLimiter] = {}


def _finishing() -> CapacityLimiter:
    """The threads that end transactions, apart from the shared worker threads (one set per event loop)."""
    loop = id(asyncio.get_running_loop())
    if loop not in _limiters:
        _limiters.clear()  # an earlier event loop (tests) has ended
        _limiters[loop] = CapacityLimiter(FINISHING)
    return _limiters[loop]


TenantSessionDep = Annotated[Session, Depends(get_tenant_session)]
