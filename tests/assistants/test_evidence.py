"""Evidence selection: parts of a question, what it asks for, the place it names, and the sentences chosen.

The embedder here is a bag of words (the same words → the same direction), so that the tests show the
selection's own rules; the real model's behaviour is measured by `rathaus bench evidence`.
"""

from __future__ import annotations

import math

from rathaus.assistants import evidence
from rathaus.knowledge.german import terms


def bag_of_words(texts: list[str], kind: str) -> list[list[float]]:
    """Unit vectors over 64 buckets of the texts' search terms."""
    vectors = []
    for text in texts:
        vector = [0.0] * 64
        for term in terms(text):
            vector[sum(map(ord, term)) % 64] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        vectors.append([v / norm for v in vector])
    return vectors


PASSPORT = (
    "Reisepass\n"
    "Den Reisepass beantragen Sie persönlich im Bürgerbüro.\n"
    "Die Gebühr für den Reisepass beträgt 70 Euro, für Personen unter 24 Jahren 37,50 Euro.\n"
    "Die Herstellung des Reisepasses dauert etwa drei bis vier Wochen."
)


def test_a_question_of_two_parts_is_split_and_each_gets_its_own_evidence() -> None:
    question = "Was kostet ein Reisepass und wie lange dauert es?"
    assert evidence.parts_of(question) == ["Was kostet ein Reisepass", "wie lange dauert es"]
    assert evidence.asks("Was kostet ein Reisepass") == {"kosten"}
    assert evidence.asks("bis wann muss ich mich ummelden") == {"frist"}

    found = evidence.select(question, [(1, PASSPORT, 0.9, "Reisepass")], bag_of_words)

    assert any("70 Euro" in q.text for q in found.quotes if q.part == 0)
    assert any("drei bis vier Wochen" in q.text for q in found.quotes if q.part == 1)
    assert all(q.text != "Reisepass" for q in found.quotes)  # a heading is never evidence


def test_a_place_the_question_names_must_be_the_place_of_the_evidence() -> None:
    titles = ["Hundesteuersatzung – Bad Boll", "Hundesteuersatzung der Gemeinde Zell u.A."]
    assert evidence.places("Was kostet die Hundesteuer in Bad Boll für den 2. Hund?", titles) == ["badboll"]
    assert evidence.places("Hundesteuer der Gemeinde Aichelberg") == ["aichelberg"]  # a place's ending
    assert evidence.places("Hundesteuer in Zell u. A.", titles) == ["zellua"]
    assert evidence.places("Muss ich mich abmelden, wenn ich in Hamburg wohne?", titles) == ["hamburg"]
    assert evidence.places("Ich arbeite in Vollzeit in Deutschland", titles) == []
    statute = (
        "Die Steuer beträgt für den ersten Hund 108 Euro im Kalenderjahr und für jeden weiteren 216 Euro."
    )
    question = "Was kostet die Hundesteuer in Aichelberg?"

    elsewhere = evidence.select(question, [(1, statute, 0.95, "Hundesteuersatzung – Konstanz")], bag_of_words)
    here = evidence.select(question, [(1, statute, 0.95, "Hundesteuersatzung – Aichelberg")], bag_of_words)
    by_text = evidence.select(  # the town is named only in the document's text (its signature)
        question,
        [(1, statute, 0.95, "Hundesteuersatzung")],
        bag_of_words,
        lambda: {1: "Aichelberg, den 1. März"},
    )

    assert (elsewhere.answers, elsewhere.reason) == (False, "other_place")
    assert here.quotes and here.quotes[0].text == statute
    assert by_text.quotes and by_text.reason != "other_place"


def test_texts_without_a_matching_sentence_do_not_answer() -> None:
    found = evidence.select("Wann hat das Freibad geöffnet?", [(1, PASSPORT, 0.5, "Reisepass")], bag_of_words)

    assert not found.answers
    assert found.reason == "weak_evidence"


def test_a_line_that_only_points_somewhere_answers_where_but_not_what() -> None:
    page = (
        "Antragsformular Reisepass: https://stadt.example/formulare/reisepass.pdf\n"
        "Die Gebühr für den Reisepass beträgt 70 Euro."
    )
    assert evidence.is_link_line("Antragsformular Reisepass: https://stadt.example/formulare/reisepass.pdf")
    assert not evidence.is_link_line("Die Gebühr für den Reisepass beträgt 70 Euro.")

    what = evidence.select("Was kostet der Reisepass?", [(1, page, 0.9, "Reisepass")], bag_of_words)
    where = evidence.select("Wo finde ich das Formular online?", [(1, page, 0.9, "Reisepass")], bag_of_words)

    assert all("https://" not in q.text for q in what.quotes)
    assert any("https://" in q.text for q in where.quotes)


def test_a_sentence_answers_what_is_asked_only_when_it_holds_it() -> None:
    def answers(kind: str, sentence: str) -> bool:
        return evidence.ANSWERS[kind].search(sentence) is not None

    assert answers("kosten", "Die Gebühr beträgt 37,50 Euro.")
    assert answers("kosten", "Eine Gebühr wird nicht erhoben.")
    assert answers("kosten", "Es fallen keine Kosten an.")
    assert not answers("kosten", "Gebühren: Online-Zahlung mit Kreditkarte möglich")  # no amount
    assert answers("unterlagen", "Bitte bringen Sie ggf. eine Vollmacht mit.")
    assert answers("unterlagen", "Legen Sie ein biometrisches Foto bei.")
    assert not answers("unterlagen", "Vielleicht taucht der verlorene Ausweis wieder auf.")
    assert not answers("unterlagen", "Wir bringen Ihnen die Ware mit der Post.")
    assert answers("unterlagen", "Dazu ist eine polizeiliche Diebstahlanzeige erforderlich.")
    assert not answers("unterlagen", "Ein Termin ist erforderlich.")
    assert answers("zustaendig", "Dann wenden Sie sich bitte an das Studentenwerk München.")
    assert answers("ort", "Sie erreichen uns über E-Mail, Telefax und SMS.")


def test_online_asks_how_not_where() -> None:
    assert "ort" not in evidence.asks("Kann ich meinen Zweitwohnsitz auch online anmelden?")
    assert evidence.asks(
        "Ich will meinen Neuwagen online zulassen – mit welchen Kosten muss ich rechnen?"
    ) == {"kosten"}
    assert "ort" in evidence.asks("Wie erreiche ich den Sozialdienst?")
    assert "ort" in evidence.asks("Wo finde ich das Formular online?")
