"""Values of the input and of earlier steps by name: «Eingabe: Nachricht» in the editor, a template in the
document, and back again without loss."""

from __future__ import annotations

import yaml

from rathaus.workflows.references import References
from rathaus.workflows.templates import templates

WORDS = {"input": "Eingabe", "result": "Ergebnis"}
NAMES = {
    ("classify", "label"): "Zuordnung",
    ("draft", "text"): "Entwurf",
    ("approval", "text"): "freigegebener Text",
}


def _references() -> References:
    data = yaml.safe_load(templates()["buergeranfrage"].model_dump_json(by_alias=True))
    return References(data, lambda step_type, key: NAMES.get((step_type, key), key), WORDS)


def test_a_step_is_offered_the_input_and_the_values_of_the_steps_before_it() -> None:
    offered = [r.name for r in _references().available(before="entwurf")]
    assert offered == [
        "Eingabe: Nachricht",
        "Eingabe: E-Mail-Adresse",
        "Zuständiges Amt bestimmen: Zuordnung",
        "Kontakt und Anliegen auslesen: Name der Person, die schreibt",  # an extraction's own names
        "Kontakt und Anliegen auslesen: Das Anliegen in einem Satz",
        "Kontakt und Anliegen auslesen: Eine genannte Frist oder ein Termin",
    ]


def test_templates_read_as_names_and_names_turn_back_into_the_same_templates() -> None:
    refs = _references()
    document = (
        "Zuständig: {{ steps.abteilung.output.label }}\nAn: {{input.email}} – {{ input.nachricht | upper }}"
    )
    shown = refs.readable(document)
    assert shown == (
        "Zuständig: «Zuständiges Amt bestimmen: Zuordnung»\n"
        "An: «Eingabe: E-Mail-Adresse» – {{ input.nachricht | upper }}"
    )  # a filter is more than a plain reference: it stays as written
    assert refs.templated(shown) == (
        "Zuständig: {{ steps.abteilung.output.label }}\nAn: {{ input.email }} – {{ input.nachricht | upper }}"
    )
    assert [r.name for r in refs.used(document)] == [
        "Zuständiges Amt bestimmen: Zuordnung",
        "Eingabe: E-Mail-Adresse",
    ]


def test_a_name_nobody_knows_stays_text_and_an_undeclared_value_survives_the_round_trip() -> None:
    refs = _references()
    assert refs.templated("Sie schrieben «ich warte» am Montag.") == "Sie schrieben «ich warte» am Montag."
    old = "{{ steps.anliegen.output.telefon }}"  # a value the extraction does not declare (yet)
    shown = refs.readable(old)
    assert shown == "«Kontakt und Anliegen auslesen: telefon»"
    assert refs.templated(f"Tel. {shown}", also=old) == "Tel. {{ steps.anliegen.output.telefon }}"


def test_steps_of_the_same_title_are_told_apart_by_their_id() -> None:
    data = {
        "spec": {
            "steps": [
                {"id": "a", "type": "summarize", "title": "Kürzen", "with": {}},
                {"id": "b", "type": "summarize", "title": "Kürzen", "with": {}},
            ]
        }
    }
    refs = References(data, lambda step_type, key: "Zusammenfassung", WORDS)
    names = [r.name for r in refs.available()]
    assert names == ["Kürzen (a): Zusammenfassung", "Kürzen (b): Zusammenfassung"]
    assert refs.templated("«Kürzen (b): Zusammenfassung»") == "{{ steps.b.output.text }}"


def test_a_step_after_a_condition_is_not_offered_the_values_of_its_branches() -> None:
    data = {
        "spec": {
            "input": {"properties": {"text": {"type": "string"}}},
            "steps": [
                {"id": "pruefen", "type": "condition", "with": {}, "then": [
                    {"id": "entwurf", "type": "draft", "with": {}},
                    {"id": "kurz", "type": "summarize", "with": {}},
                ], "else": [{"id": "anders", "type": "template", "with": {}}]},
                {"id": "senden", "type": "template", "with": {}},
            ],
        }
    }  # fmt: skip
    refs = References(data, lambda step_type, key: key, WORDS)
    assert [r.expression for r in refs.available(before="senden")] == ["input.text"]
    assert [r.expression for r in refs.available(before="kurz")] == [
        "input.text",
        "steps.entwurf.output.text",
    ]
    assert [r.expression for r in refs.available(before="anders")] == ["input.text"]


def test_names_stay_one_line_without_guillemets_and_apart_when_they_would_read_the_same() -> None:
    data = {
        "spec": {
            "input": {"properties": {"ort": {"title": "Straße «Ort»"}, "e-mail": {"type": "string"}}},
            "steps": [
                {"id": "angaben", "type": "extract", "with": {"schema": {"properties": {
                    "name": {"title": "Name"}, "name_2": {"title": "Name"},
                    "lang": {"description": "Ein sehr langer Text\nüber zwei Zeilen " + "x" * 200},
                }}}},
            ],
        }
    }  # fmt: skip
    refs = References(data, lambda step_type, key: key, WORDS)
    names = {r.expression: r.name for r in refs.available()}
    assert names["input.ort"] == "Eingabe: Straße „Ort“"
    assert "input.e-mail" not in names  # not nameable in a plain reference
    assert names["steps.angaben.output.name"] != names["steps.angaben.output.name_2"]
    assert "\n" not in names["steps.angaben.output.lang"] and len(names["steps.angaben.output.lang"]) <= 80
    text = "{{ input.ort }} {{ steps.angaben.output.name }} {{ steps.angaben.output.name_2 }}"
    text += " {{ steps.angaben.output.lang }}"
    assert refs.templated(refs.readable(text)) == text
