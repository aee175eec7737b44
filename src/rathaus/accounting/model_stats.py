"""How each model has served a tenant lately, from its request records: requests, speed, energy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rathaus.accounting.models import RequestRecord
from rathaus.store.base import utcnow


@dataclass(frozen=True)
class ModelMeasurement:
    """One model's successful requests of a period, as measured."""

    requests: int
    tokens_per_second: float | None  # tokens written per second of writing (after the first token)
    wh_per_request: float | None  # mean over the requests whose energy is known
    measured_requests: int  # how many requests the energy figure rests on


def measurements(session: Session, days: int = 30) -> dict[str, ModelMeasurement]:
    """Per model id, the session tenant's successful requests of the last `days` days."""
    writing_ms = RequestRecord.duration_ms - func.coalesce(RequestRecord.ttft_ms, 0.0)
    rows = session.execute(
        select(
            RequestRecord.profile_id,
            func.count(RequestRecord.id),
            func.sum(RequestRecord.tokens_out),
            func.sum(writing_ms).filter(RequestRecord.tokens_out > 0),
            func.avg(RequestRecord.wh),
            func.count(RequestRecord.wh),
        )
        .where(RequestRecord.status == "ok", RequestRecord.created_at >= utcnow() - timedelta(days=days))
        .group_by(RequestRecord.profile_id)
    )
    found = {}
    for model, count, tokens, ms, wh, with_wh in rows:
        speed = tokens / (ms / 1000) if tokens and ms and ms > 0 else None
        found[model] = ModelMeasurement(
            int(count), speed, float(wh) if wh is not None else None, int(with_wh)
        )
    return found
