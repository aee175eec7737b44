#!/usr/bin/env python3
"""Build the mixed-format demo corpus of the fictional city of Musterstadt.

The service pages ("Dienstleistungen A–Z") are maintained as Markdown files in
``src/rathaus/knowledge/demo/pages/<id>.md``. This script turns them into the
corpus that the platform ships with and that the retrieval benchmark uses:

* ``src/rathaus/knowledge/demo/corpus/`` receives every page in exactly one
  format. The format is chosen deterministically by the position of the page in
  the sorted list of ids: index % 4 == 0 -> PDF, 1 -> DOCX, 2 -> HTML and
  3 -> Markdown (copied unchanged). The mix exercises all document extractors.
* ``bench/datasets/musterstadt/corpus.jsonl`` receives the BEIR corpus: one JSON
  object per page (``_id``, ``title``, ``text``) with the page as plain text.

Finally the BEIR dataset (corpus, ``queries.jsonl`` and ``qrels/test.tsv``) is
validated and its counts are printed.

The output is deterministic: the same sources give the same bytes (fixed PDF
creation date, fixed DOCX core properties and ZIP timestamps).

Requirements (only for building, not at run time of the platform): ``fpdf2``,
``python-docx`` and ``markdown-it-py``.

Usage::

    python scripts/build-demo-corpus.py            # build and validate
    python scripts/build-demo-corpus.py --check    # only validate the dataset
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import sys
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGES_DIR = REPO_ROOT / "src" / "rathaus" / "knowledge" / "demo" / "pages"
CORPUS_DIR = REPO_ROOT / "src" / "rathaus" / "knowledge" / "demo" / "corpus"
DATASET_DIR = REPO_ROOT / "bench" / "datasets" / "musterstadt"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

FORMATS = ("pdf", "docx", "html", "md")
OUTPUT_SUFFIXES = tuple(f".{fmt}" for fmt in FORMATS)
FIXED_DATE = datetime(2025, 1, 1, 8, 0, 0, tzinfo=UTC)
ZIP_DATE = (2025, 1, 1, 8, 0, 0)
CITY = "Stadt Musterstadt"
SECTION = "Dienstleistungen A–Z"


# --------------------------------------------------------------------------- #
# Markdown -> simple block model
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Run:
    """A piece of inline text with its formatting."""

    text: str
    bold: bool = False
    italic: bool = False
    href: str | None = None


@dataclass
class Block:
    """A block of the page: heading, paragraph, list item or table."""

    kind: str  # "heading", "paragraph", "item" or "table"
    runs: list[Run] = field(default_factory=list)
    level: int = 0  # heading level (1-3)
    ordered: bool = False  # list items: numbered list?
    number: int = 0  # list items: position in a numbered list (1-based)
    list_id: int = 0  # list items: items of the same list share this id
    rows: list[list[str]] = field(default_factory=list)  # tables: first row is the header

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs).strip()


@dataclass
class Page:
    """A parsed source page."""

    page_id: str
    title: str
    markdown: str
    blocks: list[Block]


def markdown_parser() -> MarkdownIt:
    """Return a CommonMark parser with tables enabled."""
    return MarkdownIt("commonmark").enable("table")


def inline_runs(children: list[Token]) -> list[Run]:
    """Convert the children of an ``inline`` token into formatted runs."""
    runs: list[Run] = []
    bold = italic = False
    href: str | None = None
    for tok in children or []:
        if tok.type == "text" or tok.type == "code_inline":
            runs.append(Run(tok.content, bold, italic, href))
        elif tok.type in ("softbreak", "hardbreak"):
            runs.append(Run(" ", bold, italic, href))
        elif tok.type == "strong_open":
            bold = True
        elif tok.type == "strong_close":
            bold = False
        elif tok.type == "em_open":
            italic = True
        elif tok.type == "em_close":
            italic = False
        elif tok.type == "link_open":
            href = str(tok.attrs.get("href", "")) or None
        elif tok.type == "link_close":
            href = None
    return [run for run in runs if run.text]


def parse_page(page_id: str, markdown: str) -> Page:
    """Parse a Markdown page into blocks; the first ``#`` heading is the title."""
    tokens = markdown_parser().parse(markdown)
    blocks: list[Block] = []
    list_stack: list[tuple[bool, int]] = []  # (ordered, list id)
    counters: list[int] = []
    list_counter = 0
    table_rows: list[list[str]] | None = None
    current_row: list[str] | None = None
    pending: Block | None = None
    for tok in tokens:
        kind = tok.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            list_counter += 1
            list_stack.append((kind == "ordered_list_open", list_counter))
            counters.append(int(tok.attrs.get("start", 1) or 1) - 1)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_stack.pop()
            counters.pop()
        elif kind == "list_item_open":
            counters[-1] += 1
            ordered, list_id = list_stack[-1]
            pending = Block("item", ordered=ordered, number=counters[-1], list_id=list_id)
        elif kind == "heading_open":
            pending = Block("heading", level=int(tok.tag[1]))
        elif kind == "paragraph_open" and pending is None:
            pending = Block("paragraph")
        elif kind == "table_open":
            table_rows = []
        elif kind == "tr_open":
            current_row = []
        elif kind == "tr_close" and table_rows is not None and current_row is not None:
            table_rows.append(current_row)
            current_row = None
        elif kind == "table_close" and table_rows is not None:
            blocks.append(Block("table", rows=table_rows))
            table_rows = None
        elif kind == "inline":
            runs = inline_runs(tok.children or [])
            if current_row is not None:
                current_row.append("".join(run.text for run in runs).strip())
            elif pending is not None:
                pending.runs.extend(runs)
        elif kind in ("heading_close", "paragraph_close", "list_item_close") and pending is not None:
            # inside a list item, its paragraph ends with the item, not with the paragraph
            if pending.kind == "item" and kind != "list_item_close":
                continue
            if pending.runs:
                blocks.append(pending)
            pending = None
    if not blocks or blocks[0].kind != "heading" or blocks[0].level != 1:
        raise ValueError(f"{page_id}: the first line must be a '# ' title")
    title = blocks[0].text
    return Page(page_id=page_id, title=title, markdown=markdown, blocks=blocks)


