"""What the model writes is checked against its evidence, sentence by sentence, before anyone sees it.

A sentence that carries a number, an amount, a date, a link or a name that is not in the evidence is not
shown. A sentence without a citation gets the one of the evidence it shares most words with. When no
sentence of the model survives, the evidence itself is the answer, quoted. The check runs while the answer
streams: each sentence is shown as soon as it is complete and checked.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable
from dataclasses import dataclass

from rathaus.assistants.evidence import ANSWERS, Evidence, Quote, asks, compact
from rathaus.knowledge.german import fold, terms
from rathaus.llm.backend import StreamItem, TextChunk

CITATION = re.compile(r"\s*\[(\d{1,2})\]")
NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
LINK = re.compile(r"(?:https?://|www\.)[^\s)\]>\"']+|[\w.+-]+@[\w-]+\.[\w.-]+")
WORD = re.compile(r"[A-Za-zÄÖÜäöüß][\w\-äöüÄÖÜß]*")
TOKEN = re.compile(r"[A-Za-zÄÖÜäöüß][\w\-äöüÄÖÜß]*|\d[\d.,:]*|[^\w\s]")
LEADING = re.compile(r"^\s*((?:\[\d{1,2}\]\s*)+)")  # "[2] Die Gebühr …": the source named first
REPEATED = re.compile(r"(\[\d{1,2}\])(?:\s*\1)+")
TRAILING = re.compile(r"[.!?]((?:\s*\[\d{1,2}\])+)\s*$")  # "… Euro [1]. [2]": sources after the full stop
AS_QUANTITY = re.compile(  # "nach [4] Monaten": a source's number written where the amount belongs
    r"\[\d{1,2}\]\s*(euro|eur\b|€|cent|prozent|%|(werk|arbeits|kalender)?(tag|woche|monat|jahr|stunde|minute)\w*)",
    re.IGNORECASE,
)
SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\d\.)(?:\s*\[\d{1,2}\])*\s+(?=[A-ZÄÖÜ„\"(*-])|\n{2,}")


def _numbers(text: str) -> set[str]:
    """The numbers of a text, normalised ("46,00" and "46" alike, "1.000" and "1000" alike)."""
    found = set()
    for raw in NUMBER.findall(text):
        value = raw.replace(".", "") if re.fullmatch(r"\d{1,3}(\.\d{3})+", raw) else raw
        found.add(re.sub(r"[.,:]0+$", "", value))
    return found


def _names(text: str) -> set[str]:
    """Acronyms and runs of adjacent capitalised words past a sentence's first word ("Bad Boll", "KVR"); a
    number or a punctuation mark ends a run ("Gebühr 32 Euro Aufpreis" names nothing)."""
    found: set[str] = set()
    tokens = TOKEN.findall(text)
    run: list[str] = []
    for index, token in enumerate([*tokens, ""]):
        if WORD.fullmatch(token) and token[0].isupper() and index > 0:
            run.append(token)
            continue
        if len(run) >= 2:
            found.add(" ".join(run))
        run = []
    found.update(t for t in tokens if len(t) >= 2 and t.isupper() and t.isalpha())
    return found


def unsupported(sentence: str, texts: list[str]) -> list[str]:
    """The numbers, links and names of the sentence that none of the texts holds."""
    known = " ".join(texts)
    folded, numbers = fold(known), _numbers(known)
    compacted = compact(LINK.sub(" ", known))  # a name counts where it is written, not in an address
    missing = [n for n in sorted(_numbers(sentence)) if n not in numbers]
    missing += [link for link in LINK.findall(sentence) if fold(link).rstrip("/.") not in folded]
    missing += [name for name in sorted(_names(sentence)) if compact(name) not in compacted]
    return missing


@dataclass(frozen=True)
class Checked:
    """A sentence of the answer after the check: the text to show, or None with what was not supported."""

    text: str | None
    unsupported: tuple[str, ...] = ()


def check_sentence(sentence: str, quotes: list[Quote], question: str) -> Checked:
    """The sentence with the citations of the sources that hold what it states, or None when the evidence
    does not hold it. A number or name must be in the source the sentence cites: the citation of a sentence
    whose facts come from another source is corrected, one without citation gets one."""
    leading = LEADING.match(sentence)
    if leading:
        sentence = cite(sentence[leading.end() :], *(int(n) for n in CITATION.findall(leading.group(1))))
    sentence = REPEATED.sub(r"\1", sentence)  # "[1] [1]": the same source once
    if TRAILING.search(sentence):  # each source once, before the full stop
        numbers = dict.fromkeys(int(n) for n in CITATION.findall(sentence))
        sentence = cite(CITATION.sub("", sentence).rstrip(), *numbers)
    plain = CITATION.sub(" ", sentence).strip()
    misused = AS_QUANTITY.search(sentence)
    if misused:
        return Checked(None, (misused.group(0),))
    missing = unsupported(plain, [question, *(q.text for q in quotes)])
    if missing:
        return Checked(None, tuple(missing))
    if not quotes:
        return Checked(sentence)
    by_source: dict[int, list[str]] = {}
    for quote in quotes:
        by_source.setdefault(quote.source, []).append(quote.text)
    cited = [n for n in dict.fromkeys(int(n) for n in CITATION.findall(sentence)) if n in by_source]
    cited_texts = [question, *(t for n in cited for t in by_source[n])]
    if cited and not unsupported(plain, cited_texts):
        return Checked(sentence)
    words = set(terms(plain))
    overlap = {n: len(words & set(terms(" ".join(texts)))) for n, texts in by_source.items()}
    holders = sorted(
        (n for n, texts in by_source.items() if not unsupported(plain, [question, *texts])),
        key=lambda n: -overlap[n],
    )
    if holders and (overlap[holders[0]] or _facts(plain)):
        return Checked(cite(plain, holders[0]))
    if not holders:  # what it states is spread over several sources: cite each that holds a part
        facts = len(_facts(plain))
        needed = [n for n, texts in by_source.items() if len(unsupported(plain, texts)) < facts]
        return Checked(cite(plain, *needed))
    return Checked(sentence)  # a greeting or a pointer: nothing to cite


def _facts(sentence: str) -> list[str]:
    """What the check looks for in a sentence: its numbers, links and names."""
    return unsupported(sentence, [])


def cite(sentence: str, *numbers: int) -> str:
    """The sentence with [number] before its final punctuation: "… 70 Euro [2]."."""
    text = sentence.rstrip()
    end = text[-1] if text and text[-1] in ".!?:;" else ""
    marks = "".join(f"[{n}]" for n in numbers)
    return f"{text[: len(text) - len(end)].rstrip()} {marks}{end}"


def quoted(quotes: list[Quote]) -> str:
    """The evidence as the answer, each sentence with its source, in the order of the question's parts."""
    ordered = sorted(quotes, key=lambda q: (q.part, -q.score))
    return " ".join(cite(q.text, q.source) for q in ordered)


