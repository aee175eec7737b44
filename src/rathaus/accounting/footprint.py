"""Energy, CO₂ and cost of one model request, each with how it was obtained.

Local models: the request's measured CPU seconds × the profile's watts per busy core. Remote models:
the profile's declared watt-hours per 1,000 tokens, with the source it names. CO₂ is energy × the grid's
intensity (a setting; default the German electricity mix). Cost is tokens × the profile's price.

What the same request would have cost on the tenant's reference model can only be estimated, as it did not
run there: from the reference profile's calibrated CPU seconds per 1,000 input and output tokens
(`rathaus models calibrate`), or else from its declared watt-hours per 1,000 tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from rathaus.llm.backend import Usage
from rathaus.llm.catalogue import Profile

MEASURED = "measured"  # CPU seconds of this request × watts per core
DECLARED = "declared"  # the profile's Wh per 1,000 tokens
CALIBRATED = "calibrated"  # calibrated CPU seconds per 1,000 tokens × watts per core (estimates only)
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Footprint:
    """What a request cost: Wh (± relative uncertainty, with method), g CO₂ and euros."""

    wh: float | None
    method: str
    uncertainty: float | None
    co2_g: float | None
    eur: float

    @classmethod
    def of(
        cls, wh: float | None, method: str, uncertainty: float | None, eur: float, grid_g_per_kwh: float
    ) -> Footprint:
        """A footprint with CO₂ derived from the energy."""
        if wh is None:
            return cls(None, UNKNOWN, None, None, eur)
        return cls(wh, method, uncertainty, wh * grid_g_per_kwh / 1000, eur)


def price(profile: Profile, tokens_in: int, tokens_out: int) -> float:
    """Euros for these tokens at the profile's price."""
    return (
        tokens_in * profile.cost.eur_per_1m_input + tokens_out * profile.cost.eur_per_1m_output
    ) / 1_000_000


def measure(profile: Profile, usage: Usage, grid_g_per_kwh: float) -> Footprint:
    """The footprint of a request that ran on `profile` with this usage."""
    energy = profile.energy
    eur = price(profile, usage.tokens_in, usage.tokens_out)
    if usage.cpu_seconds is not None and energy.watts_per_core is not None:
        wh = usage.cpu_seconds * energy.watts_per_core / 3600
        return Footprint.of(wh, MEASURED, energy.uncertainty, eur, grid_g_per_kwh)
    if energy.wh_per_1k_tokens is not None:
        wh = (usage.tokens_in + usage.tokens_out) * energy.wh_per_1k_tokens / 1000
        return Footprint.of(wh, DECLARED, energy.uncertainty, eur, grid_g_per_kwh)
    return Footprint.of(None, UNKNOWN, None, eur, grid_g_per_kwh)


def estimate(profile: Profile, tokens_in: int, tokens_out: int, grid_g_per_kwh: float) -> Footprint:
    """What these tokens would cost on `profile` (used for the reference model), without running it."""
    energy = profile.energy
    eur = price(profile, tokens_in, tokens_out)
    calibrated = energy.cpu_seconds_per_1k_input is not None and energy.cpu_seconds_per_1k_output is not None
    if calibrated and energy.watts_per_core is not None:
        seconds = (
            tokens_in * (energy.cpu_seconds_per_1k_input or 0.0)
            + tokens_out * (energy.cpu_seconds_per_1k_output or 0.0)
        ) / 1000
        wh = seconds * energy.watts_per_core / 3600
        return Footprint.of(wh, CALIBRATED, energy.uncertainty, eur, grid_g_per_kwh)
    if energy.wh_per_1k_tokens is not None:
        wh = (tokens_in + tokens_out) * energy.wh_per_1k_tokens / 1000
        return Footprint.of(wh, DECLARED, energy.uncertainty, eur, grid_g_per_kwh)
    return Footprint.of(None, UNKNOWN, None, eur, grid_g_per_kwh)
