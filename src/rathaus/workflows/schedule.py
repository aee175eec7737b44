"""Schedules: workflows with `trigger: schedule` start a run at each time their cron expression names.

Cron is read in the installation's time zone (`RATHAUS_TIMEZONE`, default Europe/Berlin). Each workflow keeps
the last slot it started (`scheduled_until`); a conditional update claims the next slot, so two servers — or
a restart in the same minute — never start the same slot twice. After downtime the latest missed slot runs
once (not every missed one).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import or_, select, update

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.store.base import utcnow
from rathaus.workflows import registry
from rathaus.workflows.engine import InputInvalid
from rathaus.workflows.models import Workflow

if TYPE_CHECKING:
    from rathaus.services import Services

logger = logging.getLogger(__name__)


def latest_slot(cron: str, now: datetime, zone: str) -> datetime:
    """The latest time at or before `now` that the cron expression names (as UTC)."""
    local = now.astimezone(ZoneInfo(zone))
    slot: datetime = croniter(cron, local).get_prev(datetime)
    if croniter.match(cron, local.replace(second=0, microsecond=0)):
        slot = local.replace(second=0, microsecond=0)
    return slot.astimezone(now.tzinfo)


def start_scheduled(services: Services, now: datetime | None = None) -> list[str]:
    """Start a run for every scheduled workflow whose next slot has come; returns the new runs' ids."""
    now = now or utcnow()
    with services.db.system_session() as session:
        due = list(
            session.execute(
                select(Workflow.id, Workflow.tenant_id, Workflow.name, Workflow.scheduled_until).where(
                    Workflow.trigger == "schedule"
                )
            )
        )
    started: list[str] = []
    for workflow_id, tenant_id, name, until in due:
        try:
            run_id = _start_one(services, now, workflow_id, tenant_id, name, until)
        except Exception:  # one broken workflow must not stop the others' schedules
            logger.exception("scheduled workflow %s could not be started", name)
            continue
        if run_id is not None:
            started.append(run_id)
    for run_id in started:
        services.workflows.executor.submit(run_id)
    return started


def _start_one(
    services: Services, now: datetime, workflow_id: str, tenant_id: str, name: str, until: datetime | None
) -> str | None:
    """Start the workflow's run for its latest slot if nobody has; returns the run's id."""
    with services.db.session(tenant_id) as session:
        saved = registry.load(session, name)
        cron = saved.spec.spec.trigger.cron
        if cron is None:
            return None
        slot = latest_slot(cron, now, services.settings.timezone)
        if until is not None and slot <= until:
            return None
        claimed = session.execute(
            update(Workflow)
            .where(
                Workflow.id == workflow_id,
                or_(Workflow.scheduled_until.is_(None), Workflow.scheduled_until < slot),
            )
            .values(scheduled_until=slot)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None  # another server took this slot
        principal = Principal(tenant_id=tenant_id, role=Role.staff)
        try:
            run = services.workflows.engine.start(
                session,
                principal,
                workflow_id,
                saved.version,
                saved.spec,
                {"scheduled_for": slot.isoformat()},
                "schedule",
            )
        except InputInvalid as exc:  # the schedule cannot fill the input schema: say so in the log
            logger.warning("scheduled workflow %s not started: %s", name, exc)
            return None
        return run.id