def split_sentences(text: str) -> tuple[list[str], str]:
    """The complete sentences of a text and the rest that may still be growing."""
    pieces: list[str] = []
    start = 0
    for match in SENTENCE_END.finditer(text):
        pieces.append(text[start : match.start() + len(match.group(0).rstrip())].strip())
        start = match.end()
    return [p for p in pieces if p], text[start:]


def checked_stream(
    stream: Iterable[StreamItem],
    found: Evidence,
    question: str,
    fallback: str,
    dropped: list[str] | None = None,
) -> Generator[StreamItem, None, None]:
    """The model's answer, sentence by sentence as each is complete, with unsupported sentences left out
    and, for a part of the question whose amount, period, place or office the model left out, the evidence
    sentence that holds it added; `fallback` when nothing is left. `dropped` collects what was left out and
    why. Closing this stream closes the model's (which frees its slot at once)."""
    pending, shown = "", list[str]()
    try:
        for item in stream:
            if not isinstance(item, TextChunk):
                yield item
                continue
            pending += item.text
            complete, pending = split_sentences(pending)
            for sentence in complete:
                text = _checked(sentence, found.quotes, question, dropped)
                if text is not None:
                    yield TextChunk(("" if not shown else " ") + text)
                    shown.append(text)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    if pending.strip():
        text = _checked(pending.strip(), found.quotes, question, dropped)
        if text is not None:
            yield TextChunk(("" if not shown else " ") + text)
            shown.append(text)
    if not shown:
        yield TextChunk(fallback)
        return
    for quote in missing_parts(found, " ".join(shown), fallback):
        yield TextChunk(" " + cite(quote.text, quote.source))


def _checked(sentence: str, quotes: list[Quote], question: str, dropped: list[str] | None) -> str | None:
    result = check_sentence(sentence, quotes, question)
    if result.text is None and dropped is not None:
        dropped.append(f"{sentence} ({', '.join(result.unsupported)})")
    return result.text


def missing_parts(found: Evidence, answer: str, not_found: str) -> list[Quote]:
    """For each part of the question that asks for an amount, a period, a place, documents or an office
    the answer does not state, the best evidence sentence of that part that does (none when the answer
    says it found nothing)."""
    if compact(not_found)[:40] in compact(answer):
        return []
    added: list[Quote] = []
    for index, part in enumerate(found.parts):
        for kind in sorted(asks(part)):
            if ANSWERS[kind].search(CITATION.sub(" ", answer)):
                continue
            best = next((q for q in found.quotes if q.part == index and ANSWERS[kind].search(q.text)), None)
            if best is not None and best not in added and compact(best.text) not in compact(answer):
                added.append(best)
    return added
