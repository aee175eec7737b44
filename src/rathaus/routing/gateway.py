"""The one path every model request takes: resolve the profile, check it can do the job, run, record."""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator

from rathaus.accounting.budgets import Budgets
from rathaus.accounting.costing import Costing
from rathaus.accounting.metrics import Metrics
from rathaus.accounting.records import record_request
from rathaus.identity.models import Tenant
from rathaus.identity.principal import Principal
from rathaus.llm.backend import BackendError, ChatRequest, StreamItem, Usage
from rathaus.llm.catalogue import Catalogue, Profile
from rathaus.llm.embeddings import Embeddings, InputType
from rathaus.llm.pool import ModelPool
from rathaus.routing.route import Route
from rathaus.store.db import Database

logger = logging.getLogger(__name__)

REFERENCE_TTL_S = 30.0  # how long a tenant's choice of reference model is reused before it is read again


class UnsupportedRequest(ValueError):
    """The model cannot do what the request asks (for example JSON schema output)."""


class ModelGateway:
    """Runs chat and embedding requests for a principal and records each one."""

    def __init__(self, db: Database, catalogue: Catalogue, pool: ModelPool) -> None:
        self.db = db
        self.catalogue = catalogue
        self.pool = pool
        self.costing = Costing(pool.settings, catalogue)
        self.metrics = Metrics()
        self.budgets = Budgets(db)
        self._references: dict[str, tuple[float, str | None]] = {}  # tenant → (read at, reference model)

    def chat_profile(self, model_id: str, request: ChatRequest) -> Profile:
        """The profile for a chat request; raises UnknownModel or UnsupportedRequest."""
        profile = self.catalogue.get(model_id)
        if not profile.can("chat"):
            raise UnsupportedRequest(f"the model '{model_id}' is not a chat model")
        if request.json_schema is not None and not profile.can("json_schema"):
            raise UnsupportedRequest(f"the model '{model_id}' cannot follow a JSON schema")
        return profile

    def chat(
        self,
        principal: Principal,
        profile: Profile,
        request: ChatRequest,
        endpoint: str,
        route: Route | None = None,
    ) -> Generator[StreamItem, None, None]:
        """Stream a reply; the request record is written when the stream ends, fails or is closed."""
        usage: Usage | None = None
        status, error = "cancelled", None
        stream: Iterator[StreamItem] | None = None
        try:
            stream = self.pool.backend(profile).chat(request)
            for item in stream:
                if isinstance(item, Usage):
                    usage = item
                yield item
            status = "ok"
        except GeneratorExit:
            status = "cancelled"
            raise
        except BackendError as exc:
            status, error = "error", str(exc)
            raise
        except Exception as exc:
            status, error = "error", f"unexpected {type(exc).__name__}"
            raise
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # stops generation at once (frees the model's slot)
            self._record(principal, profile, endpoint, usage, status, error, route)

    def _record(
        self,
        principal: Principal,
        profile: Profile,
        endpoint: str,
        usage: Usage | None,
        status: str,
        error: str | None,
        route: Route | None = None,
    ) -> None:
        try:
            costed = self.costing.cost(profile, usage or Usage(), self.reference_of(principal.tenant_id))
            if route is not None:
                route.add(costed)
                if route.admission is not None:
                    self.budgets.spend(route.admission, costed.footprint.eur, costed.footprint.wh)
            self.metrics.count(principal.tenant_id, profile, endpoint, status, usage or Usage(), costed)
            routed = route.as_json() if route is not None else None
            record_request(self.db, principal, profile, endpoint, usage, status, error, costed, routed)
        except Exception:  # never let bookkeeping hide the request's own outcome
            logger.exception("could not write the request record for %s", profile.id)

    def reference_of(self, tenant_id: str) -> str | None:
        """The tenant's own reference model for savings, if it chose one (read at most every 30 seconds:
        every request asks, and the choice rarely changes)."""
        now = time.monotonic()
        cached = self._references.get(tenant_id)
        if cached is not None and now - cached[0] < REFERENCE_TTL_S:
            return cached[1]
        with self.db.system_session() as session:
            tenant = session.get(Tenant, tenant_id)
            chosen = tenant.reference_model if tenant is not None else None
        self._references[tenant_id] = (now, chosen)
        return chosen

    def forget_reference(self, tenant_id: str) -> None:
        """Read the tenant's reference model afresh on its next request (after the tenant changed it)."""
        self._references.pop(tenant_id, None)

    def embed(
        self,
        principal: Principal,
        model_id: str,
        texts: list[str],
        input_type: InputType,
        endpoint: str,
        route: Route | None = None,
    ) -> Embeddings:
        """Embed texts and record the request."""
        profile = self.catalogue.get(model_id)
        if not profile.can("embeddings"):
            raise UnsupportedRequest(f"the model '{model_id}' is not an embedding model")
        try:
            result = self.pool.embedder(profile).embed(texts, input_type)
        except Exception as exc:
            message = str(exc) if isinstance(exc, BackendError) else f"unexpected {type(exc).__name__}"
            self._record(principal, profile, endpoint, None, "error", message, route)
            raise
        usage = Usage(tokens_in=result.tokens, duration_ms=result.duration_ms, cpu_seconds=result.cpu_seconds)
        self._record(principal, profile, endpoint, usage, "ok", None, route)
        return result
