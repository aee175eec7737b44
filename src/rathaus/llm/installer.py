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
    cpu_seconds_per_1k: tuple[float, float] | None = None,
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
        energy=LOCAL_ENERGY.model_copy(
            update={
                "cpu_seconds_per_1k_input": cpu_seconds_per_1k[0] if cpu_seconds_per_1k else None,
                "cpu_seconds_per_1k_output": cpu_seconds_per_1k[1] if cpu_seconds_per_1k else None,
            }
        ),
        licence=licence,
    )


def bundled_profile(source: WeightSource, path: Path) -> Profile:
    """The profile of a bundled model whose weights are at `path`, as installing it registers it."""
    tier = int(str(source.profile.get("tier", 1)))
    context = int(str(source.profile.get("context", 4096)))
    # starting calibration: 2 threads × tokens/s measured on a 2-core x86 server; `rathaus models calibrate`
    # measures the installing machine
    calibration = source.profile.get("cpu_seconds_per_1k")
    return gguf_profile(
        source.name,
        path,
        tier,
        context,
        source.title,
        source.licence,
        install_hint=f"rathaus models install {source.name}",
        cpu_seconds_per_1k=calibration if isinstance(calibration, tuple) else None,
    )


def install_bundled(settings: Settings, source: WeightSource, progress: Progress | None = None) -> Path:
    """Fetch and verify the weights, then register (or refresh) the model's profile."""
    path = install(settings.effective_models_dir, source, progress)
    Catalogue(settings.catalogue_file).register(bundled_profile(source, path))
    return path
