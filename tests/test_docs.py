"""Docs are tested: every setting is in both operator guides; the README starts with the two commands; the
architecture map names every layer of the import contract and every hook."""

from __future__ import annotations

import inspect
import tomllib
from pathlib import Path

import pytest

from rathaus import hookspecs
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


def _architecture() -> str:
    return (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_architecture_names_every_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = [
        module.strip()
        for contract in contracts
        if contract["type"] == "layers"
        for floor in contract["layers"]
        for module in floor.split("|")
    ]
    assert "rathaus.web" in layers and "rathaus.settings" in layers
    text = _architecture()
    missing = [module for module in layers if f"`{module}`" not in text]
    assert not missing, f"docs/architecture.md does not name the layers {missing}"


def test_architecture_names_every_hook() -> None:
    marker = f"{hookspecs.hookspec.project_name}_spec"
    hooks = [name for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, marker)]
    assert "register_backends" in hooks
    text = _architecture()
    missing = [name for name in hooks if f"`{name}`" not in text]
    assert not missing, f"docs/architecture.md does not name the hooks {missing}"
