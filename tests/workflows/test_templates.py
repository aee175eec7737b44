"""The shipped workflow templates are valid documents and each completes a test run with sample input."""

from __future__ import annotations

from typing import Any

import pytest

from rathaus.formats.documents import dump_document
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.workflows import registry
from rathaus.workflows.models import WorkflowRun
from rathaus.workflows.spec import load_workflow
from rathaus.workflows.templates import templates
from tests.conftest import TenantFixture

SAMPLES: dict[str, dict[str, Any]] = {
    "buergeranfrage": {
        "nachricht": "Guten Tag, mein Reisepass ist abgelaufen. Wie bekomme ich einen neuen? Eva Muster",
        "email": "eva.muster@example.org",
    },
    "maengelmeldung": {
        "description": "Die Straßenlaterne vor der Schule ist seit drei Tagen dunkel.",
        "address_string": "Schulstraße 4",
        "lat": 50.93,
        "long": 11.59,
    },
    "leichte-sprache": {
        "text": "Der Antrag auf Wohngeld ist bis zum 31. März 2027 schriftlich beim Sozialamt einzureichen. "
        "Beizufügen sind Einkommensnachweise der letzten drei Monate."
    },
}


def test_the_shipped_templates_are_the_three_documented_ones_and_round_trip() -> None:
    shipped = templates()
    assert set(shipped) == set(SAMPLES)
    for spec in shipped.values():
        assert load_workflow(dump_document(spec)) == spec


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_template_completes_a_test_run(services: Services, jena: TenantFixture, name: str) -> None:
    services.settings.workflow_http_hosts = ["fachverfahren.stadt.example"]
    principal = Principal(tenant_id=jena.id, role=Role.builder)
    with services.db.session(jena.id) as session:
        registry.save(session, principal, templates()[name], services.catalogue)
    run_id = services.workflows.start(principal, name, SAMPLES[name], test=True).id
    assert services.workflows.run_here(run_id, 60) == "succeeded"
    with services.db.session(jena.id) as session:
        run = session.get(WorkflowRun, run_id)
        assert run is not None and run.output
    if name == "maengelmeldung":
        assert set(run.output) == {"service_code", "priority"}
    if name == "leichte-sprache":
        assert set(run.output) == {"zusammenfassung", "leichte_sprache"}
