"""Workflow templates shipped as spec files, as a starting point for a city's own workflows."""

from __future__ import annotations

from importlib.resources import files

from rathaus.workflows.spec import WorkflowSpec, load_workflow


def templates() -> dict[str, WorkflowSpec]:
    """The shipped templates by name, read from `workflows/templates/*.yaml`."""
    folder = files("rathaus.workflows").joinpath("templates")
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            spec = load_workflow(entry.read_text(encoding="utf-8"))
            found[spec.metadata.name] = spec
    return found
