"""German normalisation: spellings people type find the words pages use."""

from __future__ import annotations

from rathaus.knowledge.german import terms


def test_umlauts_and_their_spellings_meet() -> None:
    assert terms("Müllabfuhr") == terms("Muellabfuhr") == terms("mullabfuhr")
    assert terms("Straße") == terms("Strasse")
    assert terms("Bäume fällen") == terms("Baeume faellen")


def test_stemming_and_stop_words() -> None:
    found = terms("Wie melde ich meinen Hund an?")
    assert "hund" in found and "wie" not in found and "ich" not in found
    assert terms("Ausweise")[0] == terms("Ausweis")[0]
    assert terms("Gebühren 2027 €") == ["gebuhr", "2027"]
