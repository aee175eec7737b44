"""Dates, times and counts as people read them: the installation's time zone, German or English."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from jinja2 import Environment

from rathaus.web.formatting import count_text, day_text, install, short_day, time_text
from rathaus.web.i18n import MESSAGES, translator


def test_times_are_shown_in_the_installation_time_zone() -> None:
    winter = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 22, 15, 9, tzinfo=UTC)
    assert time_text(winter, "de", "Europe/Berlin") == "08.12.2026, 00:30"  # the next day in Berlin
    assert time_text(summer, "de", "Europe/Berlin", seconds=True) == "02.07.2026, 00:15:09"  # summer time
    assert time_text(winter, "en", "Europe/London") == "7 Dec 2026, 23:30"
    assert time_text(winter.replace(tzinfo=None), "de", "Europe/Berlin") == "08.12.2026, 00:30"  # naive = UTC
    assert (
        day_text(date(2026, 3, 5), "de") == "05.03.2026" and day_text(date(2026, 3, 5), "en") == "5 Mar 2026"
    )
    assert short_day(date(2026, 3, 5), "de") == "05.03." and short_day(date(2026, 3, 5), "en") == "5 Mar"


def test_the_filters_read_the_page_language_and_the_setting() -> None:
    settings = SimpleNamespace(timezone="America/New_York")
    request = SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(services=SimpleNamespace(settings=settings)))
    )
    env = Environment(autoescape=True)
    install(env)
    page = env.from_string("{{ at | when }} | {{ at | day }} | {{ at | iso }} | {{ none | when }}")
    at = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
    text = page.render(at=at, none=None, lang="de", request=request)
    assert text == "07.12.2026, 22:00 | 07.12.2026 | 2026-12-07T22:00-05:00 | –"


def test_counted_nouns_take_the_right_form() -> None:
    de, en = translator("de"), translator("en")
    assert count_text(de, "usage.requests.count", 1) == "1 Anfrage"
    assert count_text(de, "usage.requests.count", 2) == "2 Anfragen"
    assert count_text(de, "usage.requests.count", 0) == "0 Anfragen"
    assert count_text(de, "usage.requests.count", 12345) == "12.345 Anfragen"
    assert count_text(en, "usage.requests.count", 1) == "1 request"
    assert count_text(en, "usage.requests.count", 12345) == "12,345 requests"
    for lang in ("de", "en"):  # every counted text has both forms
        keys = MESSAGES[lang]
        for key in [k for k in keys if k.endswith(".one")]:
            assert key.removesuffix(".one") + ".other" in keys, key
