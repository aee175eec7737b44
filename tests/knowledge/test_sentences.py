"""Sentence vectors stored with a passage are used only for the cut they were made for."""

from __future__ import annotations

from rathaus.knowledge.sentences import pack, quotable, unpack

TEXT = "Die Hundesteuer beträgt 96 Euro im Jahr. Anmelden müssen Sie den Hund innerhalb von zwei Wochen."


def test_stored_vectors_come_back_by_sentence() -> None:
    cut = quotable(TEXT, "Hundesteuer › Kosten")
    assert len(cut) == 2
    vectors = [[0.5, -1.0, 0.25], [1.0, 0.0, -0.5]]
    found = unpack(cut, pack(cut, vectors))
    assert {unit: list(v) for unit, v in found.items()} == dict(zip(cut, vectors, strict=True))


def test_a_passage_cut_differently_now_gets_none() -> None:
    cut = quotable(TEXT, "Hundesteuer › Kosten")
    packed = pack(cut, [[0.5, -1.0, 0.25], [1.0, 0.0, -0.5]])
    assert unpack(cut[:1], packed) == {}  # the rules changed since the document was read
    assert unpack([cut[1], cut[0]], packed) == {}
    assert unpack(cut, packed[:-4]) == {}  # damaged
    assert unpack(cut, None) == {} and unpack([], packed) == {}
