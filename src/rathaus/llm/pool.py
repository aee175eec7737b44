"""Live backends, one per catalogue profile, created on first use and shared by all requests."""

from __future__ import annotations

import logging
import threading
from typing import Any

from pydantic import ValidationError

from rathaus.llm.backend import Backend, ModelUnavailable
from rathaus.llm.catalogue import Catalogue, Profile
from rathaus.llm.embeddings import Embedder
from rathaus.plugins import plugin_manager
from rathaus.settings import Settings

logger = logging.getLogger(__name__)


def _factories(hook_name: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def register(name: str, factory: Any) -> None:
        found[name] = factory

    getattr(plugin_manager().hook, hook_name)(register=register)
    return found


def backend_names() -> list[str]:
    """Names of all registered chat backends (built-in and plugins)."""
    return sorted(_factories("register_backends"))


class ModelPool:
    """Creates and caches backends and embedders for catalogue profiles."""

    def __init__(self, settings: Settings, catalogue: Catalogue) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self._lock = threading.Lock()
        self._live: dict[tuple[str, str], Any] = {}

    def _build(self, profile: Profile, hook_name: str) -> Any:
        key = (hook_name, profile.id)
        with self._lock:
            if key not in self._live:
                factories = _factories(hook_name)
                if profile.backend not in factories:
                    raise ModelUnavailable(
                        f"model '{profile.id}' uses backend '{profile.backend}', which is not installed "
                        f"(known: {', '.join(sorted(factories))})"
                    )
                try:
                    self._live[key] = factories[profile.backend](profile, self.settings)
                except ValidationError as exc:
                    logger.error("invalid params of model %s: %s", profile.id, exc)
                    raise ModelUnavailable(
                        f"model '{profile.id}' is misconfigured in the model catalogue (params); "
                        "the details are in the server log"
                    ) from None
            return self._live[key]

    def backend(self, profile: Profile) -> Backend:
        """The chat backend of a profile."""
        if not profile.can("chat"):
            raise ModelUnavailable(f"model '{profile.id}' is not a chat model")
        backend: Backend = self._build(profile, "register_backends")
        return backend

    def embedder(self, profile: Profile) -> Embedder:
        """The embedder of a profile."""
        if not profile.can("embeddings"):
            raise ModelUnavailable(f"model '{profile.id}' is not an embedding model")
        embedder: Embedder = self._build(profile, "register_embedders")
        return embedder

    def available(self, profile: Profile) -> bool:
        """Whether the profile can serve now (weights present, API key set, backend installed)."""
        hook = "register_embedders" if profile.can("embeddings") else "register_backends"
        try:
            live = self._build(profile, hook)
        except ModelUnavailable:
            return False
        return bool(getattr(live, "available", True))

    def loaded(self, profile: Profile) -> bool:
        """Whether the profile's model is in memory now (never for remote models); loads nothing."""
        with self._lock:
            live = [
                self._live.get((hook, profile.id)) for hook in ("register_backends", "register_embedders")
            ]
        return any(bool(getattr(backend, "loaded", False)) for backend in live if backend is not None)

    def context_window(self, profile: Profile) -> int:
        """Tokens one request may use: a local model's slot size, otherwise the profile's context."""
        try:
            live = self.backend(profile)
        except ModelUnavailable:
            return profile.context
        return int(getattr(live, "context_per_slot", profile.context))

    def close(self) -> None:
        """Release every live backend."""
        with self._lock:
            for live in self._live.values():
                close = getattr(live, "close", None)
                if close:
                    close()
            self._live.clear()
