"""Abuse defences of the public chatbot: rate limits, a screen for attempts to change or reveal the bot's
instructions, and a check that an answer does not repeat them."""

from __future__ import annotations

import functools
import re

LEAK_WORDS = 8  # an answer repeating this many consecutive words of the instructions is a leak

_INJECTION = [
    # changing the rules
    r"\b(ignor\w*|vergiss|vergessen|missacht\w*|disregard|forget|overrid\w*|übergeh\w*)\b.{0,40}"
    r"\b(anweisung\w*|instruktion\w*|regeln?|vorgaben?|instructions?|rules?|prompts?|befehle?)\b",
    r"\b(du bist (jetzt|ab jetzt|nun|ab sofort)|ab (jetzt|sofort) bist du|you are now|from now on you)\b",
    r"\b(tu so als|spiel(e|st)? die rolle|act as|pretend (to be|you)|roleplay|rollenspiel)\b",
    r"\b(developer mode|entwicklermodus|jailbreak|dan mode|do anything now)\b",
    r"\bneue (anweisung|regel|rolle)\w*\b|\bnew (instructions?|rules?|role)\b",
    # revealing them
    r"\b(system ?prompt|systemnachricht|system message|systemanweisung\w*|initial prompt|vorgabetext)\b",
    r"\b(zeig\w*|verrat\w*|nenn\w*|gib|wiederhol\w*|ausgeben|schreib\w*|auflist\w*|zitier\w*|übersetz\w*|"
    r"print|reveal|show|repeat|output|tell me|list|quote|translate|write)\b.{0,50}"
    r"\b(deine[nrms]?|your)\b.{0,30}\b(anweisung\w*|instruktion\w*|vorgabe\w*|"
    r"instructions?|prompts?|konfiguration|configuration|regeln|rules)\b",
    # the bot's own set-up, named as the bot's ("deine Regeln", "your instructions")
    r"\b(dein(e|en|em|er|es)?|your)\s+(\w+\s+)?(anweisung\w*|instruktion\w*|vorgabe\w*|regeln|auftrags?|"
    r"auftrag|konfiguration|system ?prompts?|prompts?|instructions?|rules|configuration)\b",
    r"\b(regeln|anweisung\w*|vorgabe\w*|instructions?|rules)\b.{0,40}\b(du|you)\b.{0,40}"
    r"\b(bekommen|erhalten|got|were given|received)\b",
    r"\b(text|alles|everything|words?) (über|oberhalb|above|before) (diesem|dieser|this)\b",
    # model control tokens
    r"<\|?(im_start|im_end|system|endoftext)\|?>|\[/?inst\]|</?system>|###\s*(system|instruction)",
]
_SCREEN = re.compile("|".join(f"(?:{p})" for p in _INJECTION), re.IGNORECASE | re.DOTALL)
_WORD = re.compile(r"\w+", re.UNICODE)


def tries_to_steer(message: str) -> bool:
    """Whether a message tries to change the bot's instructions or make it reveal them."""
    return _SCREEN.search(message) is not None


def leaks(answer: str, instructions: str, words: int = LEAK_WORDS) -> bool:
    """Whether the answer repeats `words` consecutive words of the instructions (ignoring case and
    punctuation)."""
    said = [w.lower() for w in _WORD.findall(answer)]
    shingles = _shingles(instructions, words)
    return any(tuple(said[i : i + words]) in shingles for i in range(len(said) - words + 1))


@functools.lru_cache(maxsize=256)
def _shingles(text: str, words: int) -> frozenset[tuple[str, ...]]:
    """Every run of `words` consecutive words of a text (the same instructions are checked on every turn)."""
    tokens = [w.lower() for w in _WORD.findall(text)]
    return frozenset(tuple(tokens[i : i + words]) for i in range(len(tokens) - words + 1))


def client_key(address: str) -> str:
    """The address limits are counted for: an IPv4 address, or the /64 network of an IPv6 address (one
    household or device usually holds a whole /64)."""
    import ipaddress

    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
