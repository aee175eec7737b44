"""The usage dashboard and its CSV export for tenant administrators."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from rathaus.accounting.costing import Costed
from rathaus.accounting.footprint import Footprint
from rathaus.accounting.records import record_request
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.llm.backend import Usage
from rathaus.services import Services
from tests.conftest import TenantFixture
from tests.web.session import login


def _record(
    services: Services, tenant: TenantFixture, model: str, wh: float | None, reference: float
) -> None:
    profile = services.catalogue.get(model)
    costed = Costed(
        Footprint(wh, "measured" if wh is not None else "unknown", 0.5, wh * 0.363 if wh else None, 0.001),
        "large",
        Footprint(reference, "calibrated", 0.5, reference * 0.363, 0.002),
    )
    principal = Principal(tenant_id=tenant.id, role=Role.staff)
    route = {"assistant": "buergerservice"} if model == "small" else None
    record_request(services.db, principal, profile, "v1.chat", Usage(100, 20), "ok", None, costed, route)


def test_dashboard_sums_footprints_and_savings(
    client: TestClient, services: Services, jena: TenantFixture, halle: TenantFixture
) -> None:
    _record(services, jena, "small", 1.0, 4.0)
    _record(services, jena, "large", 3.0, 3.0)
    _record(services, jena, "extern", None, 2.0)
    _record(services, halle, "large", 50.0, 50.0)  # another tenant: never in Jena's figures
    login(client, jena.staff_email)
    assert client.get("/admin/usage").status_code == 403
    client.cookies.clear()
    login(client, jena.admin_email)
    page = client.get("/admin/usage?days=7").text
    assert "<dd>3</dd>" in page and "<dd>4 Wh</dd>" in page  # 3 requests; 1 + 3 Wh, the unknown one left out
    assert "3 Wh (43 %)" in page  # saved: (4 + 3) − (1 + 3) of 7 Wh
    assert "1 Anfragen ohne Energieangabe" in page and "buergerservice" in page
    assert client.get("/admin/usage?days=12").status_code == 422
    exported = client.get("/admin/usage.csv?days=7")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 3 and {r["profile_id"] for r in rows} == {"small", "large", "extern"}
    assert {r["wh_method"] for r in rows} == {"measured", "unknown"}
