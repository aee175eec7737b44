"""The Leichte-Sprache check finds the typical problems and passes a good text."""

from __future__ import annotations

from rathaus.text.leichte_sprache import check, sentences

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
