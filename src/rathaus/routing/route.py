"""A route: which model answered a request, why, which were rejected and why, and every attempt made."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

HEADER = "X-Rathaus-Route"


@dataclass(frozen=True)
class Rejected:
    """A model that was not used, and why."""

    model: str
    reason: str


@dataclass(frozen=True)
class Attempt:
    """One try of one model: `ok`, `failed` (an error; the next model was tried) or `escalated`."""

    model: str
    outcome: str
    detail: str = ""


@dataclass
class Route:
    """The routing decision for one request, completed with its attempts while it runs."""

    chosen: str
    tier: int
    reason: str
    rejected: list[Rejected] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The route for response bodies and the request record."""
        return asdict(self)

    def header(self) -> str:
        """The route as compact ASCII JSON for the X-Rathaus-Route response header."""
        return json.dumps(self.as_json(), ensure_ascii=True, separators=(",", ":"))
