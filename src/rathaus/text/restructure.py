"""Rewriting rules that bring a text closer to Leichte Sprache without a language model.

A language model rewrites a text in Leichte Sprache; a small one keeps many long sentences and subordinate
clauses. These rules then take the steps that follow from the sentence's structure (text/grammar.py):

* a subordinate clause becomes a sentence of its own, the way guides for Leichte Sprache write it:
  "Wenn Sie umziehen, müssen Sie sich anmelden." → "Sie ziehen um? Dann müssen Sie sich anmelden." (also
  "falls", "sofern", "sobald", "nachdem"); "…, weil …" → "Denn …"; "…, dass …" and "…, ob/welche …" → a
  colon, and the clause (or question) on the next line; "damit" → "So …"; "obwohl" → "Trotzdem";
* main clauses joined by a comma and "aber", "oder", "und" or "denn", or by a semicolon, become sentences;
* compound nouns of more than COMPOUND_MIN letters are split with a hyphen ("Aufenthalts-Genehmigung");
* every sentence starts a new line;
* a sentence of the instructions' example that the original does not contain is dropped (small models copy
  the example into their answer).

A rule changes only a sentence it understands: a clause whose verb comes last and whose first part (a
pronoun, a noun phrase, a preposition with one) it finds, in a sentence without further clauses that the
new order could detach. It leaves alone what would change the meaning: a condition restricted by "nur",
"erst" or "auch", a "dass" clause under a negation ("Wir bestätigen nicht, dass …"), a clause whose pronoun
would come before its noun, questions and requests. Anything else is kept as written. The words are never
changed, only their order, hyphens in compounds and the small words that join the new sentences; a rewrite
that would lose a word is discarded.
"""

from __future__ import annotations

import functools
import re
from collections import Counter

from rathaus.text import leichte_sprache
from rathaus.text.grammar import Token, compound_parts, render, tokens, word

COMPOUND_MIN = 10
# "sobald" and "nachdem" become a question too: as a statement ("Sie haben den Bescheid erhalten.") the
# clause would claim what it only supposes. "bevor" is left alone: its clause is often a deadline ("Bevor
# Ihr Ausweis abläuft, …"), and "Danach …" would change the meaning.
CONDITION = {"wenn", "falls", "sofern", "sobald", "nachdem"}
REASON = {"weil", "da"}
HANDLED = CONDITION | REASON | {"damit", "obwohl", "dass", "ob"}
COORDINATORS = {"aber": "Aber", "oder": "Oder", "und": "", "denn": "Denn", "doch": "Doch"}
DETERMINERS = {"ART", "PPOSAT", "PIAT", "PDAT", "PWAT", "CARD", "PIDAT"}
PRONOUNS = {"PPER", "PDS", "PIS", "PPOSS", "PRF", "PWS", "PRELS"}
SINGLE = {"ADV", "PWAV", "PAV", "PROAV", "ADJ(D)"}
OBJECT_PRONOUNS = {"uns", "mir", "dir", "ihm", "ihnen", "euch", "mich", "dich", "ihn", "sich"}
LEADING = {"dann", "so"}  # "Wenn …, dann …": the new sentence brings its own joining word
# a main clause holding one of these may restrict its condition ("nur, wenn", "erst, wenn", "auch, wenn")
FOCUS = {"nur", "erst", "auch", "dann", "selbst", "sogar", "so", "gerade", "besonders", "insbesondere"}
NEGATIONS = {"nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals"}
# pronouns that refer back to a noun: a clause holding one may not move before the main clause
REFERRING = {"er", "sie", "es", "ihn", "ihm", "ihnen", "ihr", "sein", "seine", "seinen", "seinem", "seiner"}
NOMINATIVE = {"ich", "du", "er", "sie", "es", "wir", "ihr", "man"}
POSSESSIVE = {
    "ihr",
    "ihre",
    "ihren",
    "ihrem",
    "ihrer",
    "ihres",
    "sein",
    "seine",
    "seinen",
    "seinem",
    "seiner",
}
POSSESSIVE |= {"mein", "meine", "dein", "deine", "unser", "unsere", "euer", "eure"}
OBLIQUE = {"den", "dem", "des", "einen", "einem", "eines", "einer"}  # never a subject's article
STREET = ("straße", "strasse", "weg", "platz", "gasse", "allee", "ring", "ufer", "damm")
MONTHS = {"januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober",
          "november", "dezember"}  # fmt: skip
