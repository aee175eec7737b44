"""Prometheus metrics: requests, tokens, energy, CO₂ and euros per model, and open circuit breakers.

Counted in this process as request records are written (each replica is scraped on its own); the request
records in the database stay the ground truth for the dashboard and exports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rathaus.accounting.costing import Costed
from rathaus.llm.backend import Usage
from rathaus.llm.catalogue import Profile

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _OpenCircuits(Collector):
    """A gauge of open circuit breakers, read when scraped."""

    def __init__(self, open_models: Callable[[], list[str]]) -> None:
        self.open_models = open_models

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One sample per open circuit."""
        gauge = GaugeMetricFamily(
            "rathaus_circuit_open", "1 while a model's circuit breaker is open", labels=["model"]
        )
        for model in self.open_models():
            gauge.add_metric([model], 1.0)
        yield gauge


class Metrics:
    """The metrics of one Rathaus process, on their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["tenant", "model", "tier", "endpoint", "status"]
        self.requests = Counter("rathaus_requests", "Model requests", labels, registry=self.registry)
        self.tokens = Counter(
            "rathaus_tokens", "Tokens in and out", ["tenant", "model", "direction"], registry=self.registry
        )
        self.energy = Counter("rathaus_energy_wh", "Energy in Wh (measured or declared)", ["tenant", "model"],
                              registry=self.registry)  # fmt: skip
        self.co2 = Counter("rathaus_co2_grams", "CO₂ in grams", ["tenant", "model"], registry=self.registry)
        self.cost = Counter(
            "rathaus_cost_euros", "Cost in euros", ["tenant", "model"], registry=self.registry
        )
        self.saved = Counter(
            "rathaus_saved_wh", "Wh saved against the reference model", ["tenant"], registry=self.registry
        )
        self.duration = Histogram(
            "rathaus_request_seconds", "Duration of model requests", ["model"], registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )  # fmt: skip
        self.ready = Gauge("rathaus_up", "1 while this process serves", registry=self.registry)
        self.ready.set(1)

    def watch_breakers(self, open_models: Callable[[], list[str]]) -> None:
        """Report the circuit breakers' open models at each scrape."""
        self.registry.register(_OpenCircuits(open_models))

    def count(
        self, tenant: str, profile: Profile, endpoint: str, status: str, usage: Usage, costed: Costed
    ) -> None:
        """Count one recorded request."""
        self.requests.labels(tenant, profile.id, str(profile.tier), endpoint, status).inc()
        self.tokens.labels(tenant, profile.id, "in").inc(usage.tokens_in)
        self.tokens.labels(tenant, profile.id, "out").inc(usage.tokens_out)
        footprint = costed.footprint
        if footprint.wh is not None:
            self.energy.labels(tenant, profile.id).inc(footprint.wh)
            self.co2.labels(tenant, profile.id).inc(footprint.co2_g or 0.0)
            reference = costed.reference
            if reference is not None and reference.wh is not None and reference.wh > footprint.wh:
                self.saved.labels(tenant).inc(reference.wh - footprint.wh)
        self.cost.labels(tenant, profile.id).inc(footprint.eur)
        self.duration.labels(profile.id).observe(usage.duration_ms / 1000)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
