"""JSON Schemas of the document kinds, generated from the pydantic models (the single source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rathaus.assistants.spec import AssistantSpec
from rathaus.llm.catalogue import CatalogueFile
from rathaus.workflows.spec import WorkflowSpec

KINDS: dict[str, type[BaseModel]] = {
    "assistant": AssistantSpec,
    "model-catalogue": CatalogueFile,
    "workflow": WorkflowSpec,
}


def schema_of(model: type[BaseModel], name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one document kind, as people write it (aliases)."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"rathaus/v1/{name}.schema.json",
        **schema,
    }


def rendered() -> dict[str, str]:
    """File name → schema text, for every document kind."""
    return {
        f"{name}.schema.json": json.dumps(schema_of(model, name), ensure_ascii=False, indent=2) + "\n"
        for name, model in KINDS.items()
    }


def write_schemas(folder: Path) -> list[Path]:
    """Write all schemas into `folder`; returns the written paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in rendered().items():
        path = folder / filename
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
