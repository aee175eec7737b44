"""Docs are tested: every setting is in both operator guides; the README starts with the two commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from rathaus.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("doc", ["docs/operators.en.md", "docs/betrieb.de.md"])
def test_every_setting_is_documented(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"RATHAUS_{name.upper()}" not in text]
    assert not missing, f"{doc} does not document {missing}"


def test_readme_begins_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:1500]
    assert "make run" in head and "make test" in head
    assert "make test" in (ROOT / ".ci" / "run").read_text()
