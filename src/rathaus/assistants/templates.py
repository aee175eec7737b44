"""Assistant templates shipped as spec files, as a starting point for a city's own assistants."""

from __future__ import annotations

from importlib.resources import files

from rathaus.assistants.spec import AssistantSpec
from rathaus.formats.documents import load_document


def templates() -> dict[str, AssistantSpec]:
    """The shipped templates by name, read from `assistants/templates/*.yaml`."""
    folder = files("rathaus.assistants").joinpath("templates")
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            spec = load_document(AssistantSpec, entry.read_text(encoding="utf-8"))
            found[spec.metadata.name] = spec
    return found