LIST_MARKER = re.compile(r"^(?:[-*•]|\d+[.)])\s+")
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
ABBREVIATION = re.compile(
    r"\b(?:[A-Za-z]|bzw|ca|Nr|Abs|Art|Str|evtl|ggf|inkl|zzgl|vgl|ff|usw|etc|Dr|Prof|Tel|gem|max|mind|sog|"
    r"bzgl|Hr|Fr|Mo|Di|Mi|Do|Sa|So|Jh|zw|allg|Std|Min|Mio|Mrd|Kap|Ziff|lt|od|tägl|wg)\.$"
)
ORDINAL = re.compile(r"\b\d{1,2}\.$")
URL_LIKE = re.compile(r"\w[./@]\w")
# Prefixes that may or may not separate: "um" and "durch" separate in most verbs of administrative texts
# (ummelden, umziehen, durchführen), "über", "unter", "wider" and "wieder" do not (überweisen,
# unterschreiben, wiederholen); the exceptions by stem.
SEPARATING = {"um", "durch"}
INSEPARABLE = {"fass", "geb", "arm", "ring", "schließ", "kreis", "such", "hüll"}
SEPARABLE = {"bring", "komm", "geh"}
MAX_ROUNDS = 24

Sentence = list[Token]


@functools.lru_cache(maxsize=64)
def tidy(text: str, source: str = "") -> str:
    """The text with the rules applied: subordinate and joined clauses as sentences of their own, compounds
    hyphenated, one sentence per line, a copied example dropped. `source`: the original text.

    The same text is often tidied twice (checked, then shown): the last results are kept."""
    example = _copied_example(text, source)
    lines: list[str] = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "|", ">")):
            lines.append(stripped)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        marker = LIST_MARKER.match(stripped)
        content = stripped[marker.end() :] if marker else stripped
        written = [
            render(_hyphenated(s))
            for part in sentences(content)
            if _plain(part) not in example
            for s in restructured(tokens(part))
        ]
        if marker and written:
            lines.append(indent + marker.group() + " ".join(written))
        else:
            lines.extend(written)
    return "\n".join(lines).strip() or text.strip()


def sentences(line: str) -> list[str]:
    """The sentences of one line. Not broken after an abbreviation ("z. B.", "Dr."), an ordinal before a
    month ("11. März"), inside parentheses ("(GBl. S. 698)"), or where the next word goes on in lower case
    or with a digit."""
    parts: list[str] = []
    start = 0
    for match in SENTENCE_BREAK.finditer(line):
        before = line[start : match.start()]
        following = line[match.end() :].split(" ", 1)[0].strip('„"(')
        goes_on = before.endswith(".") and (following[:1].islower() or following[:1].isdigit())
        ordinal = ORDINAL.search(before) is not None and following.lower().rstrip(".,") in MONTHS
        if goes_on or ordinal or ABBREVIATION.search(before) or before.count("(") > before.count(")"):
            continue
        parts.append(before)
        start = match.end()
    parts.append(line[start:])
    return [p.strip() for p in parts if p.strip()]


def restructured(sentence: Sentence) -> list[Sentence]:
    """The sentence as one or more sentences, each ending in its punctuation mark."""
    if not sentence:
        return []
    done: list[Sentence] = []
    pending = [sentence]
    rounds = 0
    while pending and rounds < MAX_ROUNDS:
        rounds += 1
        current = pending.pop(0)
        split = _split(current)
        if split is None or not _same_words(current, split):
            done.append(current)
        else:
            pending[:0] = split
    done.extend(pending)
    return [_finished(s) for s in done]


