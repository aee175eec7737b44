"""Each answer in the chat says which model answered and why, with its footprint, also when reopened."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from rathaus.assistants import registry
from rathaus.assistants.templates import templates
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.web.i18n import translator
from rathaus.web.units import energy, euros, grams
from tests.conftest import TenantFixture
from tests.web.session import CSRF, login
from tests.web.session import events as sse_events


def test_answers_explain_their_route_in_german(
    client: TestClient, services: Services, jena: TenantFixture
) -> None:
    with services.db.session(jena.id) as session:
        registry.save(
            session,
            Principal(tenant_id=jena.id, role=Role.builder),
            templates()["zusammenfassen"],
            services.catalogue,
        )
    login(client, jena.staff_email)
    response = client.post("/chat/zusammenfassen/send", json={"message": "Bitte kürzen."}, headers=CSRF)
    events = dict(sse_events(response.text))
    shown = json.loads(events["route"])["html"]
    assert "Warum dieses Modell?" in shown and "large (Stufe 2)" in shown
    assert "kleinstes zulässiges Modell ab Stufe 2" in shown  # the reason, translated
    assert "small: Stufe 1 liegt unter der für „summarize“ nötigen Stufe 2" in shown
    assert "extern: nicht freigegeben für die Datenklasse" in shown
    conversation_id = json.loads(events["meta"])["conversation_id"]
    page = client.get(f"/chat/zusammenfassen?c={conversation_id}").text
    assert page.count('<details class="chat-route">') == 1 and "large (Stufe 2)" in page


def test_footprints_read_naturally() -> None:
    de, en = translator("de"), translator("en")
    assert energy(0.0123, de) == "0,012 Wh" and energy(2500, en) == "2.5 kWh"
    assert grams(0.004, de) == "0,004 g" and euros(0.0004, de) == "unter 1 Cent"
    assert euros(12.5, de) == "12,50 €" and euros(0, en) == "0.00 €"
