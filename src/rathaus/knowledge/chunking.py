"""Cutting a parsed document into passages along its structure, about 200–400 tokens each, with overlap.

A passage never spans two sections: it starts at a heading or continues the section before it with the
last sentence of the previous passage as overlap. Small neighbouring sections of the same parent are
joined, so that a page of short "Gebühren"/"Fristen" sections does not become a dozen tiny passages.
"""

from __future__ import annotations

from dataclasses import dataclass

from rathaus.knowledge.parsing import Block, ParsedDocument
from rathaus.knowledge.sentences import split

CHARS_PER_TOKEN = 4  # German text with the E5 tokenizer, measured on the demo corpus: 3.8–4.3
TARGET_CHARS = 300 * CHARS_PER_TOKEN
MAX_CHARS = 420 * CHARS_PER_TOKEN
MIN_CHARS = 120 * CHARS_PER_TOKEN


@dataclass(frozen=True)
class Chunk:
    """One passage: its text, the section it is in, the page it starts on, and its place in the document."""

    ordinal: int
    text: str
    heading: str
    page: int | None

    @property
    def tokens(self) -> int:
        """An estimate of the passage's length in model tokens."""
        return max(1, len(self.text) // CHARS_PER_TOKEN)


@dataclass
class _Section:
    headings: tuple[str, ...]
    page: int | None
    parts: list[str]

    @property
    def size(self) -> int:
        return sum(len(p) + 1 for p in self.parts)


def _sections(blocks: list[Block]) -> list[_Section]:
    sections: list[_Section] = []
    for block in blocks:
        if block.is_heading or not sections or sections[-1].headings != block.headings:
            sections.append(_Section(block.headings, block.page, []))
        if not block.is_heading:
            sections[-1].parts.append(block.text)
    return [s for s in sections if s.parts]


def _merge_small(sections: list[_Section]) -> list[_Section]:
    merged: list[_Section] = []
    for section in sections:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.headings
            and section.headings
            and previous.headings[:-1] == section.headings[:-1]
            and (previous.size < MIN_CHARS or section.size < MIN_CHARS)
            and previous.size + section.size <= TARGET_CHARS
        ):
            previous.parts.append(f"{section.headings[-1]}: " if section.headings else "")
            previous.parts[-1] += section.parts[0]
            previous.parts.extend(section.parts[1:])
            previous.headings = (*previous.headings[:-1], f"{previous.headings[-1]} · {section.headings[-1]}")
        else:
            merged.append(section)
    return merged


def _pieces(text: str) -> list[str]:
    """A paragraph cut at sentence ends (or, for run-on text, at word boundaries) into pieces ≤ MAX_CHARS."""
    if len(text) <= MAX_CHARS:
        return [text]
    pieces: list[str] = []
    for sentence in split(text):
        while len(sentence) > MAX_CHARS:
            cut = sentence.rfind(" ", 0, MAX_CHARS)
            cut = cut if cut > 0 else MAX_CHARS
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].strip()
        pieces.append(sentence)
    return pieces


def _last_sentence(text: str) -> str:
    sentences = split(text)
    last = sentences[-1] if sentences else ""
    return last if len(last) <= TARGET_CHARS // 3 else ""


def chunk(document: ParsedDocument) -> list[Chunk]:
    """The document's passages in reading order."""
    chunks: list[Chunk] = []
    for section in _merge_small(_sections(document.blocks)):
        heading = " › ".join(section.headings)
        current: list[str] = []
        size = 0
        for part in (p for text in section.parts for p in _pieces(text)):
            if current and size + len(part) > TARGET_CHARS:
                text = "\n".join(current)
                chunks.append(Chunk(len(chunks), text, heading, section.page))
                overlap = _last_sentence(current[-1])
                current, size = ([overlap] if overlap else []), len(overlap)
            current.append(part)
            size += len(part) + 1
        if current:
            chunks.append(Chunk(len(chunks), "\n".join(current), heading, section.page))
    return chunks
