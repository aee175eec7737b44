"""The Leichte-Sprache check finds the typical problems and passes a good text."""

from __future__ import annotations

from rathaus.text.leichte_sprache import address_forms, check, copied_share, instructions, sentences

GOOD = """Sie ziehen um.
Dann melden Sie sich bei der Stadt an.
Das machen Sie im Bürger-Amt.
Sie brauchen Ihren Ausweis.
Die Melde-Bescheinigung bekommen Sie sofort.
"""


def test_a_good_text_passes_every_rule() -> None:
    report = check(GOOD)
    assert report.ok, report.findings
    assert all(report.passed.values()) and len(sentences(GOOD)) == 5


def test_typical_problems_are_found() -> None:
    text = (
        "Die Wohnsitzanmeldung hat innerhalb von zwei Wochen nach dem Bezug der neuen Wohnung "
        "bei der zuständigen Meldebehörde zu erfolgen. "
        "Das Formular wird von der Behörde geprüft. "
        "Sie kommen, weil Sie umgezogen sind."
    )
    report = check(text)
    rules = {f.rule for f in report.findings}
    assert rules == {"sentence_length", "active_voice", "one_statement", "explained_words"}
    assert any(f.detail == "weil" for f in report.findings)
    assert not report.passed["active_voice"]


def test_explained_long_words_are_fine() -> None:
    assert check("Sie brauchen eine Meldebescheinigung.\nDas bedeutet: ein Papier über Ihre Adresse.").ok


def test_assistant_requests_are_bounded() -> None:
    from rathaus.assistants.runtime import DEFAULT_MAX_TOKENS, build_request
    from rathaus.assistants.templates import templates
    from rathaus.llm.backend import Message

    request = build_request(templates()["leichte-sprache"], [Message(role="user", content="Hallo")])
    assert request.max_tokens == DEFAULT_MAX_TOKENS and request.temperature == 0.1
    assert request.messages[0].role == "system" and "Leichter Sprache" in request.messages[0].content


PASSIVE = [
    "Der Antrag wird bearbeitet.",  # inseparable prefix, weak verb
    "Ihr Antrag wurde abgelehnt.",  # separable prefix with "ge"
    "Die Gebühr wird erhoben.",  # strong verb with an inseparable prefix
    "Das Formular muss bis Montag eingereicht werden.",  # with a modal verb
    "Die Daten werden gespeichert.",
    "Der Ausweis ist gestern verlängert worden.",
    "Die Anlage wird regelmäßig kontrolliert.",  # "-ieren" verb
]
ACTIVE = [
    "Sie werden einen Brief bekommen.",  # future tense: "werden" with an infinitive
    "Die Stadt prüft den Antrag.",
    "Das wird teuer.",
    "Sie werden die folgenden Unterlagen brauchen.",
    "Wir bearbeiten Ihren Antrag.",
]


def test_passive_sentences_are_found_and_active_ones_pass() -> None:
    for sentence in PASSIVE:
        assert not check(sentence).passed["active_voice"], sentence
    for sentence in ACTIVE:
        assert check(sentence).passed["active_voice"], sentence


MIXED = [
    "Sie müssen einen Antrag stellen. Dann bekommst du einen Brief.",
    "Bitte bringen Sie Ihren Ausweis mit. Dein Termin ist am Montag.",
    "Du kannst online einen Termin buchen. Das Amt schreibt Ihnen dann.",
]
ONE_FORM = [
    GOOD,
    "Du ziehst um.\nDann meldest du dich an.\nDu brauchst deinen Ausweis.",
    "Die Stadt prüft den Antrag. Sie schreibt Ihnen dann einen Brief.",  # "Sie schreibt": the city
    "Ihre Nachbarn hören Lärm. Die Stadt kann helfen.",  # "Ihre" first in a sentence: not counted
    "Die Bibliothek hat neue Bücher.",  # no address at all
]


def test_mixed_address_forms_are_found() -> None:
    for text in MIXED:
        report = check(text)
        assert not report.passed["address_form"], text
        assert {f.detail for f in report.findings if f.rule == "address_form"} == {"„Sie“", "„du“"}
    for text in ONE_FORM:
        assert check(text).passed["address_form"], text
    assert address_forms("Sie ziehen um. Sie schreibt.") == {"sie"}


def test_the_configured_address_form_is_enforced() -> None:
    informal = "Du ziehst um.\nDann meldest du dich an."
    assert check(informal).passed["address_form"]
    report = check(informal, address="sie")
    assert not report.passed["address_form"]
    assert all(f.detail == "„du“" for f in report.findings if f.rule == "address_form")
    assert check(GOOD, address="sie").passed["address_form"]
    assert not check(GOOD, address="du").passed["address_form"]


def test_a_copied_original_is_recognised() -> None:
    first = "Die Wohnsitzanmeldung hat innerhalb von zwei Wochen zu erfolgen."
    original = f"{first} Bitte bringen Sie Ihren Ausweis mit."
    assert copied_share(original, original) == 1.0
    assert copied_share(GOOD, original) == 0.0
    assert copied_share(f"{first} Sie ziehen um.", original) == 0.5


def test_the_instructions_keep_one_address_form() -> None:
    formal, informal = instructions("sie"), instructions("du")
    assert "„Sie“" in formal and "Das machen Sie beim Bürger-Amt" in formal
    assert "„du“" in informal and "Das machst du beim Bürger-Amt" in informal
    assert "Sie" not in informal.replace("„Sie“", "").split("Beispiel")[1]


def test_questions_prepositions_and_pronouns_are_no_subordinate_clauses() -> None:
    assert check("Welche Unterlagen brauchen Sie?").passed["one_statement"]
    assert check("Das gilt während der Öffnungszeiten.").passed["one_statement"]
    assert check("Was machen Sie damit?").passed["one_statement"]
    assert not check("Sie wissen, welche Unterlagen Sie brauchen.").passed["one_statement"]
    assert not check("Das gilt, während Sie warten.").passed["one_statement"]
    assert not check("Sie brauchen ihn, damit Sie reisen.").passed["one_statement"]
