"""Monthly budgets: warn at 80 %, refuse or downgrade when used up, hold under concurrent requests, and
recover the reservations of requests whose process died."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rathaus.accounting import budgets
from rathaus.accounting.budgets import HOLD, Admission, BudgetExhausted
from rathaus.accounting.models import Budget, BudgetMonth, BudgetReservation, RequestRecord
from rathaus.app import create_app
from rathaus.identity.models import Role, Tenant
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message
from rathaus.routing.router import need_of
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.store.base import utcnow
from rathaus.store.db import Database
from rathaus.store.migrate import upgrade
from tests.conftest import TenantFixture, make_tenant, write_catalogue
from tests.web.session import form_token, login

REPLY = " ".join(["Wort"] * 10)
PRICED = {  # 1 € per 1,000 tokens in and out: a request of ~15 tokens in and 10 out costs ~0.025 €
    "backend": "scripted", "capabilities": ["chat", "json_schema"], "params": {"replies": [REPLY]},
    "cost": {"eur_per_1m_input": 1000.0, "eur_per_1m_output": 1000.0},
    "energy": {"wh_per_1k_tokens": 2.0, "source": "test"},
}  # fmt: skip


@pytest.fixture
def metered(tmp_path: Path, database_url: str) -> Iterator[tuple[Services, TenantFixture]]:
    profiles = [{"id": "small", "tier": 1, **PRICED}, {"id": "large", "tier": 2, **PRICED}]
    data = write_catalogue(tmp_path / "data", profiles)
    services = Services.build(Settings(data_dir=data, database_url=database_url, secret_key="x" * 40))
    yield services, make_tenant(services, "jena")
    services.close()


def _budget(services: Services, tenant: TenantFixture, **limits: object) -> None:
    with services.db.session(tenant.id) as session:
        session.add(Budget(**limits))


def _request(max_tokens: int = 12) -> ChatRequest:
    question = Message(role="user", content="Wie beantrage ich einen Anwohnerparkausweis?")
    return ChatRequest(messages=[question], max_tokens=max_tokens)


def _ask(services: Services, tenant: TenantFixture, max_tokens: int = 12) -> str:
    principal = Principal(tenant_id=tenant.id, role=Role.staff)
    request = _request(max_tokens)
    route = services.routing.plan(need_of(request, "personenbezogen"))
    for _ in services.routing.run(principal, route, request, "test"):
        pass
    return route.chosen


def _spent(services: Services, tenant: TenantFixture) -> tuple[int, float, float]:
    with services.db.session(tenant.id) as session:
        count, eur = session.execute(select(func.count(), func.sum(RequestRecord.eur))).one()
        biggest = session.scalar(select(func.max(RequestRecord.eur)))
    return int(count), float(eur or 0), float(biggest or 0)


def test_fifty_concurrent_requests_overshoot_a_hard_budget_by_at_most_one(
    metered: tuple[Services, TenantFixture],
) -> None:
    services, tenant = metered
    _budget(services, tenant, eur_per_month=0.2, action="refuse")
    refused = 0

    def one(_: int) -> None:
        nonlocal refused
        try:
            _ask(services, tenant)
        except BudgetExhausted:
            refused += 1

    with ThreadPoolExecutor(50) as pool:
        list(pool.map(one, range(50)))
    count, spent, biggest = _spent(services, tenant)
    assert refused > 0 and count + refused == 50
    assert spent <= 0.2 + biggest  # at most one request beyond the budget
    with pytest.raises(BudgetExhausted, match="monthly budget of the tenant is used up"):
        for _ in range(10):  # requests refused while others held reservations may have left room
            _ask(services, tenant)
    assert _spent(services, tenant)[1] <= 0.2 + biggest


def test_used_up_budget_downgrades_when_the_policy_says_so(metered: tuple[Services, TenantFixture]) -> None:
    services, tenant = metered
    _budget(services, tenant, kwh_per_month=0.00005, action="downgrade")  # 0.05 Wh; a request uses 0.03
    assert [_ask(services, tenant) for _ in range(4)] == ["large", "large", "small", "small"]


def test_warning_at_eighty_percent_and_refusal_over_the_api(
    metered: tuple[Services, TenantFixture],
) -> None:
    services, tenant = metered
    _budget(services, tenant, assistant=None, eur_per_month=0.1, action="refuse")
    with TestClient(create_app(services.settings, services)) as client:
        body = {"model": "auto", "messages": [{"role": "user", "content": "Hallo"}], "max_tokens": 12}
        headers = [
            client.post("/v1/chat/completions", json=body, headers=tenant.headers()) for _ in range(12)
        ]
    warned = [r for r in headers if "X-Rathaus-Budget" in r.headers]
    refused = [r for r in headers if r.status_code == 429]
    assert warned and "tenant's monthly euro budget used" in warned[0].headers["X-Rathaus-Budget"]
    assert refused and refused[0].json()["error"]["code"] == "budget_exhausted"


def test_the_web_chat_shows_the_budget_warning(metered: tuple[Services, TenantFixture]) -> None:
    from rathaus.assistants import registry
    from rathaus.assistants.templates import templates
    from tests.web.session import CSRF

    services, tenant = metered
    _budget(services, tenant, assistant=None, eur_per_month=0.1, action="refuse")
    with services.db.session(tenant.id) as session:
        registry.save(
            session,
            Principal(tenant_id=tenant.id, role=Role.builder),
            templates()["zusammenfassen"],
            services.catalogue,
        )
    with TestClient(create_app(services.settings, services)) as client:
        login(client, tenant.staff_email)
        answers = [
            client.post("/chat/zusammenfassen/send", json={"message": "Hallo"}, headers=CSRF).text
            for _ in range(2)
        ]
    assert all("Hinweis zum Budget:" in a and "monthly euro budget used" in a for a in answers)


def test_admins_set_and_remove_budgets_on_their_page(client: TestClient, jena: TenantFixture) -> None:
    login(client, jena.admin_email)
    token = form_token(client, "/admin/budgets")
    form = {"csrf": token, "scope": "", "eur_per_month": "12,50", "kwh_per_month": "", "action": "downgrade"}
    saved = client.post("/admin/budgets", data=form)
    assert saved.status_code == 200 and "Das Budget wurde gespeichert." in saved.text
    assert "12,50 €" in saved.text and "kleinstes zulässiges Modell nehmen" in saved.text
    bad = client.post("/admin/budgets", data={**form, "eur_per_month": "-3"})
    assert bad.status_code == 422 and "Zahlen ab 0" in bad.text
    unknown = client.post("/admin/budgets", data={**form, "scope": "gibt-es-nicht"})
    assert unknown.status_code == 404
    removed = client.post("/admin/budgets", data={**form, "eur_per_month": ""})
    assert (
        "Das Budget wurde entfernt." in removed.text and "Es sind keine Budgets festgelegt." in removed.text
    )
    client.cookies.clear()
    login(client, jena.staff_email)
    assert client.get("/admin/budgets").status_code == 403


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    """Moves the budgets' clock on, by which reservations expire."""
    offset = timedelta()

    def now() -> datetime:
        return utcnow() + offset

    def advance(by: timedelta) -> None:
        nonlocal offset
        offset += by

    monkeypatch.setattr(budgets, "utcnow", now)
    return advance


