"""The usage dashboard for tenant administrators: requests, tier mix, Wh, CO₂, euros and savings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from rathaus.accounting.usage import UsageReport, csv_rows, report
from rathaus.api.deps import ServicesDep
from rathaus.api.errors import ApiError
from rathaus.web.admin import require_admin
from rathaus.web.pages import PagePrincipal, render

router = APIRouter(prefix="/admin", include_in_schema=False)
PERIODS = (7, 30, 90, 365)
CHART_HEIGHT = 160
TIER_COLOURS = {0: "#1b6e3a", 1: "#0b5aa2", 2: "#6b3a8e", 3: "#9c3d0b", -1: "#4d4d4d"}  # ≥ 3:1 on white


@dataclass(frozen=True)
class Bar:
    """One bar segment of a chart, in SVG units."""

    x: float
    y: float
    height: float
    colour: str
    label: str


def _tier_bars(usage: UsageReport, width: float) -> list[Bar]:
    peak = max((sum(t.values()) for t in usage.per_day_tier.values()), default=0) or 1
    bars = []
    for index, day in enumerate(usage.days):
        top = float(CHART_HEIGHT)
        for tier, count in sorted(usage.per_day_tier.get(day, {}).items()):
            height = count / peak * CHART_HEIGHT
            top -= height
            label = f"{day.isoformat()}: {count} × {'?' if tier < 0 else tier}"
            bars.append(Bar(index * width, top, height, TIER_COLOURS.get(tier, "#4d4d4d"), label))
    return bars


def _energy_bars(usage: UsageReport, width: float) -> tuple[list[Bar], list[Bar]]:
    peak = max((max(s.wh, s.reference_wh) for s in usage.per_day.values()), default=0.0) or 1.0
    used, reference = [], []
    for index, day in enumerate(usage.days):
        sums = usage.per_day.get(day)
        if sums is None:
            continue
        height = sums.wh / peak * CHART_HEIGHT
        used.append(Bar(index * width, CHART_HEIGHT - height, height, "#0b5aa2", f"{day}: {sums.wh:.3g} Wh"))
        ref = sums.reference_wh / peak * CHART_HEIGHT
        label = f"{day}: {sums.reference_wh:.3g} Wh"
        reference.append(Bar(index * width, CHART_HEIGHT - ref, ref, "#4d4d4d", label))
    return used, reference


def _check_period(days: int) -> None:
    if days not in PERIODS:
        periods = ", ".join(str(p) for p in PERIODS)
        raise ApiError(422, f"days must be one of {periods}.", "invalid_period", "days")


@router.get("/usage")
def usage_page(
    request: Request,
    principal: PagePrincipal,
    services: ServicesDep,
    days: int = Query(30),
) -> HTMLResponse:
    """Charts and tables of the tenant's usage over the chosen period."""
    require_admin(principal)
    _check_period(days)
    with services.db.session(principal.tenant_id) as session:
        usage = report(session, days)
    width = 600 / len(usage.days)
    used, reference = _energy_bars(usage, width)
    return render(
        request, "admin_usage.html", usage=usage, days=days, periods=PERIODS, bar_width=width,
        tier_bars=_tier_bars(usage, width), energy_bars=used, reference_bars=reference,
        colours=TIER_COLOURS, height=CHART_HEIGHT, today=date.today(),
    )  # fmt: skip


@router.get("/usage.csv")
def usage_csv(principal: PagePrincipal, services: ServicesDep, days: int = Query(30)) -> StreamingResponse:
    """Every request of the period with its footprint, as CSV."""
    require_admin(principal)
    _check_period(days)

    def lines() -> Iterator[str]:
        with services.db.session(principal.tenant_id) as session:
            yield from csv_rows(session, days)

    headers = {"Content-Disposition": f'attachment; filename="rathaus-usage-{days}d.csv"'}
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)
