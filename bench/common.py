"""Helpers shared by the benchmarks: recording a section in docs/benchmarks.md, percentiles, the machine."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path


def write_docs(path: Path, name: str, section: str) -> None:
    """Write or replace benchmark `name`'s section of docs/benchmarks.md, keeping the rest of the file."""
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    block = f"{begin}\n{section}{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    old = re.compile(f"{re.escape(begin)}.*?{re.escape(end)}\n?", re.DOTALL)
    text = old.sub(lambda _: block, text) if old.search(text) else f"{text.rstrip()}\n\n{block}"
    path.write_text(text, encoding="utf-8")


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def machine() -> str:
    """A one-line description of this machine."""
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}"
