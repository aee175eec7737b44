"""Exporting a conversation as Markdown or as a Word document (DOCX) for the file or an e-mail."""

from __future__ import annotations

import io
from datetime import datetime

from rathaus.llm.backend import Message

AI_NOTE = "Die Antworten des Assistenten wurden von einer KI erzeugt."


def as_markdown(title: str, assistant_title: str, when: datetime, messages: list[Message]) -> str:
    """The conversation as Markdown: a heading per message, the text as it was written."""
    lines = [
        f"# {title}",
        "",
        f"Assistent: {assistant_title} · {when:%d.%m.%Y %H:%M} UTC",
        "",
        f"_{AI_NOTE}_",
        "",
    ]
    for message in messages:
        lines += [f"## {'Sie' if message.role == 'user' else 'Assistent'}", "", message.content.strip(), ""]
    return "\n".join(lines)


def as_docx(title: str, assistant_title: str, when: datetime, messages: list[Message]) -> bytes:
    """The conversation as a DOCX document with real headings (navigable with a screen reader)."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.language = "de-DE"
    document.add_heading(title, level=1)
    document.add_paragraph(f"Assistent: {assistant_title} · {when:%d.%m.%Y %H:%M} UTC")
    document.add_paragraph().add_run(AI_NOTE).italic = True
    for message in messages:
        document.add_heading("Sie" if message.role == "user" else "Assistent", level=2)
        for paragraph in message.content.strip().split("\n\n"):
            document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
