"""What every Rathaus document carries: apiVersion, kind and metadata."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


class Metadata(BaseModel):
    """Who made a document and what it is called; `name` is its stable identifier."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=NAME_PATTERN, description="Lowercase letters, digits and hyphens, e.g. 'buergeranfrage'."
    )
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    version: str = Field(
        default="1.0.0", max_length=40, description="The publisher's version of the document."
    )
    licence: str = Field(default="EUPL-1.2", max_length=100)
    publisher: str = Field(default="", max_length=200)
