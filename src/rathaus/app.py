"""The web application: `create_app(settings)` wires services, APIs and error handling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from rathaus import __version__
from rathaus.api import assistants_api, health, identity_api, knowledge_api, openai_api, workflows_api
from rathaus.api import chatbots_api as widget_api
from rathaus.api.errors import install_error_handlers
from rathaus.api.limits import BodyLimit
from rathaus.api.proxies import TrustedProxies
from rathaus.api.security_headers import SecurityHeaders
from rathaus.housekeeping import run_regularly
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.web import (
    account,
    admin,
    budgets,
    builder,
    catalogue,
    chat,
    chatbots,
    invitations,
    knowledge,
    pages,
    usage,
    workflows,
)

KEEP_ALIVE_S = 75  # longer than nginx's upstream default (60 s) and any client pool's idle time


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How `rathaus serve` runs Uvicorn: forwarding headers are left to the app (`TrustedProxies`),
    which believes only RATHAUS_TRUSTED_PROXIES, where Uvicorn would believe any peer on loopback. Idle
    connections stay open longer than clients and proxies keep them (Uvicorn's 5 seconds equal httpx's:
    a request sent as the server closes the connection is lost, seen in the soak as dropped requests)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "proxy_headers": False,
        "timeout_keep_alive": KEEP_ALIVE_S,
    }


def app_from_environment() -> FastAPI:
    """The app for the settings in the environment: what each worker process of `rathaus serve --workers`
    builds for itself."""
    from rathaus.memory import limit_arenas
    from rathaus.settings import load_settings

    limit_arenas()
    return create_app(load_settings())


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """A FastAPI app for these settings; builds its services unless given ones (tests)."""
    built = services or Services.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        housekeeping = None
        if services is None:  # a real server: continue what a stopped one left, then keep house
            built.knowledge.resume()
            built.gateway.budgets.sweep()  # budget reservations of requests a stopped server left open
            built.workflows.executor.start()
            housekeeping = asyncio.create_task(run_regularly(built.db))
        yield
        if housekeeping is not None:
            housekeeping.cancel()
        if services is None:
            built.close()

    app = FastAPI(
        title="Rathaus",
        version=__version__,
        description="Open AI platform for municipal administrations. OpenAI-compatible API under /v1.",
        lifespan=lifespan,
        license_info={"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
    )
    app.state.services = built
    install_error_handlers(app, pages.error_page)
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_request_bytes, upload_bytes=settings.max_upload_bytes
    )
    api_docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(SecurityHeaders, api_docs_paths=api_docs)  # also on the body limit's 413
    app.add_middleware(TrustedProxies, proxies=settings.trusted_proxies)  # outermost: all see the client
    app.include_router(health.router)
    app.include_router(openai_api.router)
    app.include_router(identity_api.router)
    app.include_router(assistants_api.router)
    app.include_router(knowledge_api.router)
    app.include_router(workflows_api.router)
    app.include_router(widget_api.router)
    app.include_router(pages.router)
    app.include_router(chat.router)
    app.include_router(builder.router)
    app.include_router(admin.router)
    app.include_router(invitations.router)
    app.include_router(account.router)
    app.include_router(usage.router)
    app.include_router(catalogue.router)
    app.include_router(budgets.router)
    app.include_router(knowledge.router)
    app.include_router(workflows.router)
    app.include_router(chatbots.router)
    app.mount("/static", StaticFiles(directory=str(files("rathaus.web").joinpath("static"))), name="static")

    @app.exception_handler(pages.LoginRequired)
    async def _login_required(request: Request, exc: pages.LoginRequired) -> RedirectResponse:
        return pages.login_redirect(request)

    @app.exception_handler(pages.PasswordChangeRequired)
    async def _password_change(request: Request, exc: pages.PasswordChangeRequired) -> RedirectResponse:
        return RedirectResponse(pages.PASSWORD_PAGE, status_code=303)

    return app
