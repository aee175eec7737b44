"""The model's sentences are shown only when the evidence supports them, each with its citation."""

from __future__ import annotations

from collections.abc import Iterator

from rathaus.assistants.evidence import Evidence, Quote
from rathaus.assistants.fact_check import check_sentence, checked_stream, quoted, split_sentences
from rathaus.llm.backend import StreamItem, TextChunk, Usage

QUOTES = [
    Quote("Die Gebühr für den Reisepass beträgt 70 Euro.", 2, 1.4, 0),
    Quote("Die Herstellung dauert etwa drei bis vier Wochen.", 1, 1.3, 1),
]
FOUR_WEEKS = Quote("Der Reisepass ist nach vier Wochen fertig.", 2, 1.2, 1)
NOT_FOUND = "Dazu habe ich nichts gefunden."
QUESTION = "Was kostet ein Reisepass und wie lange dauert es?"


def test_a_sentence_with_a_number_the_evidence_lacks_is_not_shown() -> None:
    assert check_sentence("Der Reisepass kostet 60 Euro [2].", QUOTES, QUESTION).text is None
    assert check_sentence("Der Reisepass kostet 70,00 Euro [2].", QUOTES, QUESTION).text is not None


def test_a_name_the_evidence_lacks_is_not_shown() -> None:
    result = check_sentence("Beantragen Sie ihn beim Landratsamt Göppingen.", QUOTES, QUESTION)
    assert result.text is None
    assert result.unsupported == ("Landratsamt Göppingen",)


def test_a_sentence_citing_a_source_without_its_facts_gets_the_source_that_holds_them() -> None:
    assert check_sentence("Der Reisepass kostet 70 Euro [1].", QUOTES, QUESTION).text == (
        "Der Reisepass kostet 70 Euro [2]."
    )
    both = check_sentence("Er kostet 70 Euro und dauert vier Wochen [2].", [*QUOTES, FOUR_WEEKS], QUESTION)
    assert both.text == "Er kostet 70 Euro und dauert vier Wochen [2]."
    spread = [Quote("Die Gebühr beträgt 70 Euro.", 2, 1.4, 0), Quote("Es dauert 4 Wochen.", 3, 1.3, 1)]
    assert check_sentence("Er kostet 70 Euro und dauert 4 Wochen [2].", spread, QUESTION).text == (
        "Er kostet 70 Euro und dauert 4 Wochen [2][3]."
    )


def test_a_name_is_the_same_in_other_punctuation_but_not_when_only_a_link_holds_it() -> None:
    quotes = [
        Quote("Formular des Bürgerbüros (HA-II): https://stadt.muenchen.de/buergerbuero.pdf", 1, 1.4, 0)
    ]
    assert check_sentence("Das Formular gibt es im Bürgerbüros HA II [1].", quotes, "Wo?").text is not None
    assert check_sentence("Die Stadt München hat ein Formular [1].", quotes, "Wo?").text is None


def test_a_sentence_without_citation_gets_the_one_it_shares_most_words_with() -> None:
    assert check_sentence("Die Herstellung dauert drei bis vier Wochen.", QUOTES, QUESTION).text == (
        "Die Herstellung dauert drei bis vier Wochen [1]."
    )
    assert check_sentence("Gern geschehen!", QUOTES, QUESTION).text == "Gern geschehen!"


def _texts(items: Iterator[StreamItem] | list[StreamItem]) -> list[str]:
    return [i.text for i in items if isinstance(i, TextChunk)]


