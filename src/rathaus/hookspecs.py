"""The whole extension surface of Rathaus.

A plugin is a module or object with functions marked `@hookimpl`, announced through the `rathaus`
entry-point group. Built-in parts use these same hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from rathaus.llm.catalogue import Profile
    from rathaus.settings import Settings
    from rathaus.workflows.steps import StepType

hookspec = pluggy.HookspecMarker("rathaus")
hookimpl = pluggy.HookimplMarker("rathaus")

BackendFactory = Callable[["Profile", "Settings"], Any]
"""Builds a Backend (see rathaus.llm.backend) for one catalogue profile."""

EmbedderFactory = Callable[["Profile", "Settings"], Any]
"""Builds an Embedder (see rathaus.llm.embeddings) for one catalogue profile."""


@hookspec
def register_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Register chat backends: `register("name", factory)`; profiles name them in `backend:`."""


@hookspec
def register_embedders(register: Callable[[str, EmbedderFactory], None]) -> None:
    """Register embedding backends: `register("name", factory)`."""


@hookspec
def register_step_types(register: Callable[[StepType], None]) -> None:
    """Register workflow step types: `register(MyStep())`, a `rathaus.workflows.steps.StepType`."""
