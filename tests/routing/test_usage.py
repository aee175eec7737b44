"""The usage dashboard and its CSV export for tenant administrators."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from rathaus.accounting.costing import Costed
from rathaus.accounting.footprint import Footprint
from rathaus.accounting.records import record_request
from rathaus.accounting.usage import UsageReport
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.llm.backend import Usage
from rathaus.services import Services
from rathaus.web.i18n import translator
from rathaus.web.usage import nice_step, tier_chart
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
    assert "1 Anfrage ohne Energieangabe (entferntes Modell" in page  # one request, not "1 Anfragen"
    assert "buergerservice" in page
    # the charts have a value axis with its unit and a day axis with German days
    assert ">Anfragen</text>" in page and ">Energie in Wh</text>" in page and ">Tag</text>" in page
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    assert f">{today:%d.%m.}</text>" in page and f'<th scope="row">{today:%d.%m.%Y}</th>' in page
    assert "T00:00" not in page and f"{today.isoformat()}" not in page  # no ISO dates for people
    assert client.get("/admin/usage?days=12").status_code == 422
    exported = client.get("/admin/usage.csv?days=7")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 3 and {r["profile_id"] for r in rows} == {"small", "large", "extern"}
    assert {r["wh_method"] for r in rows} == {"measured", "unknown"}


def test_chart_axes_have_round_steps() -> None:
    assert [nice_step(p) for p in (0, 3, 7, 10, 45, 0.9)] == [1.0, 1.0, 2.0, 2.5, 20.0, 0.25]
    usage = UsageReport(date(2026, 12, 1), [date(2026, 12, d) for d in range(1, 8)])
    usage.per_day_tier[date(2026, 12, 3)][1] = 3
    chart = tier_chart(usage, "de", translator("de"))
    assert [tick.label for tick in chart.y_ticks] == ["0", "1", "2", "3"]  # whole requests only
    assert [tick.label for tick in chart.x_ticks][:2] == ["01.12.", "02.12."]
    assert chart.bars[0].label == "03.12.2026: 3 × Stufe 1"
    english = tier_chart(usage, "en", translator("en"))
    assert english.x_ticks[0].label == "1 Dec" and english.unit == "Requests"
