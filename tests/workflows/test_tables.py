"""Lists and sections of step settings as rows: categories, details to read out, names and values — each
turned into rows and back without loss, empty rows left out, and what no table can show left to YAML."""

from __future__ import annotations

import json

from rathaus.workflows.spec import load_workflow
from rathaus.workflows.tables import LABELS, PAIRS, SCHEMA, key_of, rows_from_form
from rathaus.workflows.templates import templates


def _settings(step_id: str) -> dict[str, object]:
    spec = templates()["buergeranfrage"]
    return next(s.settings for s in spec.spec.steps if s.id == step_id)


def test_the_templates_categories_and_details_come_back_the_same_from_their_rows() -> None:
    labels = _settings("abteilung")["labels"]
    rows = LABELS.to_rows(labels)
    assert rows is not None and rows[0] == {
        "value": "Bürgerbüro",
        "description": "Personalausweis, Reisepass, Meldebescheinigung, Ummeldung, Führungszeugnis",
        "examples": "Mein Reisepass ist abgelaufen. Wie beantrage ich einen neuen?\n"
        "Ich bin neu zugezogen und muss meinen Wohnsitz anmelden.",
    }
    assert LABELS.from_rows([*rows, {"value": "", "description": "", "examples": ""}]) == labels

    schema = _settings("anliegen")["schema"]
    rows = SCHEMA.to_rows(schema)
    assert rows is not None and [(r["key"], r["type"], r["always"]) for r in rows] == [
        ("name", "text", ""),
        ("anliegen", "text", "1"),
        ("frist", "text", ""),
    ]
    assert SCHEMA.from_rows(rows) == schema


def test_new_rows_make_categories_with_examples_and_details_of_every_kind() -> None:
    labels = LABELS.from_rows(
        [{"value": " Bauamt ", "description": "Bauantrag", "examples": "Ich will eine Garage bauen.\n\n"}]
    )
    assert labels == [
        {"value": "Bauamt", "description": "Bauantrag", "examples": ["Ich will eine Garage bauen."]}
    ]
    schema = SCHEMA.from_rows(
        [
            {"key": "", "title": "Frist bis", "description": "Bis wann", "type": "date", "always": ""},
            {"key": "", "title": "Anzahl Bäume", "description": "", "type": "integer", "always": "1"},
            {"key": "", "title": "Anlagen", "description": "", "type": "list", "always": ""},
            {"key": "", "title": "", "description": "ohne Namen: leer", "type": "text", "always": ""},
        ]
    )
    assert schema == {
        "type": "object",
        "additionalProperties": False,
        "required": ["frist_bis", key_of("Anzahl Bäume"), "anlagen"],
        "properties": {
            "frist_bis": {
                "type": ["string", "null"],
                "title": "Frist bis",
                "description": "Bis wann",
                "format": "date",
            },
            key_of("Anzahl Bäume"): {"type": "integer", "title": "Anzahl Bäume"},
            "anlagen": {"type": ["array", "null"], "title": "Anlagen", "items": {"type": "string"}},
        },
    }
    assert LABELS.from_rows([]) is None and SCHEMA.from_rows([]) is None


def test_a_renamed_detail_keeps_its_key_so_later_steps_still_find_it() -> None:
    rows = SCHEMA.to_rows(_settings("anliegen")["schema"])
    assert rows is not None
    rows[2]["title"] = "Gewünschter Termin"
    schema = SCHEMA.from_rows(rows)
    assert schema is not None and schema["properties"]["frist"]["title"] == "Gewünschter Termin"


def test_names_and_values_and_what_no_table_can_show() -> None:
    details = _settings("freigabe")["details"]
    rows = PAIRS.to_rows(details)
    assert rows == [
        {"key": "Nachricht", "value": "{{ input.nachricht }}"},
        {"key": "Zuständiges Amt", "value": "{{ steps.abteilung.output.label }}"},
    ]
    assert PAIRS.from_rows([*rows, {"key": " ", "value": "ohne Namen"}]) == details
    assert PAIRS.to_rows({"a": {"b": 1}}) is None  # nested: stays YAML
    assert SCHEMA.to_rows({"type": "object", "properties": {"k": {"type": "object"}}}) is None


def test_rows_are_read_from_the_form_in_row_order() -> None:
    form = {"t.labels.1.value": "B", "t.labels.0.value": "A", "t.labels.0.description": "a", "s.text": "x"}
    assert rows_from_form(form, "labels") == [{"value": "A", "description": "a"}, {"value": "B"}]
    assert rows_from_form(form, "schema") is None


def test_a_workflow_made_from_rows_is_valid() -> None:
    schema = SCHEMA.from_rows([{"title": "Frist", "type": "date"}, {"title": "Name", "type": "text"}])
    labels = LABELS.from_rows([{"value": "A"}, {"value": "B"}])
    document = {
        "apiVersion": "rathaus/v1",
        "kind": "Workflow",
        "metadata": {"name": "zeilen", "title": "Zeilen"},
        "spec": {
            "steps": [
                {"id": "lesen", "type": "extract", "with": {"text": "x", "schema": schema}},
                {"id": "sortieren", "type": "classify", "with": {"text": "x", "labels": labels}},
            ]
        },
    }
    assert load_workflow(json.dumps(document)).metadata.name == "zeilen"


def test_a_value_rows_would_change_stays_yaml() -> None:
    from rathaus.workflows.editing import field_rows, fields_of

    def rows_of(step_type: str, settings: dict[str, object]) -> object:
        [field] = [f for f in fields_of(step_type) if f.kind == "rows"][:1]
        return field_rows({"type": step_type, "with": settings}, field)

    assert rows_of("http", {"headers": {"X-Prio": "2"}}) == [{"key": "X-Prio", "value": "2"}]
    body = {"type": "approval", "with": {"details": {"prioritaet": 2, "dringend": True}}}
    [details] = [f for f in fields_of("approval") if f.name == "details"]
    assert field_rows(body, details) is None  # numbers and yes/no would come back as text
    enum = {"type": "object", "properties": {"art": {"type": "string", "enum": ["Laerm", "Muell"]}}}
    assert rows_of("extract", {"schema": enum}) is None  # a rule the rows do not show
    assert key_of("1. Mahnung") == "angabe_1_mahnung"
    assert PAIRS.from_rows([{"key": "Zuordnung", "value": "a"}, {"key": "Zuordnung", "value": "b"}]) == {
        "Zuordnung": "a",
        "Zuordnung 2": "b",
    }
