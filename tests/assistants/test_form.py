"""The builder's form ↔ document mapping: nothing lost, problems land on their fields."""

from __future__ import annotations

import json

from rathaus.assistants import form
from rathaus.assistants.templates import templates
from rathaus.formats.documents import Problem


def test_form_round_trip_keeps_fields_the_form_does_not_show() -> None:
    document = templates()["buergeranfrage"].model_dump(mode="json", by_alias=True)
    document["spec"]["knowledge"] = ["satzungen"]
    values = form.form_from_document(document)
    assert values["starters"].count("\n") == 1 and values["model_mode"] == "auto"

    values["instructions"] = "Antworte kurz.\r\nImmer freundlich."
    values["starters"] = "Erste Frage\n\n  Zweite Frage  \n"
    rebuilt, problems = form.document_from_form(values, form.base_document(json.dumps(document)))
    assert problems == []
    assert rebuilt["spec"]["instructions"] == "Antworte kurz.\nImmer freundlich."
    assert rebuilt["spec"]["starters"] == ["Erste Frage", "Zweite Frage"]
    assert rebuilt["spec"]["knowledge"] == ["satzungen"]  # carried by the hidden document
    spec, problems = form.check(rebuilt)
    assert spec is not None and problems == []


def test_model_and_schema_fields_follow_their_mode() -> None:
    base = form.base_document(None)
    values = {"model_mode": "tier", "model_tier": "2", "model_profile": "x", "output_format": "text"}
    values["output_schema"] = '{"type": "object"}'
    document, _ = form.document_from_form(values, base)
    assert document["spec"]["model"] == {"mode": "tier", "tier": 2}
    assert "schema" not in document["spec"]["output"]

    values.update(output_format="json", output_schema="{kaputt")
    document, problems = form.document_from_form(values, base)
    assert [p.path for p in problems] == ["spec.output.schema"]
    assert form.field_of(problems[0]) == "output_schema"


def test_problems_are_mapped_to_form_fields() -> None:
    document, _ = form.document_from_form({"name": "Mit Leerzeichen", "title": "", "creativity": "sehr"}, {})
    spec, problems = form.check(document)
    assert spec is None
    fields = {form.field_of(p) for p in problems}
    assert {"name", "title", "creativity", "instructions"} <= fields
    assert form.field_of(Problem("spec.model", "mode 'tier' needs a tier")) == "model_mode"
    assert form.field_of(Problem("kind", "wrong")) is None


def test_broken_hidden_document_starts_empty() -> None:
    assert form.base_document("[1, 2]")["kind"] == "Assistant"
    assert form.base_document("{nicht json")["apiVersion"] == "rathaus/v1"


def test_yaml_of_unfinished_documents_keeps_text_readable() -> None:
    text = form.to_yaml({"spec": {"instructions": "Zeile eins\nZeile zwei für Bürger"}})
    assert "instructions: |-\n    Zeile eins\n    Zeile zwei für Bürger" in text
