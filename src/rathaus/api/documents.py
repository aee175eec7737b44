"""Reading a document from a request body: YAML (`application/yaml`) or JSON, with field positions."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from rathaus.api.errors import ApiError
from rathaus.formats.documents import parse_mapping


async def document_data(request: Request) -> tuple[Any, dict[tuple[str | int, ...], Any]]:
    """The parsed body and, for YAML, where each field stands (so that errors name the line)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "The document must be UTF-8 text.", "invalid_encoding") from None
    if "yaml" in request.headers.get("content-type", ""):
        return parse_mapping(text)
    try:
        return json.loads(text), {}
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, f"The body is not valid JSON: {exc.msg} (line {exc.lineno}).", "invalid_json"
        ) from None
