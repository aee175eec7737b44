"""Protection of the pages' HTML forms against cross-site requests.

Every form of a logged-in page carries a token bound to the login session (`csrf`); a post without
the right token is refused. The login form has no session yet: it accepts posts only from its own
origin. Session cookies are also `SameSite=Lax`, so this is the second line of defence.
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData

from rathaus.api.deps import ServicesDep
from rathaus.api.errors import ApiError
from rathaus.identity.login import COOKIE_NAME
from rathaus.services import Services

FIELD = "csrf"


def form_token(request: Request, services: Services) -> str:
    """The token for the forms of this page; empty when nobody is logged in."""
    cookie = request.cookies.get(COOKIE_NAME)
    return services.cookies.form_token(cookie) if cookie else ""


def same_origin(request: Request) -> bool:
    """Whether the browser says the request comes from this site (non-browsers say nothing and pass)."""
    origin = request.headers.get("origin")
    if origin is not None:
        return urlsplit(origin).netloc == request.headers.get("host")
    return request.headers.get("sec-fetch-site") in (None, "same-origin", "none")


async def checked_form(request: Request, services: ServicesDep) -> FormData:
    """The posted form, after checking its token; 403 when it is missing or wrong."""
    form = await request.form()
    expected = form_token(request, services)
    sent = form.get(FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise ApiError(
            403, "The form has expired or came from another site. Reload the page and try again.", "csrf"
        )
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