def load_pages(pages_dir: Path) -> list[Page]:
    """Read and parse all ``*.md`` pages, sorted by id."""
    pages = []
    for path in sorted(pages_dir.glob("*.md")):
        pages.append(parse_page(path.stem, path.read_text(encoding="utf-8")))
    if not pages:
        raise SystemExit(f"no pages found in {pages_dir}")
    return pages


def plain_text(page: Page) -> str:
    """Render a page as plain text without Markdown markers (title excluded)."""
    lines: list[str] = []
    for block in page.blocks[1:]:
        if block.kind == "table":
            lines.extend(" | ".join(cell for cell in row) for row in block.rows)
        elif block.kind == "item" and block.ordered:
            lines.append(f"{block.number}. {block.text}")
        else:
            lines.append(block.text)
    return "\n".join(line for line in lines if line)


# --------------------------------------------------------------------------- #
# PDF
# --------------------------------------------------------------------------- #


def write_pdf(page: Page, target: Path, font_dir: Path) -> None:
    """Write the page as an A4 PDF with real text (fpdf2, DejaVu Sans)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", str(font_dir / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(font_dir / "DejaVuSans-Bold.ttf"))
    italic_font = font_dir / "DejaVuSans-Oblique.ttf"
    has_italic = italic_font.exists()
    if has_italic:
        pdf.add_font("DejaVu", "I", str(italic_font))
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(page.title)
    pdf.set_author(CITY)
    pdf.set_subject(SECTION)
    pdf.set_creator(CITY)
    pdf.set_lang("de")
    pdf.set_creation_date(FIXED_DATE)
    pdf.add_page()

    body_size, line_h = 10.5, 5.6
    heading_sizes = {1: 18, 2: 13.5, 3: 11.5}

    def style_of(run: Run) -> str:
        if run.bold:
            return "B"
        if run.italic and has_italic:
            return "I"
        return ""

    def write_runs(runs: list[Run]) -> None:
        for run in runs:
            pdf.set_font("DejaVu", style_of(run), body_size)
            pdf.write(line_h, run.text, link=run.href or "")

    previous = ""
    for block in page.blocks:
        if block.kind == "heading":
            size = heading_sizes.get(block.level, 11.5)
            # keep a heading together with the first lines of its section
            if pdf.get_y() > pdf.page_break_trigger - 30:
                pdf.add_page()
            pdf.ln(4 if block.level > 1 else 0)
            pdf.set_font("DejaVu", "B", size)
            pdf.multi_cell(0, size * 0.5, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif block.kind == "paragraph":
            write_runs(block.runs)
            pdf.ln(line_h)
            pdf.ln(2)
        elif block.kind == "item":
            marker = f"{block.number}." if block.ordered else "•"
            indent = 7.0
            pdf.set_font("DejaVu", "", body_size)
            pdf.set_x(pdf.l_margin + 2)
            pdf.cell(indent - 2, line_h, marker)
            left = pdf.l_margin
            pdf.set_left_margin(left + indent)
            write_runs(block.runs)
            pdf.set_left_margin(left)
            pdf.ln(line_h)
            pdf.ln(1)
        elif block.kind == "table":
            if previous == "item":
                pdf.ln(1)
            pdf.set_font("DejaVu", "", body_size - 1)
            with pdf.table(
                first_row_as_headings=True,
                headings_style=FontFace(emphasis="BOLD", fill_color=(230, 236, 242)),
                line_height=5.2,
                text_align="LEFT",
                borders_layout="HORIZONTAL_LINES",
            ) as table:
                for row in block.rows:
                    cells = table.row()
                    for cell in row:
                        cells.cell(cell)
            pdf.ln(3)
        previous = block.kind
    target.write_bytes(bytes(pdf.output()))


# --------------------------------------------------------------------------- #
# DOCX
# --------------------------------------------------------------------------- #


def _restart_numbering(document: Any, paragraphs: list[Any]) -> None:
    """Make the given "List Number" paragraphs a list of their own, starting at 1."""
    style_num = document.styles["List Number"].element.pPr.numPr.numId.val
    numbering = document.part.numbering_part.element
    abstract_id = next(num.abstractNumId.val for num in numbering.num_lst if num.numId == style_num)
    num = numbering.add_num(abstract_id)
    num.add_lvlOverride(ilvl=0).add_startOverride(1)
    for paragraph in paragraphs:
        num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = 0
        num_pr.get_or_add_numId().val = num.numId


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a ZIP archive with fixed timestamps so that the output is reproducible."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return buffer.getvalue()


def write_docx(page: Page, target: Path) -> None:
    """Write the page as a Word document with real heading, list and table styles."""
    from docx import Document
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = Document()
    normal = document.styles["Normal"]
    r_pr = normal.element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "de-DE")
    r_pr.append(lang)

    heading_styles = {1: "Title", 2: "Heading 1", 3: "Heading 2"}
    numbered: dict[int, list[Any]] = {}
    for block in page.blocks:
        if block.kind == "heading":
            document.add_paragraph(block.text, style=heading_styles.get(block.level, "Heading 3"))
            continue
        if block.kind == "table":
            table = document.add_table(rows=len(block.rows), cols=max(len(row) for row in block.rows))
            table.style = "Table Grid"
            for r, row in enumerate(block.rows):
                for c, value in enumerate(row):
                    run = table.cell(r, c).paragraphs[0].add_run(value)
                    run.bold = r == 0
            document.add_paragraph()
            continue
        if block.kind == "item":
            style = "List Number" if block.ordered else "List Bullet"
            paragraph = document.add_paragraph(style=style)
            if block.ordered:
                numbered.setdefault(block.list_id, []).append(paragraph)
        else:
            paragraph = document.add_paragraph()
        for item in block.runs:
            run = paragraph.add_run(item.text)
            run.bold = item.bold or None
            run.italic = item.italic or None
    for paragraphs in numbered.values():
        _restart_numbering(document, paragraphs)

    props = document.core_properties
    props.title = page.title
    props.subject = SECTION
    props.author = CITY
    props.last_modified_by = CITY
    props.comments = ""
    props.keywords = "Musterstadt; Verwaltung; Dienstleistung"
    props.language = "de-DE"
    props.created = FIXED_DATE.replace(tzinfo=None)
    props.modified = FIXED_DATE.replace(tzinfo=None)
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    target.write_bytes(_normalise_zip(buffer.getvalue()))


# --------------------------------------------------------------------------- #
# HTML
# --------------------------------------------------------------------------- #

HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="de">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} – {city}</title>
  <meta name="description" content="{title}: Informationen der {city} zu Zuständigkeit, Unterlagen, \
Gebühren und Kontakt.">
  <link rel="stylesheet" href="/assets/css/portal.css">
  <link rel="icon" href="/assets/img/favicon.ico">
</head>
<body>
  <a class="skip-link" href="#inhalt">Zum Inhalt springen</a>
  <header class="site-header">
    <a class="logo" href="/"><img src="/assets/img/wappen.svg" alt="Wappen der {city}"> {city}</a>
    <nav class="main-nav" aria-label="Hauptnavigation">
      <ul>
        <li><a href="/">Startseite</a></li>
        <li><a href="/rathaus-politik/">Rathaus &amp; Politik</a></li>
        <li><a href="/leben/">Leben in Musterstadt</a></li>
        <li><a href="/dienstleistungen/">Dienstleistungen A–Z</a></li>
        <li><a href="/wirtschaft/">Wirtschaft &amp; Bauen</a></li>
        <li><a href="/kontakt/">Kontakt</a></li>
      </ul>
    </nav>
    <form class="site-search" action="/suche/" role="search">
      <label for="q">Suche</label>
      <input id="q" name="q" type="search" placeholder="Suchbegriff eingeben">
      <button type="submit">Suchen</button>
    </form>
    <nav class="breadcrumb" aria-label="Sie sind hier">
      <a href="/">Startseite</a> › <a href="/dienstleistungen/">Dienstleistungen A–Z</a> › {title}
    </nav>
  </header>
  <div class="cookie-banner" role="dialog" aria-label="Cookie-Hinweis">
    <p>Diese Website verwendet nur technisch notwendige Cookies. Mit Ihrer Zustimmung nutzen wir \
zusätzlich eine datenschutzfreundliche Reichweitenmessung. Weitere Informationen finden Sie in der \
<a href="/datenschutz/">Datenschutzerklärung</a>.</p>
    <button type="button" data-consent="all">Alle akzeptieren</button>
    <button type="button" data-consent="necessary">Nur notwendige Cookies</button>
  </div>
  <main id="inhalt">
    <article class="service-page" data-service-id="{page_id}">
{body}
    </article>
  </main>
  <footer class="site-footer">
    <p>{city} · Marktplatz 1 · 12345 Musterstadt · Telefon 01234 567-0</p>
    <ul>
      <li><a href="/impressum/">Impressum</a></li>
      <li><a href="/datenschutz/">Datenschutz</a></li>
      <li><a href="/barrierefreiheit/">Erklärung zur Barrierefreiheit</a></li>
      <li><a href="/leichte-sprache/">Leichte Sprache</a></li>
    </ul>
    <p class="copyright">© {city}</p>
  </footer>
  <script>
    document.querySelectorAll(".cookie-banner button").forEach(function (button) {{
      button.addEventListener("click", function () {{
        localStorage.setItem("cookie-consent", button.dataset.consent);
        document.querySelector(".cookie-banner").hidden = true;
      }});
    }});
    if (localStorage.getItem("cookie-consent")) {{
      document.querySelector(".cookie-banner").hidden = true;
    }}
  </script>
</body>
</html>
"""


