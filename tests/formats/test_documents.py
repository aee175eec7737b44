"""Spec documents: errors at field and line, shipped templates valid, published schemas current."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from rathaus.assistants.spec import AssistantSpec
from rathaus.assistants.templates import templates
from rathaus.formats.documents import DocumentError, dump_document, load_document
from rathaus.schemas import rendered, schema_of

ROOT = Path(__file__).resolve().parents[2]

BROKEN = """apiVersion: rathaus/v1
kind: Assistant
metadata:
  name: Falscher Name
  title: Test
spec:
  instructions: Hallo
  creativity: wild
  model:
    mode: tier
"""


def test_every_problem_has_its_field_and_line() -> None:
    with pytest.raises(DocumentError) as raised:
        load_document(AssistantSpec, BROKEN)
    found = {(p.path, p.line) for p in raised.value.problems}
    assert ("metadata.name", 4) in found
    assert ("spec.creativity", 8) in found
    assert ("spec.model", 9) in found


def test_yaml_syntax_errors_name_the_line() -> None:
    with pytest.raises(DocumentError) as raised:
        load_document(AssistantSpec, "apiVersion: rathaus/v1\nmetadata:\n  name: [x\n  title: y\n")
    assert raised.value.problems[0].line is not None and "not valid YAML" in raised.value.problems[0].message


def test_templates_are_valid_and_round_trip() -> None:
    shipped = templates()
    assert {"buergeranfrage", "leichte-sprache", "zusammenfassen", "brief", "vermerk"} <= shipped.keys()
    for spec in shipped.values():
        assert load_document(AssistantSpec, dump_document(spec)) == spec
        jsonschema.validate(
            spec.model_dump(mode="json", by_alias=True), schema_of(AssistantSpec, "assistant")
        )


def test_published_schemas_are_current() -> None:
    for filename, text in rendered().items():
        published = ROOT / "docs" / "schemas" / filename
        assert published.read_text(encoding="utf-8") == text, f"run `rathaus spec schemas` ({filename})"
        json.loads(text)