def _split(sentence: Sentence) -> list[Sentence] | None:
    """One rule applied to the sentence: the sentences it becomes, or None when no rule applies."""
    body, end = _body(sentence)
    if not _words(body) or end == "?" or any(URL_LIKE.search(t.text) for t in body):
        return None  # nothing to do; a question; an address or number that the tagger cannot read
    at = next((i for i, t in enumerate(body) if t.text == ";"), None)
    if at is not None and _has_verb(body[:at]) and _has_verb(body[at + 1 :]):
        return [_closed(body[:at], "."), _closed(body[at + 1 :], end)]
    for rule in (_leading_clause, _trailing_clause, _joined_clauses, _shared_subject):
        result = rule(body, end)
        if result is not None:
            return [s for s in result if _words(s)]
    return None


def _leading_clause(body: Sentence, end: str) -> list[Sentence] | None:
    """ "Wenn Sie umziehen, müssen Sie sich anmelden." → "Sie ziehen um? Dann müssen Sie sich anmelden." """
    conjunction = body[0].text.lower()
    if body[0].tag != "KOUS" or conjunction not in HANDLED:
        return None
    comma = _next_comma(body, 1)
    if comma is None:
        return None
    parts = _clause(body[1:comma])
    main = body[comma + 1 :]
    if main and main[0].text.lower() in LEADING and len(main) > 1 and main[1].is_verb:
        main = main[1:]
    if parts is None or not main or not main[0].is_verb or not _simple(main):
        return None  # a further clause would be detached from the condition
    first, verb, rest = parts
    if conjunction in CONDITION:
        return [_closed(first + verb + rest, "?"), _closed([word("Dann"), *main], end)]
    if conjunction in REASON:
        return [_closed(first + verb + rest, "."), _closed([word("Deshalb"), *main], end)]
    if conjunction == "obwohl":
        return [_closed(first + verb + rest, "."), _closed([word("Trotzdem"), *main], end)]
    return None


def _trailing_clause(body: Sentence, end: str) -> list[Sentence] | None:
    """ "Sie brauchen ihn, wenn Sie verreisen." → "Sie verreisen? Dann brauchen Sie ihn." """
    commas = [i for i, t in enumerate(body) if t.text == ","]
    if not commas:
        return None
    comma = commas[-1]
    main, clause = body[:comma], body[comma + 1 :]
    if len(main) < 2 or len(clause) < 2 or not _simple(main) or any(t.text.lower() in FOCUS for t in main):
        return None  # the clause might belong to a part of the main clause, or be restricted by it
    opener = clause[0]
    conjunction = opener.text.lower()
    if opener.tag == "PWAT":  # "…, welcher Titel möglich ist" → "…:" "Welcher Titel ist …?"
        parts = _clause(clause)
        if parts is None or _negated(main):
            return None
        first, verb, rest = parts
        return [_closed(main, ":"), _closed(first + verb + rest, "?")]
    if opener.tag != "KOUS" or conjunction not in HANDLED:
        return None
    parts = _clause(clause[1:])
    if parts is None:
        return None
    first, verb, rest = parts
    if conjunction in ("dass", "ob"):
        if _negated(main):
            return None  # "Wir bestätigen nicht, dass …" must not become a statement of the clause
        if conjunction == "dass":
            return [_closed(main, ":"), _closed(first + verb + rest, end)]
        return [_closed(main, ":"), _closed(verb + first + rest, "?")]
    if conjunction in REASON:
        return [_closed(main, "."), _closed([word("Denn"), *first, *verb, *rest], end)]
    if conjunction == "damit":
        return [_closed(main, "."), _closed([word("So"), *verb, *first, *rest], end)]
    question = _verb_first(main)
    if question is None or any(t.text in REFERRING for t in clause):
        return None  # the clause would come before the noun its pronoun refers to
    if conjunction in CONDITION:
        return [_closed(first + verb + rest, "?"), _closed([word("Dann"), *question], end)]
    if conjunction == "obwohl":
        return [_closed(first + verb + rest, "."), _closed([word("Trotzdem"), *question], end)]
    return None