def write_html(page: Page, target: Path) -> None:
    """Write the page as a complete HTML5 document with portal boilerplate around the article."""
    body = markdown_parser().render(page.markdown)
    indented = "\n".join(f"      {line}" if line else "" for line in body.rstrip("\n").splitlines())
    document = HTML_TEMPLATE.format(
        title=html.escape(page.title),
        city=CITY,
        page_id=page.page_id,
        body=indented,
    )
    target.write_text(document, encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------- #
# Markdown and BEIR corpus
# --------------------------------------------------------------------------- #


def write_markdown(page: Page, target: Path) -> None:
    """Copy the Markdown source unchanged."""
    target.write_text(page.markdown, encoding="utf-8", newline="\n")


def write_beir_corpus(pages: list[Page], target: Path) -> None:
    """Write ``corpus.jsonl`` with one object per page in sorted id order."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="\n") as handle:
        for page in pages:
            record = {"_id": page.page_id, "title": page.title, "text": plain_text(page)}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def format_for(index: int) -> str:
    """Return the output format for the page at ``index`` of the sorted id list."""
    return FORMATS[index % len(FORMATS)]


def build_corpus(pages: list[Page], corpus_dir: Path, font_dir: Path) -> Counter[str]:
    """Write every page in its format into ``corpus_dir``; stale output files are removed."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for old in corpus_dir.iterdir():
        if old.is_file() and old.suffix in OUTPUT_SUFFIXES:
            old.unlink()
    writers: dict[str, Callable[[Page, Path], None]] = {
        "pdf": lambda page, path: write_pdf(page, path, font_dir),
        "docx": write_docx,
        "html": write_html,
        "md": write_markdown,
    }
    counts: Counter[str] = Counter()
    for index, page in enumerate(pages):
        fmt = format_for(index)
        writers[fmt](page, corpus_dir / f"{page.page_id}.{fmt}")
        counts[fmt] += 1
    return counts


# --------------------------------------------------------------------------- #
# Validation of the BEIR dataset
# --------------------------------------------------------------------------- #


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSON Lines file."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{path}:{number}: invalid JSON ({exc})") from exc


