"""The usage dashboard for tenant administrators: requests, tier mix, Wh, CO₂, euros and savings.

The charts are SVG drawn on the server, with a value axis (grid lines, numbers and the unit) and a day
axis; each chart names what it shows, and the same numbers follow as a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from rathaus.accounting.usage import UsageReport, csv_rows, report
from rathaus.api.deps import ServicesDep
from rathaus.api.errors import ApiError
from rathaus.web import units
from rathaus.web.admin import require_admin
from rathaus.web.formatting import day_text, short_day
from rathaus.web.i18n import COOKIE as LANG_COOKIE
from rathaus.web.i18n import language
from rathaus.web.pages import PagePrincipal, page_translator, render

router = APIRouter(prefix="/admin", include_in_schema=False)
PERIODS = (7, 30, 90, 365)
WIDTH, HEIGHT = 640, 240  # SVG units of a whole chart
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 28, 36  # room for the value axis, its unit and the day axis
TIER_COLOURS = {0: "#1b6e3a", 1: "#0b5aa2", 2: "#6b3a8e", 3: "#9c3d0b", -1: "#4d4d4d"}  # ≥ 3:1 on white


@dataclass(frozen=True)
class Bar:
    """One bar segment of a chart, in SVG units."""

    x: float
    y: float
    height: float
    colour: str
    label: str


@dataclass(frozen=True)
class Tick:
    """A labelled position on an axis, in SVG units."""

    at: float
    label: str


@dataclass
class Chart:
    """The frame of a bar chart: plot area, axes with their labels and units, and the bars."""

    unit: str
    bar_width: float
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    outlines: list[Bar] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def nice_step(peak: float, steps: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that divides 0…peak into about `steps` parts."""
    if peak <= 0:
        return 1.0
    raw = peak / steps
    power = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw))


def _whole(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f")


def _frame(
    days: list[date], unit: str, lang: str, scale: tuple[float, float], show: Callable[[float], str]
) -> Chart:
    """Axes for `days` and values from 0 to `scale` = (top value, step)."""
    top_value, step = scale
    chart = Chart(unit=unit, bar_width=(WIDTH - LEFT - RIGHT) / max(len(days), 1))
    count = max(1, round(top_value / step))
    span = chart.bottom - chart.top
    chart.y_ticks = [Tick(chart.bottom - n / count * span, show(n * step)) for n in range(count + 1)]
    every = max(1, math.ceil(len(days) / 7))  # at most seven day labels, whatever the period
    chart.x_ticks = [
        Tick(chart.left + (i + 0.5) * chart.bar_width, short_day(day, lang))
        for i, day in enumerate(days)
        if i % every == 0
    ]
    return chart


def _scale(peak: float, whole: bool = False) -> tuple[float, float]:
    """The axis' top value and step for values up to `peak`; counted things keep whole steps."""
    step = nice_step(peak) if peak > 0 else 1.0
    if whole:
        step = max(1.0, math.ceil(step))
    return step * max(1, math.ceil(peak / step)), step


def tier_chart(usage: UsageReport, lang: str, t: Callable[..., str]) -> Chart:
    """Requests per day, stacked by model tier."""
    peak = max((sum(tiers.values()) for tiers in usage.per_day_tier.values()), default=0)
    top_value, step = _scale(peak, whole=True)
    chart = _frame(usage.days, t("usage.axis.requests"), lang, (top_value, step), _whole)
    span = chart.bottom - chart.top
    for index, day in enumerate(usage.days):
        top = float(chart.bottom)
        for tier, count in sorted(usage.per_day_tier.get(day, {}).items()):
            height = count / top_value * span
            top -= height
            tier_name = t("usage.tier", tier=tier) if tier >= 0 else "?"
            label = f"{day_text(day, lang)}: {count} × {tier_name}"
            colour = TIER_COLOURS.get(tier, "#4d4d4d")
            chart.bars.append(Bar(chart.left + index * chart.bar_width, top, height, colour, label))
    return chart


def energy_chart(usage: UsageReport, lang: str, t: Callable[..., str]) -> Chart:
    """Energy per day, with the reference model's estimate as outlines; Wh, or kWh from 1,000 Wh on."""
    peak = max((max(s.wh, s.reference_wh) for s in usage.per_day.values()), default=0.0)
    scale, unit = (1000.0, "kWh") if peak >= 1000 else (1.0, "Wh")
    top_value, step = _scale(peak / scale)

    def show(value: float) -> str:
        return "0" if value == 0 else units.number(value, t, 3)

    chart = _frame(usage.days, t("usage.axis.energy", unit=unit), lang, (top_value, step), show)
    span = chart.bottom - chart.top
    for index, day in enumerate(usage.days):
        sums = usage.per_day.get(day)
        if sums is None:
            continue
        x = chart.left + index * chart.bar_width
        used = sums.wh / scale / top_value * span
        when = day_text(day, lang)
        chart.bars.append(Bar(x, chart.bottom - used, used, "#0b5aa2", f"{when}: {units.energy(sums.wh, t)}"))
        ref = sums.reference_wh / scale / top_value * span
        label = f"{when}: {t('usage.reference')} {units.energy(sums.reference_wh, t)}"
        chart.outlines.append(Bar(x, chart.bottom - ref, ref, "#4d4d4d", label))
    return chart


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
    lang = language(request.cookies.get(LANG_COOKIE))
    t = page_translator(request)
    with services.db.session(principal.tenant_id) as session:
        usage = report(session, days, zone=ZoneInfo(services.settings.timezone))
    return render(
        request, "admin_usage.html", usage=usage, days=days, periods=PERIODS,
        tiers_chart=tier_chart(usage, lang, t), energy=energy_chart(usage, lang, t), colours=TIER_COLOURS,
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
