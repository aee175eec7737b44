"""A route: which model answered a request, why, which were rejected and why, and every attempt made."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rathaus.accounting.budgets import Admission
    from rathaus.accounting.costing import Costed
    from rathaus.routing.clearance import Exposure

HEADER = "X-Rathaus-Route"

# Every reason a route gives, in English for the API; the web pages translate the same codes (route.*).
REASONS: dict[str, str] = {
    "smallest_adequate": "smallest eligible model of tier ≥ {minimum}, adequate for task '{task}'",
    "smallest_adequate_long": (
        "smallest eligible model of tier ≥ {minimum}, adequate for task '{task}' with a long input "
        "({tokens} tokens)"
    ),
    "strongest_eligible": "no eligible model of tier ≥ {minimum} for task '{task}'; the strongest one",
    "classifier": "tier 0: embedding classifier; escalates when the best label leads by less than {margin}",
    "escalated": "escalated: the classifier was unsure (label '{label}', lead {lead})",
    "escalated_measured": (
        "escalated: the classifier was unsure (label '{label}', lead {lead}); this model sorted the "
        "examples of these labels better ({right} instead of {tier0_right} of {examples} right)"
    ),
    "unsure_kept": (
        "tier 0 label '{label}' marked unsure (lead {lead}): no language model measured better on the "
        "examples of these labels"
    ),
    "escalated_schema": "escalated: the answer of {model} did not follow the JSON schema",
    "escalated_check": "escalated: the answer of {model} failed the check for task '{task}'",
    "fallback": "fallback: {model} failed",
    "policy_profile": "named by the assistant's model policy",
    "policy_tier": "tier {tier} as the assistant's model policy says",
    "named": "named by the request",
    "no_passage": "tier 0 rule: no passage is similar enough, so the not-found answer needs no model",
    "no_evidence": "tier 0 rule: no sentence of the passages found answers the question, so the not-found "
    "answer needs no model",
    "other_place": "tier 0 rule: the passages found are about another place than the question names, so "
    "the not-found answer needs no model",
    "extractive": (
        "tier 0: the evidence answers the question clearly enough (score {score} ≥ {minimum}) to be "
        "quoted without a language model"
    ),
    "not_needed_extractive": "not needed: the answer quotes the evidence",
    "data_class": "not cleared for data class '{data_class}' (location {location}): {parts}",
    "no_json_schema": "cannot follow a JSON schema",
    "context": "context of {context} tokens is too small",
    "reads_less": "reads only {context} tokens of a longer text",
    "breaker_open": "failing recently (circuit breaker open)",
    "not_ready": "not ready (weights, API key or backend missing)",
    "fallback_kept": "kept as fallback",
    "larger": "larger than needed",
    "below_minimum": "tier {tier} is below the {minimum} needed for task '{task}'",
    "escalation": "escalation if the classifier is unsure",
    "escalation_check": "escalation if the answer fails its check",
    "not_needed": "not needed: no passage is similar enough",
    "budget_downgrade": "the monthly budget is used up: the smallest eligible model, as the policy says",
    "budget": "not used: the monthly budget is used up",
}


@dataclass(frozen=True)
class Reason:
    """Why: a code with its values, readable in English (`text`) and translatable by code."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The reason in English."""
        return REASONS[self.code].format(**self.params)

    def as_json(self) -> dict[str, Any]:
        """Code, values and English text."""
        return {"code": self.code, "params": self.params, "text": self.text}


@dataclass(frozen=True)
class Rejected:
    """A model that was not used, and why."""

    model: str
    reason: Reason


@dataclass(frozen=True)
class Attempt:
    """One try of one model: `ok`, `failed` (an error; the next model was tried), `escalated` or `unsure`
    (tier 0 kept its label, marked unsure)."""

    model: str
    outcome: str
    detail: str = ""


@dataclass
class Route:
    """The routing decision for one request, completed with its attempts while it runs."""

    chosen: str
    tier: int
    reason: Reason
    rejected: list[Rejected] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    wh: float = 0.0  # the footprint of every request made on this route so far
    co2_g: float = 0.0
    eur: float = 0.0
    reference_wh: float = 0.0  # the reference model's estimate for the same requests, where it has one
    unmeasured: int = 0  # requests whose energy is unknown (their Wh are not in the sum)
    assistant: str | None = None  # the assistant the request was made for, if any
    checked_task: str | None = None  # a task whose answer is checked, escalating when the check fails
    expected_in: int = 0  # the tokens the router expected, for the budget reservation
    expected_out: int = 0
    budget_warnings: list[str] = field(default_factory=list)
    data_class: str = ""  # the highest data class of what the prompt carries
    pinned: bool = False  # named by the caller, an assistant's policy or a step: no other model is tried
    admission: Admission | None = field(default=None, repr=False, compare=False)
    exposure: Exposure | None = field(default=None, repr=False, compare=False)  # every part of the prompt

    def add(self, costed: Costed) -> None:
        """Count one recorded request's footprint (and its reference estimate) towards the route."""
        footprint = costed.footprint
        self.eur += footprint.eur
        if footprint.wh is None:
            self.unmeasured += 1
            return
        self.wh += footprint.wh
        self.co2_g += footprint.co2_g or 0.0
        reference = costed.reference
        if reference is not None and reference.wh is not None:
            self.reference_wh += reference.wh

    def as_json(self) -> dict[str, Any]:
        """The route for response bodies and the request record."""
        data = asdict(self)
        data.pop("admission", None)
        data.pop("exposure", None)
        data["reason"] = self.reason.as_json()
        data["rejected"] = [{"model": r.model, "reason": r.reason.as_json()} for r in self.rejected]
        return data

    def header(self) -> str:
        """The route as compact ASCII JSON for the X-Rathaus-Route response header."""
        return json.dumps(self.as_json(), ensure_ascii=True, separators=(",", ":"))
