"""The data-class rule, in one place: a model may see a prompt only when it is cleared for every part of it.

A prompt is made of parts, each with a data class: the request itself (what a person typed, a workflow's
input), the collections an assistant answers from, single documents marked more sensitive than their
collection, the passages an earlier workflow step retrieved. The highest class names the prompt
(öffentlich < intern < vertraulich < personenbezogen), and a model must be cleared (its profile's
`data_classes`) for every class that occurs, not only the highest. The router applies this to every route,
pinned or chosen; the saving of assistants, chatbots and workflows applies it to the model policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rathaus.llm.catalogue import ALL_DATA_CLASSES, Catalogue, DataClass, Profile

RANK: dict[str, int] = {data_class: rank for rank, data_class in enumerate(ALL_DATA_CLASSES)}


def highest(classes: Iterable[DataClass]) -> DataClass:
    """The most sensitive of the classes (öffentlich when there are none)."""
    return max(classes, key=lambda c: RANK[c], default="öffentlich")


def as_data_class(value: str) -> DataClass:
    """A stored data class; an unknown value counts as the strictest (never as less sensitive)."""
    for data_class in ALL_DATA_CLASSES:
        if data_class == value:
            return data_class
    return "personenbezogen"


# What each kind of part is called, in English and German; a named part adds its name in quotes.
KINDS: dict[str, tuple[str, str]] = {
    "request": ("the request", "die Anfrage"),
    "input": ("the workflow's input", "die Eingabe des Ablaufs"),
    "conversation": ("the conversation", "das Gespräch"),
    "assistant": ("assistant", "Assistent"),
    "collection": ("collection", "Sammlung"),
    "document": ("document", "Dokument"),
    "step": ("step", "Schritt"),
    "corrections": (
        "the labels corrected at approvals of step",
        "die bei Freigaben korrigierten Zuordnungen von Schritt",
    ),
}


@dataclass(frozen=True)
class Part:
    """One source of text in a prompt and its data class, e.g. collection 'satzungen', intern."""

    kind: str  # a key of KINDS
    data_class: DataClass
    name: str = ""

    def label(self, german: bool = False) -> str:
        """The part in words: "collection 'satzungen'" or „Sammlung 'satzungen'“."""
        word = KINDS[self.kind][1 if german else 0]
        return f"{word} '{self.name}'" if self.name else word


@dataclass(frozen=True)
class Exposure:
    """Everything a prompt contains, part by part; what decides which models may see it."""

    parts: tuple[Part, ...]

    @classmethod
    def of(cls, data_class: DataClass, kind: str = "request", name: str = "") -> Exposure:
        """A prompt of one part."""
        return cls((Part(kind, data_class, name),))

    def plus(self, *parts: Part) -> Exposure:
        """This exposure with more parts (a part already there is not repeated)."""
        added = tuple(p for p in parts if p not in self.parts)
        return Exposure(self.parts + added) if added else self

    def merged(self, other: Exposure) -> Exposure:
        """Both exposures' parts together."""
        return self.plus(*other.parts)

    @property
    def data_class(self) -> DataClass:
        """The highest class: what the prompt counts as."""
        return highest(p.data_class for p in self.parts)

    @property
    def classes(self) -> set[DataClass]:
        """Every class that occurs."""
        return {p.data_class for p in self.parts}

    def uncleared(self, profile: Profile) -> list[Part]:
        """The parts the profile may not see (empty: it may see the whole prompt)."""
        cleared = set(profile.data_classes or [])
        return [p for p in self.parts if p.data_class not in cleared]

    def describe(self) -> str:
        """The parts with their classes, in English: "the request (intern), collection 'x' (vertraulich)"."""
        return ", ".join(f"{p.label()} ({p.data_class})" for p in self.parts)

    def describe_german(self, parts: Iterable[Part] | None = None) -> str:
        """The parts (all, or those given) with their classes, in German."""
        chosen = self.parts if parts is None else tuple(parts)
        return ", ".join(f"{p.label(german=True)} ({p.data_class})" for p in chosen)


def policy_problem(
    catalogue: Catalogue,
    exposure: Exposure,
    candidates: list[Profile] | None,
    needs_schema: bool = False,
    policy: str = "",
) -> str | None:
    """Why no model the policy may use is cleared for everything the document brings together (German), or
    None when one is. `candidates` are the models the policy may use (None: any chat model, as under `auto`).

    Readiness does not count here: a model that is not installed yet may be installed later; the data
    classes it is cleared for do not change by installing it.
    """
    pool = [p for p in catalogue.profiles() if p.can("chat")] if candidates is None else candidates
    capable = [p for p in pool if p.can("chat") and (not needs_schema or p.can("json_schema"))]
    if any(not exposure.uncleared(p) for p in capable):
        return None
    names = ", ".join(f"„{p.id}“ ({', '.join(p.data_classes or []) or '-'})" for p in capable)
    blocked = {part for p in capable for part in exposure.uncleared(p)} or set(exposure.parts)
    parts = exposure.describe_german(p for p in exposure.parts if p in blocked)
    where = f" ({policy})" if policy else ""
    if not capable:
        return f"Die Modellwahl{where} enthält kein passendes Sprachmodell für: {parts}."
    return (
        f"Kein Modell, das die Modellwahl{where} erlaubt, darf diese Daten sehen: {parts}. "
        f"Freigegeben sind: {names}. Wählen Sie ein Modell, das für diese Datenklassen freigegeben ist, "
        "oder verwenden Sie weniger vertrauliche Quellen."
    )
