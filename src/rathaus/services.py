"""The long-lived parts of a running Rathaus, built once from the settings and shared by requests."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rathaus.identity.login import SessionCookies
from rathaus.identity.throttle import LoginThrottle
from rathaus.knowledge.service import Knowledge
from rathaus.llm.catalogue import Catalogue, UnknownModel
from rathaus.llm.pool import ModelPool
from rathaus.routing.dispatch import Dispatcher
from rathaus.routing.gateway import ModelGateway
from rathaus.routing.router import Router
from rathaus.settings import Settings
from rathaus.sharing import Sharing
from rathaus.store.db import Database

if TYPE_CHECKING:
    from rathaus.chatbots.widget import Widget
    from rathaus.workflows.runs import Workflows


@dataclass
class Services:
    """Settings, database, model catalogue and live models of one process."""

    settings: Settings
    db: Database
    catalogue: Catalogue
    pool: ModelPool
    gateway: ModelGateway
    cookies: SessionCookies
    login_throttle: LoginThrottle
    knowledge: Knowledge
    routing: Dispatcher
    sharing: Sharing

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Connect everything; loads no model (models load on first use)."""
        db = Database(settings.effective_database_url)
        catalogue = Catalogue(settings.catalogue_file)
        pool = ModelPool(settings, catalogue)
        gateway = ModelGateway(db, catalogue, pool)
        sharing = Sharing(settings.redis_url, settings.redis_prefix)
        breaker = sharing.breaker(local=functools.partial(_in_process, catalogue))
        routing = Dispatcher(gateway, Router(catalogue, pool, breaker))
        gateway.metrics.watch_breakers(routing.breaker.open_models)
        return cls(
            settings=settings,
            db=db,
            catalogue=catalogue,
            pool=pool,
            gateway=gateway,
            cookies=SessionCookies(settings.require_secret()),
            login_throttle=LoginThrottle(sharing),
            knowledge=Knowledge(settings, db, gateway),
            routing=routing,
            sharing=sharing,
        )

    @functools.cached_property
    def workflows(self) -> Workflows:
        """The workflow engine and its executor (workers start with `workflows.executor.start()`)."""
        from rathaus.workflows.runs import Workflows

        return Workflows(self)

    @functools.cached_property
    def widget(self) -> Widget:
        """The public chatbot widget's operations, with this process's rate limits."""
        from rathaus.chatbots.widget import Widget

        return Widget(self)

    def close(self) -> None:
        """Stop background work, release models and database connections."""
        if "workflows" in self.__dict__:
            self.workflows.executor.close()
        self.knowledge.close()
        self.routing.trials.wait_idle(60)  # a measurement of labels still running
        self.pool.close()
        self.sharing.close()
        self.db.dispose()


def _in_process(catalogue: Catalogue, model_id: str) -> bool:
    """Whether a model runs in each server process (its circuit breaker stays per process): every backend
    but an OpenAI-compatible server elsewhere; unknown ids too."""
    try:
        return catalogue.get(model_id).backend != "openai"
    except UnknownModel:
        return True