def _joined_clauses(body: Sentence, end: str) -> list[Sentence] | None:
    """ "Sie können anrufen, aber wir antworten erst morgen." → "Sie können anrufen." "Aber wir …" """
    if body[0].tag == "KOUS":
        return None  # "Wenn …, müssen Sie …, und Sie …": the second clause depends on the condition too
    for index, token in enumerate(body[:-2]):
        if token.text != "," or body[index + 1].text.lower() not in COORDINATORS:
            continue
        after_end = _next_comma(body, index + 2)
        after = body[index + 2 : after_end]
        if not _main_clause(after) or not any(t.is_verb for t in body[:index]):
            continue
        joiner = COORDINATORS[body[index + 1].text.lower()]
        second = [word(joiner), *body[index + 2 :]] if joiner else body[index + 2 :]
        return [_closed(body[:index], "."), _closed(second, end)]
    return None


def _shared_subject(body: Sentence, end: str) -> list[Sentence] | None:
    """ "Sie füllen das Formular aus und schicken es uns." → "Sie füllen das Formular aus." "Sie schicken es
    uns." (two finite verbs of one subject, joined by "und", "oder" or "aber"). Only where the first part is
    surely the subject: a pronoun in the nominative, or a noun phrase not followed by another one."""
    first_end = _constituent(body, 0)
    if first_end is None or first_end >= len(body) or not body[first_end].tag.endswith("(FIN)"):
        return None
    if not _subject(body[:first_end]) or any(t.text == "," for t in body):
        return None
    after_verb = body[first_end + 1].text.lower() if first_end + 1 < len(body) else ""
    pronoun = body[0].tag in ("PPER", "PIS")
    if not pronoun and after_verb in NOMINATIVE | {"sie", "der", "die", "das", "ein", "eine"}:
        return None  # "Das Formular prüft das Amt und …": the subject follows the verb
    for index in range(first_end + 2, len(body) - 1):
        joiner, verb = body[index], body[index + 1]
        if joiner.text.lower() in ("und", "oder", "aber") and verb.tag.endswith("(FIN)"):
            subject = [_inside(t, i).moved() for i, t in enumerate(body[:first_end])]
            lead = [word(COORDINATORS[joiner.text.lower()])] if joiner.text.lower() != "und" else []
            return [_closed(body[:index], "."), _closed([*lead, *subject, *body[index + 1 :]], end)]
    return None


def _subject(words: Sentence) -> bool:
    """Whether these first words are surely a subject: a nominative pronoun ("Sie", "wir", "man") or a noun
    phrase whose article is no dative, accusative or genitive one."""
    first = words[0]
    if len(words) == 1 and first.tag in ("PPER", "PIS"):
        return first.text in ("Sie",) or first.text.lower() in NOMINATIVE
    return first.tag in ("ART", "PPOSAT", "PDAT", "NN", "NE") and first.text.lower() not in OBLIQUE


def _simple(words: Sentence) -> bool:
    """Whether the words hold no further clause: no comma, no conjunction that opens one."""
    return not any(t.text in (",", ";") or t.tag in ("KOUS", "PRELS", "PWS", "KOUI") for t in words)


def _negated(words: Sentence) -> bool:
    return any(t.text.lower() in NEGATIONS for t in words)


