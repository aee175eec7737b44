"""The web application: `create_app(settings)` wires services, APIs and error handling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from rathaus import __version__
from rathaus.api import assistants_api, health, identity_api, knowledge_api, openai_api, workflows_api
from rathaus.api.errors import install_error_handlers
from rathaus.api.limits import BodyLimit
from rathaus.chatbots import api as widget_api
from rathaus.housekeeping import run_regularly
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.web import admin, budgets, builder, chat, chatbots, knowledge, pages, usage, workflows


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """A FastAPI app for these settings; builds its services unless given ones (tests)."""
    built = services or Services.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        housekeeping = None
        if services is None:  # a real server: continue what a stopped one left, then keep house
            built.knowledge.resume()
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
    app.include_router(usage.router)
    app.include_router(budgets.router)
    app.include_router(knowledge.router)
    app.include_router(workflows.router)
    app.include_router(chatbots.router)
    app.mount("/static", StaticFiles(directory=str(files("rathaus.web").joinpath("static"))), name="static")

    @app.exception_handler(pages.LoginRequired)
    async def _login_required(request: Request, exc: pages.LoginRequired) -> RedirectResponse:
        return pages.login_redirect(request)

    return app
