"""Energy, CO₂ and money as people read them: a few significant digits, the language's decimal mark."""

from __future__ import annotations

from collections.abc import Callable


def _number(value: float, t: Callable[..., str], digits: int = 2) -> str:
    text = f"{value:.{digits}g}" if value < 10**digits else f"{value:,.0f}"
    return text.replace(",", "\u202f").replace(".", t("number.decimal"))


def number(value: float, t: Callable[..., str], digits: int = 3) -> str:
    """A measured quantity with a few significant digits and the language's decimal mark."""
    return _number(value, t, digits)


def whole(count: int) -> str:
    """A count with thin spaces between thousands (1 234 567), readable in German and English alike."""
    return f"{count:,}".replace(",", "\u202f")


def energy(wh: float, t: Callable[..., str]) -> str:
    """Watt-hours (kWh from 1,000 Wh on)."""
    return f"{_number(wh / 1000, t)} kWh" if wh >= 1000 else f"{_number(wh, t)} Wh"


def grams(g: float, t: Callable[..., str]) -> str:
    """Grams of CO₂ (kg from 1,000 g on)."""
    return f"{_number(g / 1000, t)} kg" if g >= 1000 else f"{_number(g, t)} g"


def euros(eur: float, t: Callable[..., str]) -> str:
    """Euros; amounts under a cent show as such rather than as 0."""
    if 0 < eur < 0.01:
        return t("number.under_a_cent")
    return f"{eur:,.2f} €".replace(",", "\u202f").replace(".", t("number.decimal"))
