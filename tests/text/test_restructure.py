"""The Leichte-Sprache rewriting rules turn clauses into sentences without losing or inventing a word."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rathaus.text import grammar, leichte_sprache
from rathaus.text.restructure import JOINING, tidy

CORPORA = Path(__file__).parents[2] / "bench" / "datasets"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Wenn Sie Fragen haben, können Sie uns anrufen.",
            "Sie haben Fragen?\nDann können Sie uns anrufen.",
        ),
        (
            "Sie benötigen den Schein, wenn Sie außerhalb Europas fahren wollen.",
            "Sie wollen außerhalb Europas fahren?\nDann benötigen Sie den Schein.",
        ),
        (
            "Sobald uns der Antrag vorliegt, müssen Sie weitere Unterlagen einreichen.",
            "Der Antrag liegt uns vor.\nDann müssen Sie weitere Unterlagen einreichen.",
        ),
        (
            "Sie müssen sich anmelden, weil die Frist sonst abläuft.",
            "Sie müssen sich anmelden.\nDenn die Frist läuft sonst ab.",
        ),
        (
            "Die Bescheinigung zeigt, dass der Aufenthalt gestattet ist.",
            "Die Bescheinigung zeigt:\nDer Aufenthalt ist gestattet.",
        ),
        (
            "Fragen Sie bei der Botschaft nach, ob ein Visum erforderlich ist.",
            "Fragen Sie bei der Botschaft nach:\nIst ein Visum erforderlich?",
        ),
        ("Es wird geprüft, welcher Titel möglich ist.", "Es wird geprüft:\nWelcher Titel ist möglich?"),
        (
            "In vielen Fällen brauchen Sie ein Visum, damit Sie einreisen dürfen.",
            "In vielen Fällen brauchen Sie ein Visum.\nSo dürfen Sie einreisen.",
        ),
        (
            "Sie können anrufen, aber wir antworten erst morgen.",
            "Sie können anrufen.\nAber wir antworten erst morgen.",
        ),
        (
            "Sie füllen das Formular aus und schicken es zurück.",
            "Sie füllen das Formular aus.\nSie schicken es zurück.",
        ),
        ("Das Amt ist offen; es hilft Ihnen.", "Das Amt ist offen.\nEs hilft Ihnen."),
        ("Wenn Sie umziehen, müssen Sie sich ummelden.", "Sie ziehen um?\nDann müssen Sie sich ummelden."),
        ("Wenn Sie das Formular unterschreiben, gilt es.", "Sie unterschreiben das Formular?\nDann gilt es."),
    ],
)
def test_clauses_become_sentences(text: str, expected: str) -> None:
    assert tidy(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # a clause whose verb is not last (participles listed with commas): not understood, kept
        "Er gilt als Halter, wenn er den Hund gepflegt, untergebracht oder gehalten hat.",
        # "sie" (they) would read as "Sie" (you) at the start of a sentence
        "Sie können dort bestattet werden, sofern sie nicht anderswo ein Grab hatten.",
        # a relative clause: splitting it would change what it restricts
        "Melden Sie sich in den Einrichtungen an, die für Ihr Kind geeignet sind.",
        # coordinated verbs in the clause: which verb goes where is not clear
        "Sie können ihn bestellen, wenn Sie Ihre Karte beantragen oder abholen.",
        # "bevor" often sets a deadline; "Danach …" would change the meaning
        "Bevor Ihr Ausweis abläuft, müssen Sie einen neuen beantragen.",
        # no clauses on either side of the semicolon: a list, kept
        "§ 4 Zeitraum; Entstehung der Steuer.",
    ],
)
def test_sentences_not_understood_are_kept(text: str) -> None:
    assert tidy(text) == text


def test_long_compounds_are_hyphenated_short_ones_kept() -> None:
    assert tidy("Die Aufenthaltsgenehmigung liegt bei der Meldebehörde.") == (
        "Die Aufenthalts-Genehmigung liegt bei der Meldebehörde."
    )
    assert tidy("Die Kindertageseinrichtung ist offen.") == "Die Kinder-Tages-Einrichtung ist offen."
    assert tidy("Der Erhebungszeitraum ist das Jahr.") == "Der Erhebungs-Zeitraum ist das Jahr."


def test_layout_one_sentence_per_line_lists_and_dates_kept() -> None:
    text = (
        "# Anmeldung\nSie müssen sich bis 11. März 2026 anmelden. Das geht z. B. online.\n"
        "- Bringen Sie den Ausweis mit. Er ist wichtig."
    )
    assert tidy(text) == (
        "# Anmeldung\nSie müssen sich bis 11. März 2026 anmelden.\nDas geht z. B. online.\n"
        "- Bringen Sie den Ausweis mit. Er ist wichtig."
    )


def test_the_instructions_example_is_dropped_unless_the_original_says_it() -> None:
    example = leichte_sprache.EXAMPLES["sie"]
    copied = "Die Gebühr beträgt 30 Euro.\n" + example
    assert tidy(copied, source="Die Gebühr beträgt 30 Euro.") == "Die Gebühr beträgt 30 Euro."
    said = "Sie müssen einen Antrag stellen."
    assert tidy(said, source=said) == said


def _words(text: str) -> Counter[str]:
    return Counter(
        w.lower().replace("-", "") for w in leichte_sprache.WORD.findall(text) if w.lower() not in JOINING
    )


def test_no_word_is_lost_or_invented_on_real_administrative_text() -> None:
    """Every word of real paragraphs (Munich service pages, Baden-Württemberg statutes) survives the rules;
    the only words added are joining words and a repeated subject; and the rules changed many of them."""
    paragraphs = []
    for name in ("muenchen", "bw-ortsrecht"):
        for line in (CORPORA / name / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:60]:
            paragraphs += [" ".join(p.split()) for p in json.loads(line)["text"].split("\n\n")[:6]]
    changed = 0
    for paragraph in paragraphs:
        tidied = tidy(paragraph)
        had, has = _words(paragraph), _words(tidied)
        added = has - had
        for lost in (had - has).elements():  # a separated verb: "vorliegt" → "liegt … vor"
            split = [(a, b) for a in added for b in added if a != b and a + b == lost]
            assert split, (lost, paragraph, tidied)
            added -= Counter(split[0])
        assert all(w in had for w in added), (added, paragraph, tidied)  # a subject said again
        changed += tidied.replace("\n", " ") != paragraph
    assert len(paragraphs) > 300 and changed > len(paragraphs) // 5


def test_compound_parts_match_the_letters() -> None:
    token = grammar.tokens("Personalausweisbehörde")[0]
    assert grammar.compound_parts(token) == ["Personal", "ausweis", "behörde"]
    assert grammar.compound_parts(grammar.tokens("Antrag")[0]) == ["Antrag"]
    assert grammar.render(grammar.tokens("Es kostet 60,50 Euro (bar), am 11. März: „ja“.")) == (
        "Es kostet 60,50 Euro (bar), am 11. März: „ja“."
    )
