"""Checks a text against core rules of Leichte Sprache (easy-to-read German).

The rules follow the common guidance (Netzwerk Leichte Sprache, DIN SPEC 33429): short sentences, one
statement per sentence, active voice, long or difficult words split or explained, and the reader addressed
one way throughout (always "Sie" or always "du"). The checks are heuristics on the surface of the text;
they find likely problems for a person to look at, they do not certify a text.

`instructions` is what a language model is told when it writes Leichte Sprache, in the address form the
text must keep.
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
ARTICLES = {"des", "der", "dem", "den", "die", "das", "eines", "einer", "einem", "einen", "ihres", "ihrer"}
WERDEN = {"wird", "werden", "wurde", "wurden", "worden", "werde", "wirst", "werdet"}
# Past participles: with "ge" (also after a separable prefix: ab-ge-lehnt), of verbs with an inseparable
# prefix (bearbeitet, verlängert; weak verbs only: "bekommen" is also an infinitive), and of "-ieren" verbs.
PARTICIPLE = re.compile(
    r"^(?:[a-zäöüß]*ge[a-zäöüß]{2,}(?:t|en)"
    r"|(?:be|ver|er|ent|zer|miss|über|unter|hinter|wider|voll)[a-zäöüß]{2,}t"
    r"|[a-zäöüß]{2,}iert)$"
)
# strong participles with an inseparable prefix that differ from the infinitive ("bekommen" does not)
STRONG_PARTICIPLES = {
    "erhoben",
    "verboten",
    "entschieden",
    "beschrieben",
    "unterschrieben",
    "verschoben",
    "übernommen",
    "entnommen",
    "empfohlen",
    "bewiesen",
    "verwiesen",
    "entzogen",
    "vollzogen",
    "betrieben",
    "verliehen",
    "erwiesen",
    "vertrieben",
    "beworben",
}
NOT_PARTICIPLE = {"folgenden", "gegenseitigen", "morgen", "genug", "gegen", "eigentlich", "übermorgen"}
INFORMAL = {"du", "dich", "dir", "dein", "deine", "deinen", "deinem", "deiner", "deines", "euch", "euer",
            "eure", "euren", "eurem", "eurer", "eures"}  # fmt: skip
FORMAL = {"Sie", "Ihnen", "Ihr", "Ihre", "Ihren", "Ihrem", "Ihrer", "Ihres"}
THIRD_PERSON = re.compile(r"^(?:\w+t|kann|muss|darf|soll|will|mag|weiß)$")  # "Sie schreibt": she, not you
ADDRESS = ("sie", "du")
EXPLAINS = re.compile(r"\b(das (bedeutet|heißt)|bedeutet|heißt:)", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
WORD = re.compile(r"[A-Za-zÄÖÜäöüß·-]+")

RULES = {
    "sentence_length": f"Höchstens {MAX_WORDS} Wörter pro Satz",
    "one_statement": "Eine Aussage pro Satz (keine Nebensätze)",
    "active_voice": "Aktiv statt Passiv",
    "explained_words": "Lange Wörter trennen oder erklären",
    "address_form": "Immer „Sie“ oder immer „du“",
}
WRITING_RULES = ("sentence_length", "one_statement", "active_voice", "explained_words")


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

    @property
    def writing_rules_held(self) -> int:
        """How many of the four writing rules hold (the address form not counted)."""
        passed = self.passed
        return sum(passed[rule] for rule in WRITING_RULES)


def sentences(text: str) -> list[str]:
    """The sentences of a text (list items and lines count as sentences)."""
    parts = (p.strip(" -•*\t") for p in SENTENCE_END.split(text))
    return [p for p in parts if WORD.search(p)]


def subordinators(sentence: str, lower: list[str]) -> list[str]:
    """The words of a sentence that open a subordinate clause. Not counted: "welche…" that asks a question
    ("Welche Unterlagen brauchen Sie?"), "während" as a preposition ("während des Verfahrens") and "damit"
    as a pronoun at the end ("Was machen Sie damit?")."""
    found = set()
    for index, word in enumerate(lower):
        following = lower[index + 1] if index + 1 < len(lower) else ""
        if word not in SUBORDINATORS:
            continue
        if word.startswith("welch") and index == 0 and sentence.rstrip().endswith("?"):
            continue
        if word == "während" and following in ARTICLES:
            continue
        if word == "damit" and not following:
            continue
        found.add(word)
    return sorted(found)


def is_passive(words: list[str]) -> bool:
    """Whether a sentence's words hold a form of "werden" with a past participle (Vorgangspassiv)."""
    if not WERDEN.intersection(w.lower() for w in words):
        return False
    return any(
        (PARTICIPLE.match(w) and w not in NOT_PARTICIPLE) or w in STRONG_PARTICIPLES
        for w in words
        if w not in WERDEN
    )


