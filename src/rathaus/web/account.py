"""The person's own account: changing the password (also the required first change)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rathaus.api.deps import ServicesDep
from rathaus.identity.credentials import PasswordChangeRefused, change_password
from rathaus.identity.login import COOKIE_NAME
from rathaus.identity.passwords import MIN_LENGTH, WeakPassword
from rathaus.web.forms import CheckedForm
from rathaus.web.pages import PASSWORD_PAGE, PagePrincipal, page_translator, render

router = APIRouter(include_in_schema=False)
FIELDS = ("current", "new", "repeated")


def _secret(form: CheckedForm, name: str) -> str:
    value = form.get(name)
    return value[:1000] if isinstance(value, str) else ""


@router.get(PASSWORD_PAGE)
def password_page(request: Request, principal: PagePrincipal, done: str = "") -> HTMLResponse:
    """The form to change one's password; says why when the change is required."""
    response = render(
        request,
        "account_password.html",
        required=principal.must_change_password,
        done=done == "changed",
        errors={},
        min_length=MIN_LENGTH,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(PASSWORD_PAGE, response_model=None)
def change(request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm) -> Response:
    """Change the password; the person's other login sessions end, this one stays."""
    t = page_translator(request)
    current, new, repeated = (_secret(form, name) for name in FIELDS)
    cookie = request.cookies.get(COOKIE_NAME, "")
    errors: dict[str, str] = {}
    try:
        with services.db.system_session() as session:
            change_password(
                session,
                principal.user_id or "",
                current,
                new,
                repeated,
                services.cookies.session_hash(cookie),
            )
    except PasswordChangeRefused as exc:
        field = "current" if exc.code == "wrong_current" else "repeated" if exc.code == "mismatch" else "new"
        errors[field] = t(f"password.refused.{exc.code}")
    except WeakPassword as exc:
        errors["new"] = t(f"password.weak.{exc.code}", min=MIN_LENGTH)
    if errors:
        return render(
            request,
            "account_password.html",
            422,
            required=principal.must_change_password,
            done=False,
            errors=errors,
            min_length=MIN_LENGTH,
        )
    return RedirectResponse(f"{PASSWORD_PAGE}?done=changed", status_code=303)
