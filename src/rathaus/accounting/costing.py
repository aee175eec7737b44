"""The footprint of each request and of the same request on the reference model, for the records."""

from __future__ import annotations

from dataclasses import dataclass

from rathaus.accounting.footprint import Footprint, estimate, measure
from rathaus.llm.backend import Usage
from rathaus.llm.catalogue import Catalogue, Profile, UnknownModel
from rathaus.settings import Settings


@dataclass(frozen=True)
class Costed:
    """A request's footprint and, where a reference model exists, what the reference would have cost."""

    footprint: Footprint
    reference_id: str | None
    reference: Footprint | None


class Costing:
    """Turns usage into footprints with the installation's grid factor and reference model."""

    def __init__(self, settings: Settings, catalogue: Catalogue) -> None:
        self.grid_g_per_kwh = settings.grid_co2_g_per_kwh
        self.reference_model = settings.reference_model
        self.catalogue = catalogue

    def reference(self, chosen: str | None = None) -> Profile | None:
        """The reference profile: the tenant's choice, else the setting, else the highest-tier chat model."""
        for model_id in (chosen, self.reference_model):
            if model_id:
                try:
                    return self.catalogue.get(model_id)
                except UnknownModel:
                    continue
        chat = [p for p in self.catalogue.profiles() if p.can("chat")]
        return max(chat, key=lambda p: p.tier) if chat else None

    def cost(self, profile: Profile, usage: Usage, reference_model: str | None = None) -> Costed:
        """The footprint of a request that ran on `profile`, and the reference's estimate for its tokens."""
        footprint = measure(profile, usage, self.grid_g_per_kwh)
        reference = self.reference(reference_model)
        if reference is None:
            return Costed(footprint, None, None)
        if reference.id == profile.id:
            return Costed(footprint, reference.id, footprint)
        return Costed(
            footprint,
            reference.id,
            estimate(reference, usage.tokens_in, usage.tokens_out, self.grid_g_per_kwh),
        )