def address_forms(text: str) -> set[str]:
    """How the text addresses the reader: "sie" (formal), "du" (informal), both or neither.

    "Sie" and "Ihr…" count as formal inside a sentence; at its start, "Sie" counts unless the verb after it
    is in the third person singular ("Sie schreibt Ihnen": she writes), and "Ihr…" does not count (it may be
    "her" or "their").
    """
    found: set[str] = set()
    for sentence in sentences(text):
        words = WORD.findall(sentence)
        for index, word in enumerate(words):
            if word.lower() in INFORMAL:
                found.add("du")
            elif word in FORMAL and index > 0:
                found.add("sie")
            elif word == "Sie" and index == 0:
                following = words[1] if len(words) > 1 else ""
                if not THIRD_PERSON.match(following):
                    found.add("sie")
    return found


def check(text: str, address: str | None = None) -> Report:
    """Check a text against the rules. `address` ("sie" or "du") is the form the text must keep; without
    it, the text must keep one of the two."""
    report = Report()
    found = sentences(text)
    for index, sentence in enumerate(found):
        words = WORD.findall(sentence)
        lower = [w.lower() for w in words]
        if len(words) > MAX_WORDS:
            report.findings.append(Finding("sentence_length", sentence, f"{len(words)} Wörter"))
        subordinate = subordinators(sentence, lower)
        if subordinate or sentence.count(",") >= 2:
            detail = ", ".join(subordinate) if subordinate else "mehrere Kommas"
            report.findings.append(Finding("one_statement", sentence, detail))
        if is_passive(words):
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
    report.findings.extend(_address_findings(found, address))
    return report


def _address_findings(found: list[str], address: str | None) -> list[Finding]:
    """The sentences that break the address form: the one not configured, or, without one, the form the
    text uses less (both when they are used equally)."""
    forms = [(sentence, address_forms(sentence)) for sentence in found]
    if address is None:
        counts = {form: sum(form in f for _, f in forms) for form in ADDRESS}
        if not all(counts.values()):
            return []
        wrong = {form for form in ADDRESS if counts[form] <= counts[_other(form)]}
    else:
        wrong = {_other(address)}
    return [
        Finding("address_form", sentence, "„du“" if "du" in used & wrong else "„Sie“")
        for sentence, used in forms
        if used & wrong
    ]


def copied_share(text: str, source: str) -> float:
    """The share of the text's sentences found word for word in the source (0.0 to 1.0): a rewrite that
    copies the original has not simplified it. Hyphens do not count ("Melde-Behörde" copies
    "Meldebehörde")."""
    found = sentences(text)
    if not found or not source.strip():
        return 0.0
    original = _plain(source)
    copied = [s for s in found if len(WORD.findall(s)) >= 4 and _plain(s) in original]
    return len(copied) / len(found)


def _plain(text: str) -> str:
    return " ".join(w.replace("-", "").replace("·", "") for w in WORD.findall(text)).lower()


def _other(form: str) -> str:
    return "du" if form == "sie" else "sie"


EXAMPLE_SOURCE = "Der Antrag ist innerhalb von zwei Wochen bei der Meldebehörde einzureichen."
EXAMPLES = {
    "sie": "Sie müssen einen Antrag stellen. Das machen Sie beim Bürger-Amt. Dafür haben Sie 2 Wochen Zeit.",
    "du": "Du musst einen Antrag stellen. Das machst du beim Bürger-Amt. Dafür hast du 2 Wochen Zeit.",
}


def instructions(address: str = "sie") -> str:
    """What a language model is told to write a text in Leichte Sprache, addressing the reader with `address`
    ("sie" or "du") throughout."""
    you = "Sie" if address == "sie" else "du"
    example = f"Beispiel: „{EXAMPLE_SOURCE}“ wird zu: „{EXAMPLES[address]}“"
    return (
        "Aufgabe: den Text neu in Leichter Sprache schreiben. Nicht abschreiben: jeden Satz neu und einfach "
        "formulieren.\n"
        "Regeln:\n"
        f"- Höchstens {MAX_WORDS} Wörter in jedem Satz. Jeder Satz in einer eigenen Zeile.\n"
        "- In jedem Satz nur eine Aussage. Keine Nebensätze mit „weil“, „dass“, „wenn“ oder „welche“.\n"
        "- Aktiv statt Passiv: sagen, wer etwas tut. Nicht „wird geprüft“, sondern „Die Stadt prüft“.\n"
        "- Lange Wörter mit Bindestrich trennen (Melde-Bescheinigung). Schwere Wörter im nächsten Satz "
        "erklären, mit „Das bedeutet:“.\n"
        f"- Die Leser immer mit „{you}“ ansprechen, in jedem Satz gleich.\n"
        "- Alle Fristen, Beträge, Daten, Orte und Telefonnummern behalten. Nichts dazu erfinden.\n"
        f"{example}\n"
        "Antworte nur mit dem Text in Leichter Sprache."
    )
