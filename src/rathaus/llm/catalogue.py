"""The model catalogue: profiles that say what each model is, where it runs and what it may see.

Two YAML files are merged: the catalogue shipped with Rathaus (`catalogue.yaml` beside this module)
and the operator's file (`DATA_DIR/models.yaml`), which `rathaus models install` and
`rathaus models register` write to and which an operator edits to add remote servers.
Nothing else in the code names a model.
"""

from __future__ import annotations

import threading
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DataClass = Literal["öffentlich", "intern", "vertraulich", "personenbezogen"]
ALL_DATA_CLASSES: tuple[DataClass, ...] = ("öffentlich", "intern", "vertraulich", "personenbezogen")
Location = Literal["local", "private-cloud", "external-eu", "external"]


class Cost(BaseModel):
    """Price per million tokens in euros."""

    model_config = ConfigDict(extra="forbid")

    eur_per_1m_input: float = Field(default=0.0, ge=0)
    eur_per_1m_output: float = Field(default=0.0, ge=0)


class Energy(BaseModel):
    """How a request's energy is estimated: measured CPU time × watts, or declared Wh per 1k tokens."""

    model_config = ConfigDict(extra="forbid")

    watts_per_core: float | None = Field(default=None, gt=0)
    wh_per_1k_tokens: float | None = Field(default=None, ge=0)
    source: str = ""
    uncertainty: float = Field(
        default=0.5, ge=0, le=1, description="Relative uncertainty of the energy figures (0.5 = ±50 %)."
    )
    cpu_seconds_per_1k_input: float | None = Field(
        default=None, ge=0, description="Measured by `rathaus models calibrate`; for estimates."
    )
    cpu_seconds_per_1k_output: float | None = Field(default=None, ge=0)


class Profile(BaseModel):
    """One entry of the model catalogue."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._\-/]*$", max_length=100)
    title: str = ""
    backend: str
    params: dict[str, Any] = Field(default_factory=dict)
    tier: int = Field(ge=0, le=3)
    context: int = Field(default=4096, ge=128)
    capabilities: list[str] = Field(default_factory=lambda: ["chat"])
    location: Location = "local"
    cost: Cost = Field(default_factory=Cost)
    energy: Energy = Field(default_factory=Energy)
    data_classes: list[DataClass] | None = Field(
        default=None,
        description="Data classes this model may see; default: all for local models, only "
        "'öffentlich' for any other location, so nothing personal leaves the house by accident.",
    )
    licence: str = ""

    @model_validator(mode="after")
    def _default_clearance(self) -> Profile:
        if self.data_classes is None:
            self.data_classes = list(ALL_DATA_CLASSES) if self.location == "local" else ["öffentlich"]
        return self

    def can(self, capability: str) -> bool:
        """Whether the profile declares a capability (chat, json_schema, embeddings, ...)."""
        return capability in self.capabilities


class CatalogueFile(BaseModel):
    """The document format of a catalogue file."""

    model_config = ConfigDict(extra="forbid")

    apiVersion: Literal["rathaus/v1"] = "rathaus/v1"
    kind: Literal["ModelCatalogue"] = "ModelCatalogue"
    profiles: list[Profile] = Field(default_factory=list)


class CatalogueError(ValueError):
    """A catalogue file is unreadable or invalid; the message names the file and field."""


class UnknownModel(LookupError):
    """No profile with this id."""

    def __init__(self, model_id: str) -> None:
        super().__init__(f"The model '{model_id}' does not exist. `rathaus models list` shows the models.")
        self.model_id = model_id


def read_catalogue(path: Path | None) -> CatalogueFile:
    """Read and validate one catalogue file (None: the shipped catalogue)."""
    label = str(path) if path else "built-in catalogue"
    try:
        if path is None:
            text = files("rathaus.llm").joinpath("catalogue.yaml").read_text(encoding="utf-8")
        elif not path.exists():
            return CatalogueFile()
        else:
            text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
        return CatalogueFile.model_validate(data)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{label}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise CatalogueError(f"{label}: {problems}") from None


class Catalogue:
    """The merged catalogue; operator profiles replace shipped ones with the same id."""

    def __init__(self, operator_file: Path) -> None:
        self.operator_file = operator_file
        self._lock = threading.Lock()
        self._profiles: dict[str, Profile] = {}
        self.reload()

    def reload(self) -> None:
        """Re-read both files."""
        merged: dict[str, Profile] = {}
        for source in (None, self.operator_file):
            for profile in read_catalogue(source).profiles:
                merged[profile.id] = profile
        self._profiles = merged

    def profiles(self) -> list[Profile]:
        """All profiles, sorted by tier and id."""
        return sorted(self._profiles.values(), key=lambda p: (p.tier, p.id))

    def get(self, model_id: str) -> Profile:
        """The profile with this id, or UnknownModel."""
        try:
            return self._profiles[model_id]
        except KeyError:
            raise UnknownModel(model_id) from None

    def register(self, profile: Profile) -> None:
        """Add or replace a profile in the operator's file."""
        with self._lock:
            document = read_catalogue(self.operator_file)
            others = [p for p in document.profiles if p.id != profile.id]
            document.profiles = [*others, profile]
            self.operator_file.parent.mkdir(parents=True, exist_ok=True)
            data = document.model_dump(mode="json", exclude_defaults=False)
            tmp = self.operator_file.with_suffix(".tmp")
            tmp.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
            tmp.replace(self.operator_file)
            self.reload()
