"""The models page for tenant administrators: every model of the catalogue, whether it can answer now,
where it runs, which data it may see, and how fast and how frugal it has been for this tenant.

Nothing here loads a model: the status reads what is already in memory and what is on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from rathaus.accounting.model_stats import ModelMeasurement, measurements
from rathaus.api.deps import ServicesDep
from rathaus.llm.catalogue import Profile
from rathaus.llm.weights import SOURCES, is_installed
from rathaus.services import Services
from rathaus.web.admin import require_admin
from rathaus.web.pages import PagePrincipal, render

router = APIRouter(prefix="/admin", include_in_schema=False)
PERIOD_DAYS = 30


@dataclass(frozen=True)
class ModelRow:
    """One model as the page shows it; `status` and `location` are text keys' last parts."""

    id: str
    title: str
    tier: int
    capabilities: list[str]
    status: str  # loaded, installed, ready (remote, configured), missing
    location: str  # local, private-cloud, external-eu, external
    host: str  # the server an OpenAI-compatible model is reached at; empty for in-process models
    data_classes: list[str]
    measured: ModelMeasurement | None


def status_of(services: Services, profile: Profile) -> str:
    """Whether a model can answer now: `loaded` (in memory), `installed` (on disk), `ready` (a remote
    model that is configured) or `missing` (weights, key or backend missing)."""
    if services.pool.loaded(profile):
        return "loaded"
    if not services.pool.available(profile):
        return "missing"
    return "installed" if profile.location == "local" else "ready"


def _host(profile: Profile) -> str:
    base_url = profile.params.get("base_url")
    return (urlsplit(base_url).hostname or "") if isinstance(base_url, str) else ""


@router.get("/models")
def models_page(request: Request, principal: PagePrincipal, services: ServicesDep) -> HTMLResponse:
    """The catalogue's models with status, place, data clearance and measured speed and energy."""
    require_admin(principal)
    with services.db.session(principal.tenant_id) as session:
        measured = measurements(session, PERIOD_DAYS)
    rows = [
        ModelRow(
            id=p.id,
            title=p.title or p.id,
            tier=p.tier,
            capabilities=list(p.capabilities),
            status=status_of(services, p),
            location=p.location,
            host=_host(p),
            data_classes=list(p.data_classes or []),
            measured=measured.get(p.id),
        )
        for p in sorted(services.catalogue.profiles(), key=lambda p: (p.tier, p.id))
    ]
    registered = {row.id for row in rows}
    installable = [
        s
        for s in SOURCES.values()
        if s.name not in registered and not is_installed(services.settings.effective_models_dir, s)
    ]
    return render(request, "admin_models.html", models=rows, installable=installable, days=PERIOD_DAYS)
