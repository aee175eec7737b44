"""The one path every model request takes: resolve the profile, check it can do the job, run, record."""

from __future__ import annotations

from collections.abc import Iterator

from rathaus.accounting.records import record_request
from rathaus.identity.principal import Principal
from rathaus.llm.backend import BackendError, ChatRequest, StreamItem, Usage
from rathaus.llm.catalogue import Catalogue, Profile
from rathaus.llm.embeddings import Embeddings, InputType
from rathaus.llm.pool import ModelPool
from rathaus.store.db import Database


class UnsupportedRequest(ValueError):
    """The model cannot do what the request asks (for example JSON schema output)."""


class ModelGateway:
    """Runs chat and embedding requests for a principal and records each one."""

    def __init__(self, db: Database, catalogue: Catalogue, pool: ModelPool) -> None:
        self.db = db
        self.catalogue = catalogue
        self.pool = pool

    def chat_profile(self, model_id: str, request: ChatRequest) -> Profile:
        """The profile for a chat request; raises UnknownModel or UnsupportedRequest."""
        profile = self.catalogue.get(model_id)
        if not profile.can("chat"):
            raise UnsupportedRequest(f"the model '{model_id}' is not a chat model")
        if request.json_schema is not None and not profile.can("json_schema"):
            raise UnsupportedRequest(f"the model '{model_id}' cannot follow a JSON schema")
        return profile

    def chat(
        self, principal: Principal, profile: Profile, request: ChatRequest, endpoint: str
    ) -> Iterator[StreamItem]:
        """Stream a reply; the request record is written when the stream ends, fails or is closed."""
        usage: Usage | None = None
        status, error = "cancelled", None
        try:
            for item in self.pool.backend(profile).chat(request):
                if isinstance(item, Usage):
                    usage = item
                yield item
            status = "ok"
        except BackendError as exc:
            status, error = "error", str(exc)
            raise
        finally:
            record_request(self.db, principal, profile, endpoint, usage, status, error)

    def embed(
        self, principal: Principal, model_id: str, texts: list[str], input_type: InputType, endpoint: str
    ) -> Embeddings:
        """Embed texts and record the request."""
        profile = self.catalogue.get(model_id)
        if not profile.can("embeddings"):
            raise UnsupportedRequest(f"the model '{model_id}' is not an embedding model")
        result = self.pool.embedder(profile).embed(texts, input_type)
        usage = Usage(tokens_in=result.tokens, duration_ms=result.duration_ms, cpu_seconds=result.cpu_seconds)
        record_request(self.db, principal, profile, endpoint, usage, "ok")
        return result
