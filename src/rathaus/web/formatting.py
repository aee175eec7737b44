"""Dates, times and counts as people read them: the installation's time zone, the page's language.

Times are stored in UTC; pages show them in `settings.timezone` (default Europe/Berlin), German as
`07.12.2026, 19:20`, English as `7 Dec 2026, 19:20`. Counted nouns take the right form ("1 Anfrage",
"2 Anfragen") from a `.one` and an `.other` text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import pass_context

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(value: datetime, zone: str) -> datetime:
    """A stored time in the installation's time zone (a naive time counts as UTC)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(_zone(zone))


def day_text(value: date, lang: str) -> str:
    """A calendar day: `07.12.2026` in German, `7 Dec 2026` in English."""
    if lang == "en":
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return value.strftime("%d.%m.%Y")


def short_day(value: date, lang: str) -> str:
    """A day on a chart's axis: `07.12.` in German, `7 Dec` in English."""
    if lang == "en":
        return f"{value.day} {_MONTHS_EN[value.month - 1]}"
    return value.strftime("%d.%m.")


def time_text(value: datetime, lang: str, zone: str, seconds: bool = False) -> str:
    """Day and time of a stored time in the installation's time zone."""
    moment = local(value, zone)
    clock = moment.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{day_text(moment.date(), lang)}, {clock}"


def count_text(t: Callable[..., str], key: str, count: int, **values: object) -> str:
    """`key.one` for exactly one, else `key.other`, with `{count}` in the language's digits."""
    number = f"{count:,}".replace(",", "." if t("number.decimal") == "," else ",")
    return t(f"{key}.{'one' if count == 1 else 'other'}", count=number, **values)


def _page(context: Any) -> tuple[str, str]:
    request = context.get("request")
    zone = request.app.state.services.settings.timezone if request is not None else "Europe/Berlin"
    return str(context.get("lang", "de")), zone


@pass_context
def when_filter(context: Any, value: datetime | None, seconds: bool = False) -> str:
    """Jinja filter `when`: a stored time as day and time in the installation's time zone, `–` for none."""
    if value is None:
        return "–"
    lang, zone = _page(context)
    return time_text(value, lang, zone, seconds)


@pass_context
def day_filter(context: Any, value: date | datetime | None) -> str:
    """Jinja filter `day`: the calendar day (of a stored time: in the installation's time zone)."""
    if value is None:
        return "–"
    lang, zone = _page(context)
    if isinstance(value, datetime):
        value = local(value, zone).date()
    return day_text(value, lang)


@pass_context
def iso_filter(context: Any, value: datetime | date) -> str:
    """Jinja filter `iso`: the machine-readable form for `<time datetime>`, with the zone's offset."""
    if isinstance(value, datetime):
        return local(value, _page(context)[1]).isoformat(timespec="minutes")
    return value.isoformat()


def install(env: Any) -> None:
    """Add the filters to a Jinja environment."""
    env.filters.update(when=when_filter, day=day_filter, iso=iso_filter)
