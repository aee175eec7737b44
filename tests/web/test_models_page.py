"""The models page: every catalogue model with its status, place, data clearance, and the speed and
energy measured from the tenant's own requests, in German."""

from __future__ import annotations

import re

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

COLUMNS = ("Modell", "Stufe", "Zustand", "Läuft auf", "Darf sehen", "Geschwindigkeit", "Energie je Anfrage")


def _served(services: Services, tenant: TenantFixture, model: str, tokens: int, ms: float, wh: float) -> None:
    costed = Costed(Footprint(wh, "measured", 0.5, wh * 0.363, 0.0), model, None)
    principal = Principal(tenant_id=tenant.id, role=Role.staff)
    usage = Usage(tokens_in=50, tokens_out=tokens, ttft_ms=500.0, duration_ms=500.0 + ms)
    record_request(
        services.db, principal, services.catalogue.get(model), "v1.chat", usage, "ok", None, costed
    )


def _row(page: str, model_id: str) -> str:
    found = re.search(
        r"<tr class=\"kern-table__row\">(?:(?!</tr>).)*<code>" + re.escape(model_id) + r"</code>.*?</tr>",
        page,
        re.S,
    )
    assert found, model_id
    return re.sub(r"<[^>]+>", " ", found.group(0))


def test_the_models_page_shows_status_place_clearance_and_measurements(
    client: TestClient, services: Services, jena: TenantFixture, halle: TenantFixture
) -> None:
    _served(services, jena, "scripted", 100, 2000.0, 0.5)
    _served(services, jena, "scripted", 300, 4000.0, 1.5)
    _served(services, halle, "scripted", 10, 10_000.0, 90.0)  # another tenant's requests never count here
    login(client, jena.staff_email)
    assert client.get("/admin/models").status_code == 403
    client.cookies.clear()
    login(client, jena.admin_email)
    page = client.get("/admin/models").text
    for heading in COLUMNS:
        assert f">{heading}</th>" in page, heading
    assert 'href="/admin/models" aria-current="page"' in page

    scripted = " ".join(_row(page, "scripted").split())
    assert "installiert, lädt bei der ersten Anfrage" in scripted and "diesem Rechner" in scripted
    assert "66,7 Tokens/s" in scripted  # 400 tokens in 6 seconds of writing
    assert "1 Wh" in scripted and "2 Anfragen" in scripted  # (0.5 + 1.5) / 2
    assert "Öffentlich, Intern, Vertraulich, Personenbezogen" in scripted
    plain = " ".join(_row(page, "scripted-plain").split())
    assert "noch nicht gemessen" in plain and "0 Anfragen" in plain
    extern = " ".join(_row(page, "extern").split())
    assert "externem Anbieter" in extern and "Personenbezogen" not in extern  # external: public data only
    missing = " ".join(_row(page, "missing-weights").split())
    assert "nicht verfügbar" in missing
    remote = " ".join(_row(page, "misconfigured").split())
    assert "Server: 127.0.0.1" in remote
