"""The start form made from a workflow's input schema: a field per property of the right kind, values typed
as the schema asks, and the schema check's problems shown at their fields in German."""

from __future__ import annotations

from typing import Any

from rathaus.web import input_form
from rathaus.web.i18n import translator
from rathaus.workflows.engine import input_problems

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["nachricht", "email", "anzahl"],
    "properties": {
        "nachricht": {"title": "Nachricht", "type": "string", "minLength": 1, "description": "Was los ist."},
        "betreff": {"type": "string", "maxLength": 120},
        "email": {"type": "string", "format": "email"},
        "termin": {"type": ["string", "null"], "format": "date"},
        "anzahl": {"type": "integer", "minimum": 1},
        "betrag": {"type": "number"},
        "eilig": {"type": "boolean"},
        "amt": {"type": "string", "enum": ["Bauamt", "Ordnungsamt"]},
        "anlagen": {"type": "array", "items": {"type": "string"}},
        "adresse": {"type": "object", "properties": {"strasse": {"type": "string"}}},
    },
}


def test_each_property_becomes_a_field_of_its_kind() -> None:
    fields = {f.name: f for f in input_form.fields(SCHEMA)}
    kinds = {name: f.kind for name, f in fields.items()}
    assert kinds == {
        "nachricht": "textarea",  # no length limit: room to write
        "betreff": "text",
        "email": "email",
        "termin": "date",
        "anzahl": "integer",
        "betrag": "number",
        "eilig": "checkbox",
        "amt": "choice",
        "anlagen": "lines",
        "adresse": "json",  # only what a form cannot show is entered as JSON
    }
    assert fields["nachricht"].label == "Nachricht" and fields["nachricht"].hint == "Was los ist."
    assert fields["betreff"].label == "Betreff" and fields["nachricht"].required
    assert not fields["betreff"].required
    assert fields["amt"].options == [("", "—"), ("Bauamt", "Bauamt"), ("Ordnungsamt", "Ordnungsamt")]


def test_values_come_back_typed_and_empty_fields_are_left_out() -> None:
    form = {
        "in.nachricht": "Die Laterne ist dunkel.\r\nSeit Montag.",
        "in.betreff": "  ",
        "in.email": " eva@example.org ",
        "in.anzahl": "3",
        "in.betrag": "12,50",
        "in.eilig": "1",
        "in.anlagen": "Foto 1\n\nFoto 2\n",
        "in.adresse": '{"strasse": "Markt 1"}',
    }
    filled = input_form.values(SCHEMA, form)
    assert filled.errors == {}
    assert filled.data == {
        "nachricht": "Die Laterne ist dunkel.\nSeit Montag.",
        "email": "eva@example.org",
        "anzahl": 3,
        "betrag": 12.5,
        "eilig": True,
        "anlagen": ["Foto 1", "Foto 2"],
        "adresse": {"strasse": "Markt 1"},
    }
    assert input_problems(SCHEMA, filled.data) == []
    assert filled.texts["betrag"] == "12,50"  # shown again as typed


def test_a_value_that_does_not_parse_is_an_error_of_its_field() -> None:
    form = {"in.anzahl": "2,5", "in.betrag": "zwölf", "in.email": "eva(at)example.org", "in.adresse": "{"}
    filled = input_form.values(SCHEMA, form)
    assert filled.errors == {"anzahl": "integer", "betrag": "number", "email": "email", "adresse": "json"}


def test_the_schema_checks_problems_are_shown_at_their_fields_in_german() -> None:
    problems = input_problems(SCHEMA, {"nachricht": "", "anzahl": 0, "amt": "Zoo"})
    at, other = input_form.field_errors(
        problems, translator("de"), {f.name for f in input_form.fields(SCHEMA)}
    )
    assert at == {
        "nachricht": "Bitte ausfüllen.",
        "email": "Bitte ausfüllen.",
        "anzahl": "Bitte mindestens 1 eingeben.",
        "amt": "Bitte eine der angebotenen Möglichkeiten wählen.",
    }
    assert other == []
    at, _ = input_form.field_errors(problems, translator("en"), {"nachricht", "email", "anzahl", "amt"})
    assert at["email"] == "Please fill in."


def test_every_missing_required_field_is_marked_at_itself() -> None:
    problems = input_problems(SCHEMA, {})
    at, _ = input_form.field_errors(problems, translator("de"), {f.name for f in input_form.fields(SCHEMA)})
    assert set(at) == {"nachricht", "email", "anzahl"}


def test_numbers_are_read_as_written_in_german() -> None:
    filled = input_form.values(SCHEMA, {"in.anzahl": "1.000", "in.betrag": "1.234,50"})
    assert filled.data == {"anzahl": 1000, "betrag": 1234.5, "eilig": False}
    assert input_form.values(SCHEMA, {"in.anzahl": "1_000"}).errors == {"anzahl": "number"}
    assert (
        input_form.values(SCHEMA, {"in.anzahl": "12345678901234567890"}).data["anzahl"]
        == 12345678901234567890
    )


def test_a_schema_without_properties_takes_its_input_as_json() -> None:
    [whole] = input_form.fields({"type": "object"})
    assert whole.kind == "json" and whole.form_name == "in."
    assert input_form.values({"type": "object"}, {"in.": '{"text": "Hallo"}'}).data == {"text": "Hallo"}
    assert input_form.values({"type": "object"}, {"in.": ""}).data == {}
    assert input_form.values({"type": "object"}, {"in.": "[1]"}).errors == {"": "object"}