def _clause(clause: Sentence) -> tuple[Sentence, Sentence, Sentence] | None:
    """A subordinate clause (without its conjunction) in main-clause order as (first part, verb, rest):
    "uns der Antrag vorliegt" → ("der Antrag", "liegt", "uns … vor"). None when the clause is not one this
    module understands: its last word is no verb, it holds another clause or joined parts ("Ihre Tochter oder
    Ihr Sohn"), it starts with "sich" or with "sie" (which would read as "Sie"), or a prefix may or may not
    separate ("unterschreiben")."""
    if len(clause) < 2 or not clause[-1].is_verb or clause[-1].is_participle:
        return None
    if not _simple(clause[:-1]):
        return None
    verbs = [i for i, t in enumerate(clause) if t.is_verb]
    if any(t.tag == "KON" for t in clause[verbs[0] : -1]):  # "… heiraten möchten oder … brauchen"
        return None
    verb = clause[-1]
    end = _constituent(clause, 0)
    if end is None or end >= len(clause) or clause[end].tag == "KON":
        return None
    first, middle = clause[:end], clause[end:-1]
    if first[0].text in ("sie", "sich"):  # "sie" would read as "Sie"; "Sich ändert etwas?"
        return None
    if first[0].text.lower() in OBJECT_PRONOUNS and middle and middle[0].tag in DETERMINERS:
        second = _constituent(clause, end)
        if second is not None and second < len(clause):
            first, middle = clause[end:second], [*clause[:end], *clause[second:-1]]
    prefix: Sentence = []
    only_verb = not any(t.is_verb for t in clause[:-1])
    if only_verb and _separates(verb):
        cut = len(verb.parts[0][0])
        if cut >= len(verb.text) - 2:
            return None
        prefix = [Token(verb.text[:cut], "PTKVZ")]
        verb = Token(verb.text[cut:], verb.tag, verb.parts[1:])
    return [_inside(t, i) for i, t in enumerate(first)], [verb.moved()], [*middle, *prefix]


def _separates(verb: Token) -> bool:
    """Whether the verb's prefix goes to the end of a main clause ("vorliegt" → "liegt … vor")."""
    if not verb.parts or not verb.parts[0][1].startswith("PTKVZ"):
        return False
    if verb.parts[0][1] == "PTKVZ_SEP":
        return True
    stem = verb.parts[1][0] if len(verb.parts) > 1 else ""
    if verb.parts[0][0] in SEPARATING:
        return stem not in INSEPARABLE
    return stem in SEPARABLE


def _constituent(words: Sentence, start: int) -> int | None:
    """Where the first part of a clause that begins at `start` ends: a pronoun, a noun phrase ("der
    zuständigen Stelle", "Ihr Kind", also with a genitive: "die Ausstellung des Ausweises"), a preposition
    with one, an adverb. None when it is none of these."""
    if start >= len(words):
        return None
    token = words[start]
    following = words[start + 1] if start + 1 < len(words) else None
    determiner = token.tag in DETERMINERS or (
        token.text.lower() in POSSESSIVE and following is not None
        and (following.is_noun or following.tag.startswith("ADJ"))
    )  # fmt: skip
    if token.tag in ("APPR", "APPRART"):
        return _constituent(words, start + 1)
    if determiner or token.tag.startswith("ADJ(A)"):
        for index in range(start + 1, min(len(words), start + 7)):
            word_after = words[index]
            if word_after.is_noun:
                return _genitive(words, index + 1)
            if not (word_after.tag.startswith("ADJ") or word_after.tag in ("ADV", "CARD", "PIAT", "PIDAT")):
                return None
        return None
    if token.tag in PRONOUNS or token.tag in SINGLE:
        return start + 1
    if token.is_noun:
        end = start + 1
        while end < len(words) and words[end].tag == "NE":
            end += 1
        return _genitive(words, end)
    return None


def _genitive(words: Sentence, end: int) -> int:
    """The end of a noun phrase, including a genitive that follows it ("des Antrags")."""
    if end < len(words) and words[end].text in ("des", "eines"):
        following = _constituent(words, end)
        if following is not None:
            return following
    return end


def _verb_first(statement: Sentence) -> Sentence | None:
    """A main clause with its verb first: "Sie benötigen ihn" → "benötigen Sie ihn". None for a request
    ("Bitte bringen Sie …"), a question word first, or a first part that is not clear."""
    if statement[0].text.lower() == "bitte" or statement[0].tag in ("PWS", "PWAV", "PWAT"):
        return None
    end = _constituent(statement, 0)
    if end is None or end >= len(statement) or not statement[end].is_verb or statement[end].is_participle:
        return None
    first = [_inside(t, i) for i, t in enumerate(statement[:end])]
    return [statement[end].moved(), *first, *statement[end + 1 :]]


