"""Numbers as people in German administrations write them."""

from __future__ import annotations

import re

PLAIN = re.compile(r"-?\d+(?:\.\d+)?")


def german_number(text: str) -> str | None:
    """A number as written in German ("1.000", "12,5", "1.234,50") or plainly ("12.5"), in the form
    Python and templates read ("1000", "12.5", "1234.50"); None for anything else."""
    written = text.strip().replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", written):  # thousands with dots
        written = written.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"-?\d+,\d+", written):
        written = written.replace(",", ".")
    return written if PLAIN.fullmatch(written) else None