def validate_dataset(dataset_dir: Path) -> list[str]:
    """Check the BEIR dataset for consistency; print counts and return a list of problems."""
    problems: list[str] = []
    corpus = list(read_jsonl(dataset_dir / "corpus.jsonl"))
    corpus_ids = [doc["_id"] for doc in corpus]
    if len(set(corpus_ids)) != len(corpus_ids):
        problems.append("corpus.jsonl: duplicate _id values")
    if corpus_ids != sorted(corpus_ids):
        problems.append("corpus.jsonl: ids are not sorted")
    queries_path = dataset_dir / "queries.jsonl"
    qrels_path = dataset_dir / "qrels" / "test.tsv"
    if not queries_path.exists() or not qrels_path.exists():
        print(f"corpus: {len(corpus)} documents (queries or qrels missing, nothing else checked)")
        return problems

    queries = list(read_jsonl(queries_path))
    query_ids = [query["_id"] for query in queries]
    if len(set(query_ids)) != len(query_ids):
        dupes = sorted(qid for qid, n in Counter(query_ids).items() if n > 1)
        problems.append(f"queries.jsonl: duplicate ids {dupes}")
    answerable = {q["_id"] for q in queries if q.get("metadata", {}).get("answerable", True)}
    unanswerable = {q["_id"] for q in queries} - answerable

    qrels: dict[str, set[str]] = {}
    with qrels_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header != ["query-id", "corpus-id", "score"]:
            problems.append(f"qrels/test.tsv: unexpected header {header}")
        for row in reader:
            if len(row) != 3:
                problems.append(f"qrels/test.tsv: malformed line {row}")
                continue
            qid, doc_id, score = row
            if doc_id not in set(corpus_ids):
                problems.append(f"qrels/test.tsv: unknown corpus-id {doc_id!r} ({qid})")
            if qid not in answerable:
                problems.append(f"qrels/test.tsv: {qid} is not an answerable query")
            if doc_id in qrels.get(qid, set()):
                problems.append(f"qrels/test.tsv: duplicate pair {qid} {doc_id}")
            if score != "1":
                problems.append(f"qrels/test.tsv: score {score!r} for {qid} (expected 1)")
            qrels.setdefault(qid, set()).add(doc_id)

    for qid in sorted(answerable - set(qrels)):
        problems.append(f"{qid}: answerable query without qrels")
    per_page = Counter(doc_id for docs in qrels.values() for doc_id in docs)
    for doc_id in corpus_ids:
        if per_page[doc_id] < 2:
            problems.append(f"{doc_id}: only {per_page[doc_id]} relevant queries (at least 2 expected)")

    words = sum(len(f"{doc['title']} {doc['text']}".split()) for doc in corpus)
    multi = sum(1 for docs in qrels.values() if len(docs) > 1)
    print(f"corpus: {len(corpus)} documents, {words} words")
    print(f"queries: {len(queries)} ({len(answerable)} answerable, {len(unanswerable)} unanswerable)")
    print(f"qrels: {sum(len(d) for d in qrels.values())} lines, {multi} queries with two or more pages")
    return problems


# --------------------------------------------------------------------------- #
# Command line
# --------------------------------------------------------------------------- #


def main(argv: list[str] | None = None) -> int:
    """Build the corpus and validate the dataset; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=Path, default=PAGES_DIR, help="directory with the Markdown pages")
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS_DIR, help="output directory of the corpus")
    parser.add_argument("--dataset-dir", type=Path, default=DATASET_DIR, help="BEIR dataset directory")
    parser.add_argument("--font-dir", type=Path, default=FONT_DIR, help="directory with the DejaVu fonts")
    parser.add_argument("--check", action="store_true", help="only validate the BEIR dataset")
    args = parser.parse_args(argv)

    if not args.check:
        for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
            if not (args.font_dir / name).exists():
                raise SystemExit(f"font {name} not found in {args.font_dir}")
        pages = load_pages(args.pages)
        counts = build_corpus(pages, args.corpus_dir, args.font_dir)
        write_beir_corpus(pages, args.dataset_dir / "corpus.jsonl")
        summary = ", ".join(f"{counts[fmt]} {fmt}" for fmt in FORMATS)
        print(f"pages: {len(pages)} -> {args.corpus_dir} ({summary})")

    problems = validate_dataset(args.dataset_dir)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
