"""The budget page for tenant administrators: monthly limits in euros and kWh, per tenant and assistant."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from rathaus.accounting.budgets import this_month
from rathaus.accounting.models import Budget, BudgetMonth
from rathaus.api.deps import ServicesDep
from rathaus.assistants import registry
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.web.admin import require_admin
from rathaus.web.forms import CheckedForm
from rathaus.web.pages import PagePrincipal, page_translator, render

router = APIRouter(prefix="/admin", include_in_schema=False)
ACTIONS = ("refuse", "downgrade")
TENANT = ""  # the form's value for the budget of the whole tenant


def _limit(form: CheckedForm, name: str) -> float | None:
    """An optional non-negative number; a comma counts as the decimal mark. Raises ValueError."""
    raw = form.get(name)
    text = raw.strip().replace(",", ".") if isinstance(raw, str) else ""
    if not text:
        return None
    value = float(text)
    if value < 0 or value != value or value == float("inf"):
        raise ValueError(name)
    return value


def _page(
    request: Request, services: Services, principal: Principal, status: int = 200, **extra: Any
) -> HTMLResponse:
    t = page_translator(request)
    with services.db.session(principal.tenant_id) as session:
        used = {
            m.budget_id: m
            for m in session.scalars(select(BudgetMonth).where(BudgetMonth.month == this_month()))
        }
        rows = [
            {"budget": b, "used": used.get(b.id)}
            for b in session.scalars(select(Budget).order_by(Budget.assistant.is_not(None), Budget.assistant))
        ]
        names = [a.name for a in registry.listing(session, principal)]
    scopes = [(TENANT, t("budgets.tenant"))] + [(n, t("budgets.assistant", name=n)) for n in names]
    actions = [(a, t(f"budgets.action.{a}")) for a in ACTIONS]
    return render(request, "admin_budgets.html", status, rows=rows, scopes=scopes, actions=actions, **extra)


@router.get("/budgets")
def budgets_page(
    request: Request, principal: PagePrincipal, services: ServicesDep, done: str = ""
) -> HTMLResponse:
    """The tenant's budgets and what they used this month."""
    require_admin(principal)
    return _page(request, services, principal, done=done)


@router.post("/budgets", response_model=None)
def save_budget(
    request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Set (or replace) the budget of the tenant or of one assistant; empty limits remove it."""
    require_admin(principal)
    t = page_translator(request)
    scope = form.get("scope")
    assistant = scope.strip()[:100] if isinstance(scope, str) and scope.strip() else None
    action = form.get("action")
    try:
        eur, kwh = _limit(form, "eur_per_month"), _limit(form, "kwh_per_month")
    except ValueError:
        return _page(request, services, principal, 422, error=t("budgets.invalid"))
    if action not in ACTIONS:
        return _page(request, services, principal, 422, error=t("budgets.invalid"))
    with services.db.session(principal.tenant_id) as session:
        if assistant is not None:
            registry.find(session, principal, assistant)  # 404 for an unknown assistant
        existing = session.scalar(
            select(Budget).where(
                Budget.assistant.is_(None) if assistant is None else Budget.assistant == assistant
            )
        )
        if eur is None and kwh is None:
            if existing is not None:
                session.delete(existing)
            return RedirectResponse("/admin/budgets?done=budget_removed", status_code=303)
        budget = existing or Budget(assistant=assistant)
        budget.eur_per_month, budget.kwh_per_month, budget.action = eur, kwh, str(action)
        session.add(budget)
    return RedirectResponse("/admin/budgets?done=saved_budget", status_code=303)