def test_the_stream_shows_checked_sentences_as_they_complete_and_the_fallback_when_none_is_left() -> None:
    found = Evidence(QUOTES, ["Was kostet ein Reisepass"], 1.4, True)
    model = [
        TextChunk("Der Pass kostet 70 Euro [2]. Er ist in "),
        TextChunk("5 Tagen fertig [1]."),
        Usage(1, 1),
    ]
    dropped: list[str] = []
    shown = list(checked_stream(model, found, QUESTION, NOT_FOUND, dropped))
    assert _texts(shown) == ["Der Pass kostet 70 Euro [2]."]
    assert dropped == ["Er ist in 5 Tagen fertig [1]. (5)"]
    assert any(isinstance(i, Usage) for i in shown)

    invented = [TextChunk("Das kostet 12 Euro.")]
    assert _texts(checked_stream(invented, found, QUESTION, NOT_FOUND)) == [NOT_FOUND]
    assert quoted(QUOTES) == (
        "Die Gebühr für den Reisepass beträgt 70 Euro [2]. "
        "Die Herstellung dauert etwa drei bis vier Wochen [1]."
    )


def test_a_part_the_answer_leaves_out_gets_the_evidence_that_answers_it() -> None:
    found = Evidence(QUOTES, ["Was kostet ein Reisepass", "wie lange dauert es"], 1.4, True)
    model = [TextChunk("Der Reisepass kostet 70 Euro [2]."), Usage(1, 1)]
    assert _texts(checked_stream(model, found, QUESTION, NOT_FOUND)) == [
        "Der Reisepass kostet 70 Euro [2].",
        " Die Herstellung dauert etwa drei bis vier Wochen [1].",
    ]
    declined = [TextChunk(NOT_FOUND)]  # the model found no answer: nothing is added to that
    assert _texts(checked_stream(declined, found, f"{QUESTION} {NOT_FOUND}", NOT_FOUND)) == [NOT_FOUND]


def test_a_run_of_capitalised_nouns_around_a_number_is_no_name() -> None:
    quotes = [Quote("Express: zusätzlich zur Gebühr 32 Euro Aufpreis.", 1, 1.4, 0)]
    assert check_sentence("Es kostet zusätzlich zur Gebühr 32 Euro Aufpreis [1].", quotes, "Was?").text


def test_sentences_are_split_after_their_citations_and_not_after_ordinal_numbers() -> None:
    complete, rest = split_sentences("Ab dem 1. Januar gilt das [1]. Die Frist endet am 3. März")
    assert complete == ["Ab dem 1. Januar gilt das [1]."]
    assert rest == "Die Frist endet am 3. März"


def test_closing_the_checked_answer_closes_the_models_stream() -> None:
    closed = []

    def model() -> Iterator[StreamItem]:
        try:
            while True:
                yield TextChunk("Die Herstellung dauert etwa drei bis vier Wochen [1]. ")
        finally:
            closed.append(True)

    found = Evidence(QUOTES, ["Wie lange dauert es"], 1.4, True)
    shown = checked_stream(model(), found, QUESTION, NOT_FOUND)
    assert isinstance(next(shown), TextChunk)
    shown.close()
    assert closed == [True]  # the model stops at once (its slot is free)


def test_a_citation_leading_the_sentence_moves_to_its_end() -> None:
    assert check_sentence("[2] Der Reisepass kostet 70 Euro.", QUOTES, QUESTION).text == (
        "Der Reisepass kostet 70 Euro [2]."
    )


def test_citations_after_the_full_stop_move_before_it_once_each() -> None:
    assert check_sentence("Der Reisepass kostet 70 Euro [2]. [2] [1]", QUOTES, QUESTION).text == (
        "Der Reisepass kostet 70 Euro [2][1]."
    )
    assert check_sentence("Der Reisepass kostet 70 Euro [2] [2].", QUOTES, QUESTION).text == (
        "Der Reisepass kostet 70 Euro [2]."
    )


def test_a_citation_written_as_an_amount_is_not_shown() -> None:
    result = check_sentence("Der Reisepass ist nach [1] Wochen fertig.", QUOTES, QUESTION)
    assert result.text is None and result.unsupported == ("[1] Wochen",)
    assert check_sentence("Er kostet 70 Euro [2] und ist bald fertig.", QUOTES, QUESTION).text is not None
