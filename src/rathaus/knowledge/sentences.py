"""The quotable sentences of a passage: the units evidence is chosen from.

Cut the same way when a document is read (their vectors are stored with the passage) and when a question
is answered (the stored vectors are used when the cut still matches).
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections.abc import Sequence

from rathaus.text.leichte_sprache import WORD

MIN_WORDS = 3  # shorter units are labels or headings, not evidence
NOTE = re.compile(r"(Quelle|Stand|Links?|Fotos?|Bild)\s*:", re.IGNORECASE)  # notes about a page, not content
LIST_ITEM_WORDS = 10  # a line this short after one ending in a colon is an item of its list
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ0-9„\"(])")
# A period after these ends no sentence: "am 31. Dezember", "Nr. 5", "Abs. 2", "ca. 30 Euro", "z. B. Ihr".
NO_END = re.compile(
    r"(\b\d{1,2}|\b[A-Za-zÄÖÜäöü]|\b(?:Nr|Abs|Art|Ziff|ca|bzw|ggf|vgl|inkl|zzgl|evtl|Str|Tel|Dr|Prof|St|"
    r"Bd|Kap|Anl|Mo|Di|Mi|Do|Fr|Sa|So|Jan|Feb|Apr|Jun|Jul|Aug|Sep|Sept|Okt|Nov|Dez|usw|etc|sog|u\.a|"
    r"d\.h|z\.B|o\.ä|u\.U))\.$"
)
FINGERPRINT = 8  # bytes of the cut's hash stored before the vectors


def units(text: str, label: str = "") -> list[str]:
    """The passage's quotable units: its sentences, a sentence ending in a colon together with the short
    lines that follow it (a list of rates, say: "Die Hundesteuer beträgt pro Jahr: erster Hund: 96,00 Euro;
    …"), without lines too short to stand alone — except a short line with a figure, which stands with its
    section's `label` ("Gebühren: 46 Euro"). A line that only introduces a list that is not there, and
    source notes ("Quelle: …", "Stand: …"), are no answer."""
    found: list[str] = []
    open_list = False
    for raw in text.splitlines():
        line = raw.strip(" -•*\t")
        if not line:
            continue
        bullet = raw.lstrip().startswith(("- ", "• ", "* "))
        short = len(line.split()) < LIST_ITEM_WORDS and not line.endswith((".", "!", "?"))
        if open_list and (bullet or (short and (":" in line or any(c.isdigit() for c in line)))):
            found[-1] += (" " if found[-1].endswith(":") else "; ") + line
            continue
        if label and len(line.split()) < 3 and any(c.isdigit() for c in line) and "://" not in line:
            found.append(f"{label}: {line}")
            open_list = False
            continue
        parts = [p.strip() for p in split(line) if WORD.search(p)]
        found.extend(parts)
        open_list = bool(parts) and parts[-1].endswith(":")
    return [u for u in found if len(u.split()) >= 3 and not u.endswith(":") and not NOTE.match(u)]


def split(text: str) -> list[str]:
    """The text cut at its sentence ends — not after an ordinal number, a date's day or an abbreviation."""
    pieces: list[str] = []
    start = 0
    for match in SENTENCE_END.finditer(text):
        if NO_END.search(text[max(start, match.start() - 12) : match.start()]):
            continue
        pieces.append(text[start : match.start()])
        start = match.end()
    pieces.append(text[start:])
    return pieces


def label_of(context: str) -> str:
    """The section's name in a passage's context ("Titel › Abschnitt · …" → "Abschnitt")."""
    return context.split("›")[-1].split("·")[0].strip()


def quotable(text: str, context: str) -> list[str]:
    """The passage's units that can be evidence, for the passage's context (its document's title and its
    heading): long enough, and not a question (a page's "Was kostet …?" introduces the answer)."""
    return [u for u in units(text, label_of(context)) if len(u.split()) >= MIN_WORDS and not u.endswith("?")]


def pack(cut: Sequence[str], vectors: Sequence[Sequence[float]]) -> bytes:
    """The vectors of a passage's units, stored with a fingerprint of the cut they belong to."""
    flat = array("f", (x for v in vectors for x in v))
    return _fingerprint(cut) + flat.tobytes()


def unpack(cut: Sequence[str], stored: bytes | None) -> dict[str, array[float]]:
    """The stored vectors by unit, or nothing when the passage is cut differently now (the cutting rules
    changed since the document was read) or nothing was stored."""
    if not stored or not cut or stored[:FINGERPRINT] != _fingerprint(cut):
        return {}
    flat = array("f")
    flat.frombytes(stored[FINGERPRINT:])
    size, rest = divmod(len(flat), len(cut))
    if rest or not size:
        return {}
    return {unit: flat[i * size : (i + 1) * size] for i, unit in enumerate(cut)}


def _fingerprint(cut: Sequence[str]) -> bytes:
    return hashlib.sha256("\n".join(cut).encode()).digest()[:FINGERPRINT]
