"""Reading documents into structured text: PDF, DOCX, HTML, Markdown and plain text.

Every parser returns blocks of text with the heading they belong to and, for PDF, their page. A file
that cannot be read raises ParseError with a code and a reason a person understands; the batch it came
in goes on without it.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from rathaus.knowledge import titles

if TYPE_CHECKING:
    from bs4 import Tag

MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html",
    ".htm": "text/html",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
}
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # a DOCX larger than this when unpacked is refused (zip bomb)
MAX_PACK_RATIO = 200
BOILERPLATE = re.compile(r"cookie|consent|banner|navigation|breadcrumb|skip|footer|header|sidebar", re.I)


class ParseError(ValueError):
    """A document that cannot be read; `code` names the kind of problem for translations."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Block:
    """A paragraph, list item, table row or heading with the section it belongs to."""

    text: str
    headings: tuple[str, ...] = ()
    page: int | None = None
    is_heading: bool = False


@dataclass
class ParsedDocument:
    """A document's title, its blocks in reading order and its number of pages (PDF).

    Parsers leave `title` empty and offer `candidates`, most trusted first; `parse` picks the title.
    """

    title: str
    blocks: list[Block] = field(default_factory=list)
    pages: int | None = None
    candidates: list[str] = field(default_factory=list)


class _Outline:
    """Tracks the current heading path while blocks are read in order."""

    def __init__(self) -> None:
        self.levels: list[tuple[int, str]] = []
        self.blocks: list[Block] = []

    def heading(self, level: int, text: str, page: int | None = None) -> None:
        text = " ".join(text.split())
        if not text:
            return
        self.levels = [(lv, t) for lv, t in self.levels if lv < level] + [(level, text)]
        self.blocks.append(Block(text, self.path(), page, is_heading=True))

    def text(self, text: str, page: int | None = None) -> None:
        text = " ".join(text.split())
        if text:
            self.blocks.append(Block(text, self.path(), page))

    def path(self) -> tuple[str, ...]:
        return tuple(t for _, t in self.levels)


def media_type(filename: str) -> str | None:
    """The media type Rathaus reads a file as, from its extension; None if it cannot read it."""
    return MEDIA_TYPES.get(PurePath(filename).suffix.lower())


def parse(data: bytes, filename: str) -> ParsedDocument:
    """Read a document; raises ParseError for empty, corrupt, encrypted or mislabelled files."""
    kind = media_type(filename)
    if kind is None:
        raise ParseError("unsupported", f"files of type '{PurePath(filename).suffix}' cannot be read")
    if not data.strip():
        raise ParseError("empty", "the file is empty")
    parsed = PARSERS[kind](data)
    parsed.title = titles.choose([parsed.title, *parsed.candidates], filename)
    if not any(not b.is_heading for b in parsed.blocks):
        raise ParseError(
            "no_text", "the file contains no text (a scanned document needs text recognition first)"
        )
    return parsed


def _pdf(data: bytes) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.startswith(b"%PDF-"):
        raise ParseError("wrong_type", "the file is not a PDF although its name ends in .pdf")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError("encrypted", "the PDF is password-protected; save it without a password")
        outline = _Outline()
        sized: list[tuple[float, str]] = []
        first_lines: list[str] = []
        for number, page in enumerate(reader.pages, start=1):
            text = (
                page.extract_text(visitor_text=_sized(sized)) if number == 1 else page.extract_text()
            ) or ""
            _pdf_page(outline, text, number)
            if number == 1:
                first_lines = [line for line in text.splitlines() if line.strip()]
        metadata = str(reader.metadata.get("/Title") or "") if reader.metadata else ""
        pages = len(reader.pages)
    except ParseError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise ParseError("corrupt", f"the PDF is damaged and cannot be read ({type(exc).__name__})") from None
    except Exception as exc:  # pypdf raises many kinds of errors on broken files
        if "crypt" in str(exc).lower():
            raise ParseError("encrypted", "the PDF is encrypted in a way that cannot be read") from None
        raise ParseError("corrupt", f"the PDF is damaged and cannot be read ({type(exc).__name__})") from None
    headings = [b.text for b in outline.blocks if b.is_heading and b.page == 1][:1]
    first_line = titles.first_line(first_lines)
    return ParsedDocument("", outline.blocks, pages, [_large_type(sized), *headings, metadata, first_line])


def _sized(pieces: list[tuple[float, str]]) -> Callable[..., None]:
    """A pypdf text visitor that collects each piece of text with its type size."""
    import math

    def visit(text: str, cm: Any, tm: Any, _font: Any, size: float) -> None:
        if text.strip():
            scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
            pieces.append((round(size * scale, 1), text.strip()))

    return visit


def _large_type(pieces: list[tuple[float, str]]) -> str:
    """The first run of text in the page's largest type, when that is clearly larger than the body text
    (a title set in large type); "" otherwise."""
    sizes = [size for size, _ in pieces]
    if not sizes:
        return ""
    body = max(set(sizes), key=sizes.count)
    top = max(sizes)
    if top < 1.2 * body:
        return ""
    run: list[str] = []
    for size, text in pieces[sizes.index(top) :]:
        if size != top:
            break
        run.append(text)
    return " ".join(run)


def _pdf_page(outline: _Outline, text: str, page: int) -> None:
    """Split a page's text into paragraphs; short lines without final punctuation count as headings."""
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            outline.text(" ".join(paragraph), page)
            paragraph.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif _looks_like_heading(line):
            flush()
            outline.heading(2 if outline.levels else 1, line, page)
        elif line.startswith(("•", "- ", "– ", "* ")):
            flush()
            paragraph.append(line.lstrip("•-–* ").strip())
        else:
            paragraph.append(line)
    flush()


