"""A document's title: the first candidate that reads like one, else its file name made readable.

Citations name a document by its title, so the title must mean something to a reader. Metadata often
does not: a PDF printed from a browser carries the page's address ("127.0.0.1:8000/knowledge/…"), an
office file the program's name ("Microsoft Word - Antrag.docx") or a placeholder ("Dokument1",
"untitled"). Parsers offer candidates in order of trust (the first heading, then metadata, then the first
line); the first that passes `readable` wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePath
from urllib.parse import unquote

MAX_TITLE = 300  # the column's length; a longer heading is no title but a paragraph
MAX_CANDIDATE = 200
MAX_LINE = 100  # a first line longer than this is a sentence, not a title

# "Microsoft Word - Antrag.docx", "Microsoft PowerPoint - Folien": the part after the dash may still serve
GENERATOR_PREFIX = re.compile(
    r"^\s*(?:microsoft\s+(?:word|excel|powerpoint|office\s+word)|libreoffice\s+\w+|openoffice\s+\w+)"
    r"\s*[-–—:]\s*",
    re.IGNORECASE,
)
# names of programs and placeholders that say nothing about the content
PLACEHOLDER = re.compile(
    r"^(?:untitled|unbenannt|ohne\s+titel|kein\s+titel|no\s+title|none|null|titel|title|"
    r"(?:neues\s+)?dokument|(?:new\s+)?document|doc|docx|pdf|präsentation|presentation|"
    r"powerpoint-präsentation|mappe|arbeitsmappe|book|tabelle|folie|slide|seite|page|entwurf|draft|"
    r"vorlage|template|scan|image|bild|microsoft\s+word|word|writer|libreoffice(?:\s+\w+)?|"
    r"openoffice(?:\s+\w+)?|adobe(?:\s+\w+)*|acrobat(?:\s+\w+)*|pdftex|latex|tex|"
    r"microsoft\s+\w+(?:\s+\w+)?|google\s+docs|print|druck|ausdruck)"
    r"[\s_-]*\d*$",
    re.IGNORECASE,
)
ADDRESS = re.compile(
    r"(?:^[a-z][a-z0-9+.-]*://)"  # a URL with a scheme
    r"|(?:^www\.)"
    r"|(?:^[\w.-]+:\d{2,5}(?:/|$))"  # host:port, e.g. 127.0.0.1:18437/knowledge/…
    r"|(?:^(?:\d{1,3}\.){3}\d{1,3})"  # an IP address
    r"|(?:^[\w-]+(?:\.[\w-]+)+/\S*$)"  # host/path without a scheme
    r"|(?:^(?:[a-z]:)?[\\/]\S*$)"  # a file path
    r"|(?:^about:|^file:|^data:|^blob:)",
    re.IGNORECASE,
)
FILE_NAME = re.compile(r"^\S+\.(?:pdf|docx?|odt|rtf|html?|md|txt|xlsx?|pptx?)$", re.IGNORECASE)


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" \t-–—|·:;,")


def readable(candidate: str | None) -> str:
    """The candidate as a title, or "" when it does not read like one (an address, a program's name, a
    placeholder, a file name, a date or page number, or a whole paragraph)."""
    text = _clean(candidate or "")
    remainder = GENERATOR_PREFIX.sub("", text)
    if remainder != text:  # "Microsoft Word - Antrag auf Wohngeld.docx": the document's name is left
        text = from_filename(remainder) if FILE_NAME.match(remainder) else _clean(remainder)
    if not text or len(text) > MAX_CANDIDATE:
        return ""
    if ADDRESS.search(text) or FILE_NAME.match(text) or PLACEHOLDER.match(text):
        return ""
    if sum(ch.isalpha() for ch in text) < 3:  # "12", "– 3 –", "07.12.26, 18:20"
        return ""
    if re.match(r"^\d{1,2}\.\d{1,2}\.\d{2,4},?\s+\d{1,2}:\d{2}\b", text):  # a browser's print header
        return ""
    return text


def generated(title: str) -> bool:
    """Whether a stored title was made by a program rather than a person: an address, a file name, a
    program's name or a placeholder. Reading a document again replaces such a title; any other stays."""
    text = _clean(title)
    return bool(text) and bool(
        ADDRESS.search(text)
        or FILE_NAME.match(text)
        or PLACEHOLDER.match(text)
        or GENERATOR_PREFIX.match(text)
    )


def first_line(lines: Iterable[str], look: int = 10) -> str:
    """The first of the opening lines that reads like a title and not like a sentence ("" if none)."""
    for index, line in enumerate(lines):
        if index >= look:
            break
        title = readable(line)
        if title and len(title) <= MAX_LINE and not title.endswith((".", ",", ";", "!", "?")):
            return title
    return ""


def from_filename(filename: str) -> str:
    """The file name without extension, words apart: "satzung_hundesteuer-2024.pdf" → "Satzung hundesteuer
    2024"."""
    stem = PurePath(unquote(filename.replace("\\", "/"))).stem
    words = _clean(re.sub(r"[_+.-]+" if " " not in stem else r"_+", " ", stem))
    if not words:
        return PurePath(filename).name or filename
    return words[0].upper() + words[1:]


def choose(candidates: Iterable[str | None], filename: str) -> str:
    """The first candidate that reads like a title, else the file name made readable."""
    for candidate in candidates:
        title = readable(candidate)
        if title:
            return title[:MAX_TITLE]
    return from_filename(filename)[:MAX_TITLE]
