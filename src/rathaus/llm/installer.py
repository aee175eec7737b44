"""Installing models: bundled weights become registered catalogue profiles."""

from __future__ import annotations

from pathlib import Path

from rathaus.llm.catalogue import Catalogue, Energy, Profile
from rathaus.llm.weights import Progress, WeightSource, install
from rathaus.settings import Settings

LOCAL_ENERGY = Energy(
    watts_per_core=15.0,
    source="assumed 15 W per busy core of an office workstation CPU; measure and set per machine",
)


def gguf_profile(
    model_id: str,
    path: Path,
    tier: int,
    context: int,
    title: str = "",
    licence: str = "",
    install_hint: str | None = None,
) -> Profile:
    """A local llama.cpp profile for a GGUF file."""
    params: dict[str, object] = {"path": str(path)}
    if install_hint:
        params["install_hint"] = install_hint
    return Profile(
        id=model_id,
        title=title or path.name,
        backend="llamacpp",
        params=params,
        tier=tier,
        context=context,
        capabilities=["chat", "json_schema"],
        location="local",
        energy=LOCAL_ENERGY,
        licence=licence,
    )


def install_bundled(settings: Settings, source: WeightSource, progress: Progress | None = None) -> Path:
    """Fetch and verify the weights, then register (or refresh) the model's profile."""
    path = install(settings.effective_models_dir, source, progress)
    tier = int(str(source.profile.get("tier", 1)))
    context = int(str(source.profile.get("context", 4096)))
    profile = gguf_profile(
        source.name,
        path,
        tier,
        context,
        source.title,
        source.licence,
        install_hint=f"rathaus models install {source.name}",
    )
    Catalogue(settings.catalogue_file).register(profile)
    return path
