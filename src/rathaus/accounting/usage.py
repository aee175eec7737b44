"""The tenant's usage over a period: per day, per tier, per model and per assistant, with footprints."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from rathaus.accounting.models import RequestRecord
from rathaus.store.base import utcnow

CSV_COLUMNS = (
    "id", "created_at", "endpoint", "assistant", "profile_id", "tier", "location", "status", "tokens_in",
    "tokens_out", "duration_ms", "cpu_seconds", "wh", "wh_method", "wh_uncertainty", "co2_g", "eur",
    "reference_profile_id", "reference_wh", "reference_eur",
)  # fmt: skip


@dataclass
class Sums:
    """Requests and their footprint; energy only over requests whose energy is known."""

    requests: int = 0
    wh: float = 0.0
    co2_g: float = 0.0
    eur: float = 0.0
    reference_wh: float = 0.0  # the reference's estimate, over the requests it has one for
    compared_wh: float = 0.0  # the actual Wh of those same requests
    unmeasured: int = 0

    def add(self, record: RequestRecord) -> None:
        """Count one request."""
        self.requests += 1
        self.eur += record.eur or 0.0
        if record.wh is None:
            self.unmeasured += 1
            return
        self.wh += record.wh
        self.co2_g += record.co2_g or 0.0
        if record.reference_wh is not None:
            self.reference_wh += record.reference_wh
            self.compared_wh += record.wh

    @property
    def saved_wh(self) -> float:
        """Wh saved against always using the reference model (negative when more was used)."""
        return self.reference_wh - self.compared_wh

    @property
    def saved_share(self) -> float | None:
        """The saving as a share of the reference's energy."""
        return self.saved_wh / self.reference_wh if self.reference_wh > 0 else None


def _counts() -> defaultdict[int, int]:
    return defaultdict(int)


@dataclass
class UsageReport:
    """Usage of one tenant since a day."""

    since: date
    days: list[date]
    total: Sums = field(default_factory=Sums)
    per_day: dict[date, Sums] = field(default_factory=lambda: defaultdict(Sums))
    per_day_tier: dict[date, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    per_model: dict[str, Sums] = field(default_factory=lambda: defaultdict(Sums))
    per_assistant: dict[str, Sums] = field(default_factory=lambda: defaultdict(Sums))
    tiers: list[int] = field(default_factory=list)


def _records(session: Session, since: datetime) -> Iterator[RequestRecord]:
    query = select(RequestRecord).where(RequestRecord.created_at >= since).order_by(RequestRecord.created_at)
    yield from session.scalars(query.execution_options(yield_per=1000))


def report(session: Session, days: int, today: date | None = None, zone: tzinfo = UTC) -> UsageReport:
    """The tenant's usage over the last `days` days (today included), in the session's tenant.

    Days are calendar days in `zone` (the installation's time zone on the pages).
    """
    today = today or utcnow().astimezone(zone).date()
    since = today - timedelta(days=days - 1)
    result = UsageReport(since, [since + timedelta(days=n) for n in range(days)])
    start = datetime(since.year, since.month, since.day, tzinfo=zone)
    for record in _records(session, start):
        day = record.created_at.astimezone(zone).date()
        result.total.add(record)
        result.per_day[day].add(record)
        result.per_day_tier[day][record.tier if record.tier is not None else -1] += 1
        result.per_model[record.profile_id].add(record)
        result.per_assistant[record.assistant or ""].add(record)
    result.tiers = sorted({t for tiers in result.per_day_tier.values() for t in tiers})
    return result


def csv_rows(session: Session, days: int) -> Iterator[str]:
    """Every request of the period as CSV lines (header first), for spreadsheets and audits."""
    since = utcnow() - timedelta(days=days)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for record in _records(session, since):
        writer.writerow(
            [record.created_at.isoformat() if c == "created_at" else getattr(record, c) for c in CSV_COLUMNS]
        )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