def _admitted(services: Services, tenant: TenantFixture) -> Admission:
    """A request admitted (its expected cost reserved) whose answer has not ended."""
    route = services.routing.plan(need_of(_request(), "personenbezogen"))
    services.routing.admit(Principal(tenant_id=tenant.id, role=Role.staff, user_id="u" * 32), route)
    assert route.admission is not None and route.admission.holds
    return route.admission


def _reserved(services: Services, tenant: TenantFixture) -> tuple[float, float, int]:
    """The tenant's reserved euros and Wh, and its open reservations."""
    with services.db.session(tenant.id) as session:
        eur, wh = session.execute(
            select(func.sum(BudgetMonth.reserved_eur), func.sum(BudgetMonth.reserved_wh))
        ).one()
        rows = session.scalar(select(func.count(BudgetReservation.id)))
    return float(eur or 0), float(wh or 0), int(rows or 0)


def test_a_request_killed_mid_answer_blocks_the_budget_only_until_its_reservation_expires(
    metered: tuple[Services, TenantFixture],
    clock: Callable[[timedelta], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    services, tenant = metered
    _budget(services, tenant, eur_per_month=0.02, action="refuse")  # one reservation (~0.027 €) fills it
    _admitted(services, tenant)  # then its process is killed: nothing releases it, no record is written
    with pytest.raises(BudgetExhausted):  # while the request may still be running, its reservation counts
        _ask(services, tenant)
    clock(HOLD + timedelta(seconds=1))
    with caplog.at_level(logging.WARNING, logger=budgets.__name__):
        _ask(services, tenant)  # admitted: the expired reservation is given back first
    assert _reserved(services, tenant) == (pytest.approx(0.0), pytest.approx(0.0), 0)
    assert _spent(services, tenant)[0] == 1  # the killed request left no record; the operator is told
    assert f"tenant {tenant.id}, model large" in caplog.text and "left no request record" in caplog.text


def test_a_starting_server_releases_expired_reservations_but_not_those_of_running_requests(
    metered: tuple[Services, TenantFixture], clock: Callable[[timedelta], None]
) -> None:
    services, tenant = metered
    _budget(services, tenant, eur_per_month=10.0, action="refuse")
    killed = _admitted(services, tenant)
    clock(timedelta(minutes=10))
    running = _admitted(services, tenant)  # on another server sharing the database
    clock(timedelta(minutes=10))  # the killed request's reservation expired 5 minutes ago, not this one
    with TestClient(create_app(services.settings)):  # a server starts (and sweeps)
        pass
    eur, wh, rows = _reserved(services, tenant)
    assert (
        rows == 1 and eur == pytest.approx(running.holds[0].eur) and wh == pytest.approx(running.holds[0].wh)
    )
    services.gateway.budgets.release(running)
    services.gateway.budgets.release(killed)  # had it come back after all: nothing is given back twice
    assert _reserved(services, tenant) == (pytest.approx(0.0), pytest.approx(0.0), 0)


def test_a_slow_answer_keeps_its_reservation_as_long_as_it_streams(
    metered: tuple[Services, TenantFixture], clock: Callable[[timedelta], None]
) -> None:
    services, tenant = metered
    _budget(services, tenant, eur_per_month=0.02, action="refuse")
    request = _request()
    route = services.routing.plan(need_of(request, "personenbezogen"))
    answer = services.routing.run(Principal(tenant_id=tenant.id, role=Role.staff), route, request, "test")
    next(answer)
    for _ in range(3):  # 42 minutes in all, a piece of the answer every 14
        clock(HOLD - timedelta(minutes=1))
        next(answer)
    assert services.gateway.budgets.sweep() == 0
    with pytest.raises(BudgetExhausted):
        _ask(services, tenant)
    assert _reserved(services, tenant)[2] == 1
    for _ in answer:
        pass
    assert _reserved(services, tenant) == (pytest.approx(0.0), pytest.approx(0.0), 0)
    assert _spent(services, tenant)[0] == 1


def test_upgrading_frees_the_reservations_leaked_before(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rathaus.db'}"
    upgrade(url, "0017")
    db = Database(url)
    try:
        with db.system_session() as session:
            tenant = Tenant(slug="jena", name="Jena")
            session.add(tenant)
            session.flush()
            budget = Budget(tenant_id=tenant.id, eur_per_month=1.0)
            session.add(budget)
            session.flush()
            leaked = BudgetMonth(
                tenant_id=tenant.id, budget_id=budget.id, month=budgets.this_month(), spent_eur=0.0,
                spent_wh=0.0, reserved_eur=5.0, reserved_wh=40.0,
            )  # fmt: skip
            session.add(leaked)
        upgrade(url)
        assert budgets.Budgets(db).admit(tenant.id, None, 0.1, 1.0).holds  # no longer refused
    finally:
        db.dispose()