def _looks_like_heading(line: str) -> bool:
    return (
        len(line) <= 80
        and line[0].isupper()
        and not line.endswith((".", ",", ":", ";", "!"))
        and not line.startswith(("•", "-", "–", "*"))
        and len(line.split()) <= 9
        and not any(ch.isdigit() for ch in line[:3])
        and "€" not in line
    )


def _check_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except zipfile.BadZipFile:
        raise ParseError(
            "wrong_type", "the file is not a Word document (DOCX) although its name says so"
        ) from None
    unpacked = sum(m.file_size for m in members)
    packed = max(sum(m.compress_size for m in members), 1)
    if unpacked > MAX_UNPACKED_BYTES or unpacked / packed > MAX_PACK_RATIO:
        raise ParseError("zip_bomb", "the Word document unpacks to an implausible size and was not opened")
    if "word/document.xml" not in {m.filename for m in members}:
        raise ParseError("wrong_type", "the file is not a Word document (DOCX)")
    return archive


def _docx(data: bytes) -> ParsedDocument:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _check_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise ParseError("corrupt", f"the Word document is damaged ({type(exc).__name__})") from None
    outline = _Outline()
    top = ""  # the first paragraph styled Title or Heading 1
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            style = (item.style.name if item.style is not None else "") or ""
            level = _heading_level(style)
            if level is not None:
                outline.heading(level, item.text)
                top = top or (item.text if level <= 1 else "")
            else:
                outline.text(item.text)
        elif isinstance(item, Table):
            for row in item.rows:
                outline.text(" | ".join(dict.fromkeys(cell.text.strip() for cell in row.cells)))
    headings = [b.text for b in outline.blocks if b.is_heading][:1]
    first = titles.first_line(b.text for b in outline.blocks)
    return ParsedDocument(
        "", outline.blocks, None, [top, document.core_properties.title or "", *headings, first]
    )


def _heading_level(style: str) -> int | None:
    if style in ("Title", "Titel"):
        return 0
    found = re.match(r"(?:Heading|Überschrift)\s*(\d)", style)
    return int(found.group(1)) if found else None


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _html(data: bytes) -> ParsedDocument:
    from bs4 import BeautifulSoup, Tag

    soup = BeautifulSoup(_decode(data), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form"]):
        tag.decompose()
    for tag in soup.find_all(True):
        if isinstance(tag, Tag) and tag.attrs is not None:
            marks = " ".join(str(tag.get(key) or "") for key in ("class", "id", "role"))
            if BOILERPLATE.search(marks) and tag.name not in ("main", "article", "body", "html"):
                tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    outline = _Outline()
    for element in _html_blocks(root):
        name = element.name
        text = element.get_text(" ", strip=True)
        if re.fullmatch(r"h[1-6]", name):
            outline.heading(int(name[1]), text)
        elif name == "tr":
            cells = [c.get_text(" ", strip=True) for c in element.find_all(["th", "td"])]
            outline.text(" | ".join(cells))
        else:
            outline.text(text)
    h1 = root.find("h1") if isinstance(root, Tag) else None
    headings = [b.text for b in outline.blocks if b.is_heading][:1]
    return ParsedDocument(
        "", outline.blocks, None, [h1.get_text(" ", strip=True) if h1 else "", title, *headings]
    )


def _html_blocks(root: object) -> Iterator[Tag]:
    """The block elements of the page in order, without descending into blocks already taken."""
    from bs4 import Tag

    wanted = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "pre", "blockquote", "dd", "dt"}
    if not isinstance(root, Tag):
        return
    for child in root.children:
        if not isinstance(child, Tag):
            continue
        if child.name in wanted and not child.find(["p", "ul", "ol", "table"]):
            yield child
        else:
            yield from _html_blocks(child)


def _markdown(data: bytes) -> ParsedDocument:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(_decode(data))
    outline = _Outline()
    title = ""
    level: int | None = None
    row: list[str] | None = None
    for token in tokens:
        if token.type == "heading_open":
            level = int(token.tag[1])
        elif token.type == "inline":
            parts = [
                "\n" if c.type in ("softbreak", "hardbreak") else c.content
                for c in token.children or []
                if c.type in ("text", "code_inline", "softbreak", "hardbreak")
            ]  # a line break parts words: "gestellt. Unterlagen", not "gestellt.Unterlagen"
            text = "".join(parts) or token.content
            if level is not None:
                outline.heading(level, text)
                title = title or (text if level == 1 else "")
            elif row is not None:
                row.append(text)
            else:
                outline.text(text)
        elif token.type == "heading_close":
            level = None
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            outline.text(" | ".join(row))
            row = None
        elif token.type in ("fence", "code_block"):
            outline.text(token.content)
    headings = [b.text for b in outline.blocks if b.is_heading][:1]
    first = titles.first_line(b.text for b in outline.blocks)
    return ParsedDocument("", outline.blocks, None, [title, *headings, first])


def _text(data: bytes) -> ParsedDocument:
    outline = _Outline()
    for paragraph in re.split(r"\n\s*\n", _decode(data)):
        outline.text(paragraph)
    return ParsedDocument("", outline.blocks, None, [titles.first_line(b.text for b in outline.blocks)])


PARSERS: dict[str, Callable[[bytes], ParsedDocument]] = {
    "application/pdf": _pdf,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _docx,
    "text/html": _html,
    "text/markdown": _markdown,
    "text/plain": _text,
}
