"""The upload trigger: a file (PDF, Word, HTML, Markdown, text) becomes a run's input — its name, title and
text, read by the same readers as the knowledge base."""

from __future__ import annotations

from typing import Any

from rathaus.knowledge.parsing import ParseError, media_type, parse

MAX_TEXT_CHARS = 200_000


class FileRefused(ValueError):
    """The file cannot start a run; `status` is 415 for a type Rathaus cannot read, else 422."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def input_from_file(filename: str, data: bytes) -> dict[str, Any]:
    """`{filename, title, text}` of an uploaded file (text cut at MAX_TEXT_CHARS)."""
    if media_type(filename) is None:
        raise FileRefused(
            f"'{filename}' is not a type Rathaus can read (PDF, Word, HTML, Markdown, text)", 415
        )
    try:
        parsed = parse(data, filename)
    except ParseError as exc:
        raise FileRefused(f"'{filename}': {exc.reason}", 422) from None
    text = "\n\n".join(block.text for block in parsed.blocks)
    return {"filename": filename, "title": parsed.title, "text": text[:MAX_TEXT_CHARS]}
