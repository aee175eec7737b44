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
            "Der Antrag liegt uns vor?\nDann müssen Sie weitere Unterlagen einreichen.",
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
        (
            "Falls Ihr Kind unter 16 Jahre alt ist, kommen Sie mit.",
            "Ihr Kind ist unter 16 Jahre alt?\nDann kommen Sie mit.",
        ),
        (
            "Das Amt öffnet um 8. Sie kommen, wenn Sie einen Termin haben.",
            "Das Amt öffnet um 8.\nSie haben einen Termin?\nDann kommen Sie.",
        ),
        (
            "Die Stadt prüft den Antrag und schickt Ihnen einen Bescheid.",
            "Die Stadt prüft den Antrag.\nDie Stadt schickt Ihnen einen Bescheid.",
        ),
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
        # the condition belongs to the last clause only, or to a part of the main clause
        "Sie zahlen 10 Euro, Sie zahlen nichts, wenn Sie einen Ausweis haben.",
        "Wir bestätigen Ihnen, dass Sie Geld bekommen, wenn Sie arbeitslos sind.",
        "Wenn Sie umziehen, müssen Sie sich anmelden, und Sie müssen Ihr Auto ummelden.",
        # restricted conditions: "nur", "erst", "auch" (even if)
        "Sie erhalten das Geld nur, wenn Sie den Antrag stellen.",
        "Sie bekommen den Ausweis erst, wenn Sie bezahlt haben.",
        "Der Zuschuss wird auch gezahlt, wenn Sie arbeiten.",
        # under a negation the "dass" clause is no statement
        "Wir bestätigen nicht, dass Sie dort wohnen.",
        # the pronoun would come before its noun
        "Sie müssen den Hund anmelden, sobald er drei Monate alt ist.",
        # questions and requests
        "Was muss ich tun, wenn ich umziehe?",
        "Wenn Sie umziehen, müssen Sie sich dann anmelden?",
        "Bitte bringen Sie Ihren Ausweis mit, wenn Sie kommen.",
        # "sich" first, joined subjects, an address the tagger cannot read
        "Wenn sich etwas ändert, müssen Sie uns informieren.",
        "Wenn Ihre Tochter oder Ihr Sohn krank ist, rufen Sie an.",
        "Wenn Sie das Formular unter www.muenchen.de/formulare herunterladen, können Sie es ausfüllen.",
        # the first part is no subject: it may not be repeated
        "Heute ist das Amt geschlossen und öffnet morgen wieder.",
        "Im Bürgerbüro erhalten Sie das Formular und können es dort abgeben.",
        "Den Antrag prüft das Amt und schickt ihn dann zurück.",
        "Deshalb brauchen Sie einen Termin und müssen pünktlich sein.",
        # abbreviations are no sentence ends
        "Sie brauchen u. a. einen Ausweis, z. B. den Pass.",
        "Das gilt i. d. R. nicht für Herrn Dr. Müller.",
        # nothing but punctuation
        ".",
        "?",
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
    assert tidy("Das Amt liegt an der Schwanthalerstraße.") == "Das Amt liegt an der Schwanthaler-Straße."


def test_layout_one_sentence_per_line_lists_and_dates_kept() -> None:
    text = (
        "# Anmeldung\nSie müssen sich bis 11. März 2026 anmelden. Das geht z. B. online.\n"
        "- Bringen Sie den Ausweis mit. Er ist wichtig.\n  - Auch den Pass."
    )
    assert tidy(text) == (
        "# Anmeldung\nSie müssen sich bis 11. März 2026 anmelden.\nDas geht z. B. online.\n"
        "- Bringen Sie den Ausweis mit. Er ist wichtig.\n  - Auch den Pass."
    )


def test_the_instructions_example_is_dropped_unless_the_original_says_it() -> None:
    example = leichte_sprache.EXAMPLES["sie"]
    copied = "Die Gebühr beträgt 30 Euro.\n" + example
    assert tidy(copied, source="Die Gebühr beträgt 30 Euro.") == "Die Gebühr beträgt 30 Euro."
    # one sentence like the example's is the text's own; so is a period that differs ("4 Wochen")
    own = "Sie können Widerspruch einlegen.\nDafür haben Sie 4 Wochen Zeit.\nDas machen Sie beim Bürger-Amt."
    assert tidy(own, source="Der Widerspruch ist binnen eines Monats einzulegen.") == own
    said = "Sie müssen einen Antrag stellen."
    assert tidy(said, source="Die Gebühr beträgt 30 Euro.") == said
    assert tidy(example, source=example) == example.replace(". ", ".\n")
    assert tidy(example, source="Etwas anderes.") == example  # never an empty text


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
