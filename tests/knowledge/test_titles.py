"""Document titles: the first heading or a meaningful line, never an address, a program's name or a
placeholder; else the file name made readable."""

from __future__ import annotations

import io

import docx
import pytest

from rathaus.knowledge import titles
from rathaus.knowledge.parsing import parse


@pytest.mark.parametrize(
    ("candidate", "title"),
    [
        ("Satzung über die Hundesteuer", "Satzung über die Hundesteuer"),
        ("  Gebührenordnung   Friedhof  ", "Gebührenordnung Friedhof"),
        ("127.0.0.1:18437/knowledge/satzungen", ""),
        ("localhost:8000/knowledge/satzungen/dokument", ""),
        ("https://www.musterstadt.de/hundesteuer", ""),
        ("www.musterstadt.de/hundesteuer", ""),
        ("musterstadt.de/satzungen/hundesteuer.pdf", ""),
        ("C:\\Users\\amt\\Desktop\\satzung.docx", ""),
        ("file:///tmp/satzung.pdf", ""),
        ("Microsoft Word - Dokument1", ""),
        ("Microsoft Word - Antrag_auf_Wohngeld.docx", "Antrag auf Wohngeld"),
        ("Microsoft PowerPoint - Haushaltsplan 2026", "Haushaltsplan 2026"),
        ("untitled", ""),
        ("Unbenannt 3", ""),
        ("Dokument1", ""),
        ("Document 2", ""),
        ("Präsentation1", ""),
        ("PowerPoint-Präsentation", ""),
        ("Microsoft Word", ""),
        ("LibreOffice Writer", ""),
        ("Adobe Acrobat Pro", ""),
        ("satzung.pdf", ""),
        ("Seite 1", ""),
        ("- 3 -", ""),
        ("07.12.26, 18:20", ""),
        ("07.12.26, 18:20 Satzungen – Rathaus", ""),
        ("", ""),
        (None, ""),
        ("Sehr lang " * 30, ""),
    ],
)
def test_a_candidate_reads_like_a_title_or_not(candidate: str | None, title: str) -> None:
    assert titles.readable(candidate) == title


@pytest.mark.parametrize(
    ("filename", "title"),
    [
        ("satzung_hundesteuer_2024.pdf", "Satzung hundesteuer 2024"),
        ("gebuehren-friedhof.docx", "Gebuehren friedhof"),
        ("Antrag auf Wohngeld.pdf", "Antrag auf Wohngeld"),
        ("Antrag%20Wohngeld.pdf", "Antrag Wohngeld"),
        ("merkblatt.final.v2.md", "Merkblatt final v2"),
    ],
)
def test_the_file_name_is_made_readable(filename: str, title: str) -> None:
    assert titles.from_filename(filename) == title
    assert titles.choose(["127.0.0.1:18437/knowledge/x", "Dokument1", ""], filename) == title


def pdf_with_lines(lines: list[tuple[int, str]], metadata_title: str = "") -> bytes:
    """A one-page PDF of lines (type size, text) in Helvetica with a metadata title, as a browser prints."""
    content = "BT\n"
    y = 800
    for size, text in lines:
        content += f"/F1 {size} Tf 1 0 0 1 50 {y} Tm ({text}) Tj\n"
        y -= size * 2
    content += "ET\n"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content.encode('latin-1'))} >>\nstream\n{content}endstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Title ({metadata_title}) /Producer (Skia/PDF m120) >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>"
    out += f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


BODY = (11, "Die Stadt erhebt eine Steuer auf das Halten von Hunden im Stadtgebiet.")
ADDRESS = "127.0.0.1:18437/knowledge/satzungen"


@pytest.mark.parametrize(
    ("lines", "metadata", "filename", "title"),
    [
        # a browser's print: date header and address footer in small type, the heading in large type
        ([(8, "07.12.26, 18:20"), (20, "Satzung über die Hundesteuer"), BODY, (8, ADDRESS)], ADDRESS, "a.pdf",
         "Satzung über die Hundesteuer"),
        # all in one size: the first line that reads like a heading
        ([(11, ADDRESS), (11, "Gebuehrenordnung Friedhof"), BODY], "Microsoft Word - Dokument1", "b.pdf",
         "Gebuehrenordnung Friedhof"),
        # no heading at all, a good metadata title
        ([BODY], "Hundesteuersatzung", "c.pdf", "Hundesteuersatzung"),
        # no heading, useless metadata: the file name
        ([BODY], "untitled", "satzung_hundesteuer.pdf", "Satzung hundesteuer"),
    ],
)  # fmt: skip
def test_pdf_titles(lines: list[tuple[int, str]], metadata: str, filename: str, title: str) -> None:
    assert parse(pdf_with_lines(lines, metadata), filename).title == title


def _docx(core_title: str, heading: str | None) -> bytes:
    document = docx.Document()
    document.core_properties.title = core_title
    if heading:
        document.add_heading(heading, level=1)
    document.add_paragraph("Die Stadt erhebt eine Steuer auf das Halten von Hunden im Stadtgebiet.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "title"),
    [
        (_docx("Dokument1", "Hundesteuersatzung"), "x.docx", "Hundesteuersatzung"),
        (_docx("Microsoft Word - Vorlage.docx", None), "satzung-hundesteuer.docx", "Satzung hundesteuer"),
        (
            b"<html><head><title>127.0.0.1:8000/knowledge</title></head><body><main><h1>Sperrm\xc3\xbcll</h1>"
            b"<p>Sperrm\xc3\xbcll wird auf Anmeldung abgeholt.</p></main></body></html>",
            "x.html",
            "Sperrmüll",
        ),
        (
            b"<html><head><title>Wohngeld - Musterstadt</title></head>"
            b"<body><p>Wohngeld gibt es.</p></body></html>",
            "x.html",
            "Wohngeld - Musterstadt",
        ),
        (b"Vorwort ohne Titel.\n\n# Marktordnung\n\nDer Markt ist dienstags.", "x.md", "Marktordnung"),
        (
            b"Nur ein Absatz ohne \xc3\x9cberschrift, aber lang genug." * 5,
            "notizen_markt.md",
            "Notizen markt",
        ),
    ],
)
def test_titles_of_other_formats(data: bytes, filename: str, title: str) -> None:
    assert parse(data, filename).title == title


@pytest.mark.parametrize(
    ("title", "generated"),
    [
        ("127.0.0.1:18437/knowledge/satzungen", True),
        ("https://www.musterstadt.de/a", True),
        ("Microsoft Word - Dokument1", True),
        ("Dokument1", True),
        ("satzung.pdf", True),
        ("Satzung über die Hundesteuer", False),
        ("Hundesteuer " * 25, False),  # long, but given by a person
        ("", False),
    ],
)
def test_a_stored_title_made_by_a_program_is_recognised(title: str, generated: bool) -> None:
    assert titles.generated(title) is generated
