"""One error format per API: OpenAI-style JSON under /v1, problem JSON (RFC 9457) under /api.

Handlers translate domain exceptions into the caller's format, so routes never build error bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rathaus.accounting.budgets import BudgetExhausted
from rathaus.formats.documents import DocumentError
from rathaus.identity.directory import Conflict
from rathaus.identity.visibility import Forbidden
from rathaus.llm.backend import BackendError, ModelBusy
from rathaus.llm.catalogue import UnknownModel
from rathaus.routing.gateway import UnsupportedRequest
from rathaus.routing.router import NoEligibleModel
from rathaus.store.tenancy import NotFound

logger = logging.getLogger(__name__)

OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class ApiError(Exception):
    """An error a caller caused or must know about, with its HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


def error_response(
    path: str,
    status: int,
    message: str,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """An error body in the format of the API that `path` belongs to."""
    if path.startswith("/v1"):
        body: dict[str, Any] = {
            "error": {
                "message": message,
                "type": OPENAI_TYPES.get(
                    status, "server_error" if status >= 500 else "invalid_request_error"
                ),
                "param": param,
                "code": code,
                **(extra or {}),
            }
        }
        return JSONResponse(body, status_code=status, headers=headers)
    problem: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": message,
        **(extra or {}),
    }
    if code:
        problem["code"] = code
    return JSONResponse(problem, status_code=status, headers=headers, media_type="application/problem+json")


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None, bool]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return "The request body is not valid JSON.", None, True
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", []) if p != "body"]
    param = ".".join(loc) or None
    return f"{param or 'request'}: {first.get('msg', 'invalid value')}", param, False


PageError = Callable[[Request, int, str], Response]
API_PREFIXES = ("/v1", "/api", "/static", "/healthz", "/readyz", "/metrics")


def _wants_page(request: Request) -> bool:
    """A browser navigating to a page (not an API call or a script's fetch) gets an HTML error page."""
    path = request.url.path
    return not path.startswith(API_PREFIXES) and "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI, page_error: PageError | None = None) -> None:
    """Register the translations from exceptions to error responses (`page_error` renders them for pages)."""

    def respond(
        request: Request,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Response:
        if page_error is not None and _wants_page(request):
            return page_error(request, status, message)
        return error_response(request.url.path, status, message, code, param, headers, extra)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        headers = {"WWW-Authenticate": "Bearer", **exc.headers} if exc.status == 401 else exc.headers
        return respond(request, exc.status, exc.message, exc.code, exc.param, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        message, param, malformed = _validation_message(exc)
        status = 400 if malformed or request.url.path.startswith("/v1") else 422
        return respond(request, status, message, "invalid_json" if malformed else None, param)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return respond(request, 404, str(exc), "not_found")

    @app.exception_handler(UnknownModel)
    async def _unknown_model(request: Request, exc: UnknownModel) -> Response:
        return respond(request, 404, str(exc), "model_not_found", "model")

    @app.exception_handler(BudgetExhausted)
    async def _budget(request: Request, exc: BudgetExhausted) -> Response:
        return respond(request, 429, str(exc), "budget_exhausted")

    @app.exception_handler(NoEligibleModel)
    async def _no_model(request: Request, exc: NoEligibleModel) -> Response:
        return respond(request, 422, str(exc), "no_eligible_model")

    @app.exception_handler(UnsupportedRequest)
    async def _unsupported(request: Request, exc: UnsupportedRequest) -> Response:
        return respond(request, 400, str(exc), "unsupported")

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> Response:
        return respond(request, 409, str(exc), "conflict")

    @app.exception_handler(BackendError)
    async def _backend(request: Request, exc: BackendError) -> Response:
        retry = getattr(exc, "retry_after_s", None)
        headers = {"Retry-After": str(retry)} if retry else None
        code = {400: "invalid_model_request", 503: "model_unavailable"}.get(exc.status_code, "model_error")
        if isinstance(exc, ModelBusy):
            code = "model_busy"
        return respond(request, exc.status_code, str(exc), code, headers=headers)

    @app.exception_handler(DataError)
    async def _bad_value(request: Request, exc: DataError) -> Response:
        logger.info("database refused a value on %s: %s", request.url.path, exc.orig)
        message = "The request contains a value the database cannot store (for example a NUL character)."
        return respond(request, 400, message, "invalid_value")

    @app.exception_handler(DocumentError)
    async def _document(request: Request, exc: DocumentError) -> Response:
        problems = [p.__dict__ for p in exc.problems]
        return respond(request, 422, str(exc), "invalid_document", extra={"problems": problems})

    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, exc: RecursionError) -> Response:
        return respond(request, 400, "The request body is nested too deeply.", "too_deep")

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return respond(request, 403, str(exc), "forbidden")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        message = "An unexpected error occurred; it has been logged for the operator."
        return respond(request, 500, message, "internal_error")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return respond(request, exc.status_code, str(exc.detail))
