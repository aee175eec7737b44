"""Scheduled workflows start one run per slot their cron expression names, in the installation's time zone,
never twice for the same slot, and once (not for every slot) after downtime."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from rathaus.formats.documents import DocumentError
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.workflows import registry
from rathaus.workflows.models import Workflow, WorkflowRun
from rathaus.workflows.schedule import latest_slot, start_scheduled
from rathaus.workflows.spec import load_workflow
from tests.conftest import TenantFixture

DAILY = """\
apiVersion: rathaus/v1
kind: Workflow
metadata: {name: morgens, title: Jeden Werktag um sieben}
spec:
  trigger: {type: schedule, cron: "0 7 * * 1-5"}
  steps:
    - {id: gruss, type: template, with: {text: "Guten Morgen ({{ input.scheduled_for }})"}}
"""


def test_slots_are_read_in_the_installations_time_zone() -> None:
    monday_noon = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert latest_slot("0 7 * * 1-5", monday_noon, "Europe/Berlin") == datetime(
        2026, 11, 30, 6, 0, tzinfo=UTC
    )
    assert latest_slot("0 7 * * 1-5", monday_noon, "UTC") == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert latest_slot("0 7 * * 1-5", saturday, "Europe/Berlin") == datetime(2026, 12, 4, 6, 0, tzinfo=UTC)


def test_an_invalid_cron_expression_is_named() -> None:
    with pytest.raises(DocumentError) as caught:
        load_workflow(DAILY.replace("0 7 * * 1-5", "0 25 * * 1-5"))
    assert (
        caught.value.problems[0].path == "spec.trigger" and "five fields" in caught.value.problems[0].message
    )


def test_each_slot_starts_once_and_downtime_catches_up_once(services: Services, jena: TenantFixture) -> None:
    with services.db.session(jena.id) as session:
        registry.save(
            session, Principal(tenant_id=jena.id, role=Role.builder), load_workflow(DAILY), services.catalogue
        )
    monday_noon = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    with services.db.system_session() as session:  # saved last Wednesday: three slots missed since
        session.execute(update(Workflow).values(scheduled_until=monday_noon - timedelta(days=5)))

    with ThreadPoolExecutor(4) as pool:  # four servers look at the same moment
        started = [
            run
            for runs in pool.map(lambda _: start_scheduled(services, monday_noon), range(4))
            for run in runs
        ]
    assert len(started) == 1
    assert start_scheduled(services, monday_noon + timedelta(hours=3)) == []  # no new slot until tomorrow
    assert len(start_scheduled(services, monday_noon + timedelta(days=1))) == 1

    assert services.workflows.run_here(started[0], 10) == "succeeded"
    with services.db.session(jena.id) as session:
        run = session.get(WorkflowRun, started[0])
        assert run is not None and run.trigger == "schedule"
        assert run.output == {"gruss": {"text": "Guten Morgen (2026-11-30T06:00:00+00:00)"}}
        assert len(list(session.scalars(select(WorkflowRun.id)))) == 2
