"""Energy, CO₂ and cost per request, and what the reference model would have cost."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rathaus.accounting.footprint import CALIBRATED, DECLARED, MEASURED, UNKNOWN, estimate, measure
from rathaus.accounting.models import RequestRecord
from rathaus.identity.models import Role, Tenant
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message, Usage
from rathaus.llm.catalogue import Profile
from rathaus.services import Services
from tests.conftest import TenantFixture

GRID = 363.0


def _profile(**energy: object) -> Profile:
    return Profile.model_validate(
        {"id": "m", "backend": "scripted", "tier": 1, "energy": energy,
         "cost": {"eur_per_1m_input": 2.0, "eur_per_1m_output": 6.0}}
    )  # fmt: skip


def test_local_energy_is_measured_cpu_time_times_watts() -> None:
    footprint = measure(_profile(watts_per_core=15.0), Usage(100, 50, cpu_seconds=36.0), GRID)
    assert footprint.method == MEASURED and footprint.wh == pytest.approx(0.15)  # 36 s × 15 W
    assert footprint.co2_g == pytest.approx(0.15 * 0.363)
    assert footprint.eur == pytest.approx((100 * 2 + 50 * 6) / 1e6)
    assert footprint.uncertainty == 0.5


def test_remote_energy_is_declared_per_token_and_unknown_without_a_declaration() -> None:
    declared = measure(_profile(wh_per_1k_tokens=0.4, uncertainty=0.3), Usage(1500, 500), GRID)
    assert declared.method == DECLARED and declared.wh == pytest.approx(0.8)
    assert declared.uncertainty == 0.3
    unknown = measure(_profile(), Usage(1500, 500), GRID)
    assert unknown.method == UNKNOWN and unknown.wh is None and unknown.co2_g is None


def test_reference_estimate_uses_calibrated_cpu_seconds_per_token() -> None:
    reference = _profile(watts_per_core=15.0, cpu_seconds_per_1k_input=24.0, cpu_seconds_per_1k_output=96.0)
    footprint = estimate(reference, 1000, 100, GRID)
    assert footprint.method == CALIBRATED
    assert footprint.wh == pytest.approx((24.0 + 9.6) * 15 / 3600)


def test_records_carry_footprint_and_reference(services: Services, jena: TenantFixture) -> None:
    principal = Principal(tenant_id=jena.id, role=Role.staff)
    request = ChatRequest(messages=[Message(role="user", content="Guten Tag zusammen")])
    list(services.gateway.chat(principal, services.catalogue.get("scripted"), request, endpoint="test"))
    with services.db.session(jena.id) as session:
        record = session.scalars(select(RequestRecord)).one()
    assert record.wh_method == UNKNOWN and record.eur == 0.0  # the scripted model declares nothing
    reference = services.gateway.costing.reference()
    assert reference is not None and record.reference_profile_id == reference.id
    assert reference.tier == max(p.tier for p in services.catalogue.profiles() if p.can("chat"))


def test_a_tenant_compares_with_its_own_reference_model(
    services: Services, jena: TenantFixture, halle: TenantFixture
) -> None:
    with services.db.system_session() as session:
        session.get(Tenant, jena.id).reference_model = "scripted-plain"  # type: ignore[union-attr]
    request = ChatRequest(messages=[Message(role="user", content="Guten Tag zusammen")])
    for tenant in (jena, halle):
        principal = Principal(tenant_id=tenant.id, role=Role.staff)
        list(services.gateway.chat(principal, services.catalogue.get("scripted"), request, endpoint="test"))
    references = {}
    for tenant in (jena, halle):
        with services.db.session(tenant.id) as session:
            references[tenant.id] = session.scalars(select(RequestRecord.reference_profile_id)).one()
    assert references[jena.id] == "scripted-plain"
    default = services.gateway.costing.reference()
    assert default is not None and references[halle.id] == default.id != "scripted-plain"
