"""The Assistant document (`apiVersion: rathaus/v1`, `kind: Assistant`): the single source of its format.

The JSON Schema in docs/schemas/ is generated from these models; the builder's form and its YAML
tab edit the same document.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rathaus.formats.metadata import Metadata
from rathaus.llm.catalogue import DataClass

TaskType = Literal["chat", "qa", "summarize", "simplify", "draft", "translate", "classify", "extract"]
Creativity = Literal["low", "medium", "high"]
Visibility = Literal["private", "team", "tenant"]

TEMPERATURE: dict[str, float] = {"low": 0.1, "medium": 0.5, "high": 0.9}
NOT_FOUND = (
    "Dazu habe ich in den Unterlagen der Verwaltung nichts gefunden. Bitte wenden Sie sich an den "
    "Bürgerservice Ihrer Verwaltung."
)


class ModelPolicy(BaseModel):
    """Which model answers: `auto` (the router decides), a tier (0–3), or one named profile."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["auto", "tier", "profile"] = "auto"
    tier: int | None = Field(default=None, ge=0, le=3)
    profile: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _complete(self) -> ModelPolicy:
        if self.mode == "tier" and self.tier is None:
            raise PydanticCustomError("tier_missing", "mode 'tier' needs a tier (0 to 3)")
        if self.mode == "profile" and not self.profile:
            raise PydanticCustomError("profile_missing", "mode 'profile' needs a profile id")
        return self


class Output(BaseModel):
    """The form of the answer: text, Markdown, or JSON following a schema."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["text", "markdown", "json"] = "markdown"
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")

    @model_validator(mode="after")
    def _schema_for_json(self) -> Output:
        if self.format == "json" and not self.json_schema:
            raise PydanticCustomError("schema_missing", "format 'json' needs a schema (a JSON Schema object)")
        if self.format != "json" and self.json_schema:
            raise PydanticCustomError("schema_unused", "a schema is only used with format 'json'")
        return self


class AssistantBody(BaseModel):
    """What the assistant does and how."""

    model_config = ConfigDict(extra="forbid")

    instructions: str = Field(
        min_length=1, max_length=20_000, description="The system prompt, in plain words."
    )
    starters: list[str] = Field(
        default_factory=list, max_length=8, description="Example prompts shown to users."
    )
    task: TaskType = "chat"
    model: ModelPolicy = Field(default_factory=ModelPolicy)
    knowledge: list[str] = Field(default_factory=list, description="Knowledge collections to answer from.")
    not_found: str = Field(
        default=NOT_FOUND,
        min_length=1,
        max_length=1000,
        description="The answer when the collections hold nothing on the question; name a contact.",
    )
    creativity: Creativity = "low"
    output: Output = Field(default_factory=Output)
    visibility: Visibility = "tenant"
    data_class: DataClass = "intern"

    @field_validator("starters")
    @classmethod
    def _short_starters(cls, starters: list[str]) -> list[str]:
        for starter in starters:
            if not starter.strip() or len(starter) > 300:
                raise PydanticCustomError("starter_length", "each starter prompt must be 1 to 300 characters")
        return starters


class AssistantSpec(BaseModel):
    """An assistant as an open, versionable document."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    api_version: Literal["rathaus/v1"] = Field(default="rathaus/v1", alias="apiVersion")
    kind: Literal["Assistant"] = "Assistant"
    metadata: Metadata
    spec: AssistantBody