def _inside(token: Token, position: int) -> Token:
    """A sentence's first word moved inside it: lower case where German writes it so."""
    return token.lowered().moved() if position == 0 and token.index == 0 else token.moved()


def _body(sentence: Sentence) -> tuple[Sentence, str]:
    """The sentence without its final punctuation mark, and that mark ("." when it has none)."""
    if sentence and sentence[-1].text in (".", "!", "?", ":"):
        return sentence[:-1], sentence[-1].text
    return sentence, "."


def _closed(words: Sentence, end: str) -> Sentence:
    """Words as a sentence: first letter upper case, ending in `end`."""
    while words and words[-1].text in (",", ";"):
        words = words[:-1]
    if not words:
        return []
    return [words[0].capitalised(), *words[1:], word(end)]


def _finished(sentence: Sentence) -> Sentence:
    """A sentence as it is written out: with its first letter upper case."""
    return [sentence[0].capitalised(), *sentence[1:]] if sentence else sentence


def _next_comma(words: Sentence, start: int) -> int | None:
    return next((i for i in range(start, len(words)) if words[i].text == ","), None)


def _has_verb(words: Sentence) -> bool:
    return any(t.is_verb for t in words)


def _main_clause(words: Sentence) -> bool:
    """Whether the words are a main clause: a first part, then a verb ("wir antworten morgen")."""
    end = _constituent(words, 0)
    return end is not None and end < len(words) and words[end].is_verb and not words[end].is_participle


def _words(sentence: Sentence) -> list[str]:
    return [t.text.lower().replace("-", "") for t in sentence if not t.is_punctuation]


JOINING = HANDLED | set(COORDINATORS) | LEADING | {"deshalb", "trotzdem"}


def _same_words(before: Sentence, after: list[Sentence]) -> bool:
    """Whether a rewrite keeps every word of the sentence and adds none but joining words and repeated ones
    (a subject said again); a verb whose prefix was separated counts as kept."""
    had = Counter(w for w in _words(before) if w not in JOINING)
    has = Counter(w for s in after for w in _words(s) if w not in JOINING)
    lost, extra = had - has, has - had
    for gone in list(lost.elements()):
        split = next(((p, s) for p in extra for s in extra if p != s and p + s == gone), None)
        if split is None:
            return False
        extra -= Counter(split)
    return all(w in had for w in extra)


def _hyphenated(sentence: Sentence) -> Sentence:
    """The sentence with long compound nouns split by hyphens: "Aufenthalts-Genehmigung"; a street keeps its
    name whole ("Schwanthaler-Straße")."""
    result = []
    for token in sentence:
        if token.is_noun and len(token.text) > COMPOUND_MIN and "-" not in token.text:
            parts = compound_parts(token)
            if len(parts) > 2 and parts[-1].lower().startswith(STREET):
                parts = ["".join(parts[:-1]), parts[-1]]
            if len(parts) > 1:
                text = "-".join([parts[0], *(p[:1].upper() + p[1:] for p in parts[1:])])
                token = Token(text, token.tag, token.parts, token.index, token.space_before)
        result.append(token)
    return result


def _plain(text: str) -> str:
    """A sentence's words and numbers in lower case, for comparing."""
    return " ".join(re.findall(r"\w+", text)).lower()


def _copied_example(text: str, source: str) -> set[str]:
    """The sentences of the instructions' example that the text copied (lower-case words and numbers): only
    when it holds two or more of them, none of which the original says; else none."""
    example = {_plain(s) for text_ in leichte_sprache.EXAMPLES.values() for s in sentences(text_)}
    held = {_plain(s) for line in text.splitlines() for s in sentences(line)} & example
    original = _plain(source)
    if len(held) < 2 or any(s in original for s in held):
        return set()
    return held
