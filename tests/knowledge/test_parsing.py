"""Reading documents: every format of the demo corpus, and every kind of broken file with its reason."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from rathaus.knowledge.chunking import MAX_CHARS, chunk
from rathaus.knowledge.files import display_name
from rathaus.knowledge.parsing import ParseError, parse

CORPUS = Path(__file__).parents[2] / "src" / "rathaus" / "knowledge" / "demo" / "corpus"


def _first(suffix: str) -> Path:
    return sorted(CORPUS.glob(f"*{suffix}"))[0]


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".html", ".md"])
def test_every_demo_format_parses_with_structure(suffix: str) -> None:
    path = _first(suffix)
    document = parse(path.read_bytes(), path.name)
    assert document.title and document.title != path.stem
    assert any(b.is_heading for b in document.blocks)
    text = " ".join(b.text for b in document.blocks)
    assert "Fiktive Beispielseite" in text or "fiktiv" in text.lower()
    if suffix == ".pdf":
        assert document.pages and all(b.page for b in document.blocks)


def test_html_boilerplate_is_left_out() -> None:
    path = _first(".html")
    text = " ".join(b.text for b in parse(path.read_bytes(), path.name).blocks)
    for boilerplate in ("Cookie", "Impressum", "Startseite"):
        assert boilerplate not in text


def test_passages_follow_sections_and_stay_bounded() -> None:
    for path in sorted(CORPUS.iterdir())[:12]:
        document = parse(path.read_bytes(), path.name)
        passages = chunk(document)
        assert passages, path.name
        assert all(len(p.text) <= MAX_CHARS + 200 for p in passages)
        assert all(p.heading for p in passages)
        assert [p.ordinal for p in passages] == list(range(len(passages)))


def _pdf_bytes(password: str | None = None) -> bytes:
    source = _first(".pdf")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source.read_bytes())))
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/media/huge.bin", b"\0" * (60 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("kaputt.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntrailer garbage", "corrupt"),
        ("geheim.pdf", _pdf_bytes("geheim"), "encrypted"),
        ("bombe.docx", _zip_bomb(), "zip_bomb"),
        ("leer.txt", b"", "empty"),
        ("bild.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "wrong_type"),
        ("brief.docx", b"%PDF-1.7 not a docx", "wrong_type"),
        ("programm.exe", b"MZ\x90\x00", "unsupported"),
    ],
)
def test_broken_files_fail_with_a_reason(name: str, data: bytes, code: str) -> None:
    with pytest.raises(ParseError) as failure:
        parse(data, name)
    assert failure.value.code == code and failure.value.reason


def test_uploaded_names_never_become_paths() -> None:
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("C:\\Users\\x\\Antrag.pdf") == "Antrag.pdf"
    assert display_name("..\u0000.bashrc") == "bashrc"
    assert display_name("") == "dokument"
    assert display_name("a" * 300 + ".pdf").endswith(".pdf")


def test_text_before_the_first_heading_is_kept() -> None:
    document = parse("Kurze Einleitung.\n\n# Gebühren\n\nDer Ausweis kostet 37 Euro.\n".encode(), "a.md")
    passages = chunk(document)
    text = " ".join(p.text for p in passages)
    assert "Kurze Einleitung." in text and "37 Euro" in text


def test_lines_of_a_markdown_paragraph_stay_words_apart() -> None:
    page = "# Reisepass\n\nDer Antrag wird persönlich gestellt.\nErforderliche Unterlagen\nPersonalausweis\n"
    document = parse(page.encode(), "a.md")
    text = "\n".join(block.text for block in document.blocks)
    assert "gestellt. Erforderliche Unterlagen Personalausweis" in text  # not "gestellt.Erforderliche…"
