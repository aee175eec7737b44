"""Checks a text against core rules of Leichte Sprache (easy-to-read German).

The rules follow the common guidance (Netzwerk Leichte Sprache, DIN SPEC 33429): short sentences, one
statement per sentence, active voice, and long or difficult words split or explained. The checks are
heuristics on the surface of the text; they find likely problems for a person to look at, they do not
certify a text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_WORDS = 12
LONG_WORD = 15
SUBORDINATORS = {
    "weil",
    "dass",
    "obwohl",
    "wenn",
    "damit",
    "nachdem",
    "sodass",
    "falls",
    "während",
    "bevor",
    "sobald",
    "indem",
    "wodurch",
    "welcher",
    "welche",
    "welches",
}
WERDEN = {"wird", "werden", "wurde", "wurden", "worden", "werde", "wirst", "werdet"}
PARTICIPLE = re.compile(r"^(ge\w{3,}(t|en)|\w{2,}(iert))$")
EXPLAINS = re.compile(r"\b(das (bedeutet|heißt)|bedeutet|heißt:)", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
WORD = re.compile(r"[A-Za-zÄÖÜäöüß·-]+")

RULES = {
    "sentence_length": f"Höchstens {MAX_WORDS} Wörter pro Satz",
    "one_statement": "Eine Aussage pro Satz (keine Nebensätze)",
    "active_voice": "Aktiv statt Passiv",
    "explained_words": "Lange Wörter trennen oder erklären",
}


@dataclass(frozen=True)
class Finding:
    """One likely problem: which rule, in which sentence, and what was found."""

    rule: str
    sentence: str
    detail: str


@dataclass
class Report:
    """The result of a check: per rule whether it holds, and the findings."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> dict[str, bool]:
        """Rule → no finding for it."""
        failed = {f.rule for f in self.findings}
        return {rule: rule not in failed for rule in RULES}

    @property
    def ok(self) -> bool:
        """Whether every rule holds."""
        return not self.findings


def sentences(text: str) -> list[str]:
    """The sentences of a text (list items and lines count as sentences)."""
    parts = (p.strip(" -•*\t") for p in SENTENCE_END.split(text))
    return [p for p in parts if WORD.search(p)]


def check(text: str) -> Report:
    """Check a text against the rules."""
    report = Report()
    found = sentences(text)
    for index, sentence in enumerate(found):
        words = WORD.findall(sentence)
        lower = [w.lower() for w in words]
        if len(words) > MAX_WORDS:
            report.findings.append(Finding("sentence_length", sentence, f"{len(words)} Wörter"))
        subordinate = sorted(SUBORDINATORS.intersection(lower))
        if subordinate or sentence.count(",") >= 2:
            detail = ", ".join(subordinate) if subordinate else "mehrere Kommas"
            report.findings.append(Finding("one_statement", sentence, detail))
        if WERDEN.intersection(lower) and any(PARTICIPLE.match(w) for w in lower):
            report.findings.append(Finding("active_voice", sentence, "Form von „werden“ mit Partizip"))
        following = found[index + 1] if index + 1 < len(found) else ""
        for word in words:
            if (
                len(word) > LONG_WORD
                and "-" not in word
                and "·" not in word
                and not EXPLAINS.search(following)
            ):
                report.findings.append(Finding("explained_words", sentence, word))
    return report
