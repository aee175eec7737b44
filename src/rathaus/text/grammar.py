"""German sentence structure for rewriting rules: words with their part of speech and their parts.

The parts of speech (STTS tags such as `VV(FIN)` for a finite full verb, `KOUS` for a subordinating
conjunction) and the word parts (`aufenthalt` + `s` + `genehmigung`) come from the Hanover Tagger (HanTa,
LGPL-3.0) and its German model, which ship as a Python package. The model is loaded once, on first use
(about a tenth of a second), never on import.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from dataclasses import dataclass, replace
from typing import Any

from rathaus.text.leichte_sprache import FORMAL

TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|\w+(?:[-·*/'’]\w+)*-?|\S")  # "Kinder-" as in "Kinder- und Jugendhilfe"
NO_SPACE_BEFORE = set(".,;:!?)]»“")
NO_SPACE_AFTER = set("([„«")
VERB = ("VV", "VA", "VM")
PART_MIN = 5  # shorter parts of a compound stay with their neighbour
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Token:
    """One word or punctuation mark: its text, its part of speech, its parts (morphemes in lower case with
    their tags) and where it stood in the sentence it came from (-1: added by a rewrite)."""

    text: str
    tag: str
    parts: tuple[tuple[str, str], ...] = ()
    index: int = -1
    space_before: bool = True

    @property
    def is_verb(self) -> bool:
        """A verb form (finite, infinitive or participle)."""
        return self.tag[:2] in VERB

    @property
    def is_participle(self) -> bool:
        """A past participle ("geprüft", "ausgestellt")."""
        return self.tag.endswith("(PP)")

    @property
    def is_noun(self) -> bool:
        """A noun or a name."""
        return self.tag in ("NN", "NE")

    @property
    def is_punctuation(self) -> bool:
        """A punctuation mark."""
        return self.tag.startswith("$")

    def moved(self) -> Token:
        """The token as moved elsewhere in the sentence: spaced by the punctuation rules, not by where it
        stood."""
        return replace(self, index=-1)

    def capitalised(self) -> Token:
        """The token with its first letter in upper case (at the start of a sentence)."""
        return replace(self, text=self.text[:1].upper() + self.text[1:])

    def lowered(self) -> Token:
        """The token with its first letter in lower case, unless it is a noun, a name or "Sie" (which
        keep theirs inside a sentence)."""
        if self.is_noun or self.text in FORMAL:
            return self
        return replace(self, text=self.text[:1].lower() + self.text[1:])


def word(text: str, tag: str = "ADV") -> Token:
    """A token added by a rewrite ("Dann", ":")."""
    return Token(text, "$." if text in ".?!" else "$," if text in ",:;" else tag)


@functools.cache
def _tagger() -> Any:
    """The Hanover Tagger with its German model (loaded once)."""
    from HanTa import HanoverTagger  # type: ignore[import-untyped]

    return HanoverTagger.HanoverTagger("morphmodel_ger.pgz")


def tokens(sentence: str) -> list[Token]:
    """The sentence's words and punctuation marks with their parts of speech."""
    found = list(TOKEN.finditer(sentence))
    if not found:
        return []
    with _LOCK:  # the tagger keeps state while it tags
        tagged = _tagger().tag_sent([m.group() for m in found], taglevel=3)
    result = []
    for index, (match, (_text, _lemma, parts, tag)) in enumerate(zip(found, tagged, strict=True)):
        spaced = match.start() > 0 and sentence[match.start() - 1].isspace()
        result.append(Token(match.group(), tag, tuple(tuple(p) for p in parts), index, spaced))
    return result


def render(words: list[Token]) -> str:
    """The tokens as text: neighbours that stood together keep their spacing, moved ones are spaced by the
    punctuation rules."""
    out: list[str] = []
    previous: Token | None = None
    for token in words:
        if previous is None:
            pass
        elif token.index >= 0 and token.index == previous.index + 1:
            out.append(" " if token.space_before else "")
        elif token.text in NO_SPACE_BEFORE or previous.text in NO_SPACE_AFTER:
            pass
        else:
            out.append(" ")
        out.append(token.text)
        previous = token
    return "".join(out)


def compound_parts(token: Token) -> list[str]:
    """The parts of a compound noun as written ("Aufenthalts", "genehmigung"); one part when the word is
    not a compound or its parts cannot be matched to its letters.

    A linking element ("s" in Aufenthalts-) stays with the part before it; endings stay with the last part;
    a part shorter than PART_MIN letters stays with its neighbour.
    """
    if token.tag != "NN" or sum(len(p) for p, _ in token.parts) != len(token.text):
        return [token.text]
    cuts: list[int] = []
    position = 0
    seen = False
    for text, tag in token.parts:
        content = tag.split("_")[0] in ("NN", "NE", "ADJ", "VV", "VVnp")
        if content and seen:
            cuts.append(position)
        seen = seen or content
        position += len(text)
    bounds = [0, *cuts, len(token.text)]
    pieces: list[str] = []
    for piece in (token.text[a:b] for a, b in itertools.pairwise(bounds)):
        if pieces and len(pieces[-1]) < PART_MIN:  # "Zeit" + "raum" stay one part: "Erhebungs-Zeitraum"
            pieces[-1] += piece
        else:
            pieces.append(piece)
    if len(pieces) > 1 and len(pieces[-1]) < PART_MIN:
        pieces[-2:] = [pieces[-2] + pieces[-1]]
    return pieces
