"""German text normalisation for full-text search: the same terms for the indexed text and the question.

Lowercase, ß → ss, umlauts folded (ä → a, and ae → a so that "Muell" finds "Müll"), stop words removed,
Snowball's German stemmer. SQLite (FTS5) and PostgreSQL index these terms alike, so both databases find
the same passages.
"""

from __future__ import annotations

import functools
import re

import snowballstemmer

WORD = re.compile(r"[^\W_]+", re.UNICODE)
FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e", "è": "e", "à": "a"})
DIGRAPHS = re.compile(r"(?<!q)(ae|oe|ue)")
STOP_WORDS = frozenset(
    """
    aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
    auch auf aus bei bin bis bist da damit dann das dass dein deine dem den denn der des dessen dich
    die dies diese diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer
    eines er es etwas euch euer für gegen hab habe haben hat hatte hier hin ich ihm ihn ihnen ihr
    ihre im in ist ja jede jedem jeden jeder jedes jetzt kann kein keine können könnte man manche
    mein meine mich mir mit muss müssen nach nicht nichts noch nun nur ob oder ohne sehr sein seine
    sich sie sind so solche soll sollte sondern sonst um und uns unser unter viel vom von vor war
    waren was weil welche welchem welchen welcher welches wenn wer werde werden wie wieder will wir
    wird wo wollen würde zu zum zur über bitte gibt geht wann woher wohin warum wieso brauche meinen
    meinem meiner meines deinen ihren ihrem unsere unseren eure euren kann könnte muss möchte
    """.split()  # noqa: SIM905 - a word list reads better as text
)


@functools.cache
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("german")


def fold(word: str) -> str:
    """A lowercase word with umlauts, ß and their ASCII spellings folded to one form."""
    return DIGRAPHS.sub(lambda m: m.group(1)[0], word.lower().translate(FOLD))


@functools.lru_cache(maxsize=100_000)
def _term(word: str) -> str:
    return str(_stemmer().stemWord(fold(word)))


def terms(text: str) -> list[str]:
    """The search terms of a text, in order (stop words left out, numbers kept)."""
    found = []
    for word in WORD.findall(text.lower()):
        if word in STOP_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        found.append(_term(word))
    return found


def index_text(text: str) -> str:
    """The text as space-separated terms, as it is stored in the full-text index."""
    return " ".join(terms(text))
