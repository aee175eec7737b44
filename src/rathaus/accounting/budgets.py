"""Monthly budgets in euros and kWh, per tenant and per assistant, that hold under concurrent requests.

Before a request runs, its expected cost is reserved on every budget that applies (the tenant's and its
assistant's) with one conditional UPDATE per budget: the reservation succeeds only while spent plus
reserved is still below the limit, so concurrent requests cannot all slip through. Each request's actual
footprint is added to `spent` when its record is written; the reservation is released when the request
ends. A budget can therefore be overshot by at most the requests admitted while it still had room, each by
its own cost: one request when they arrive one after another, and never by requests that arrive after
it is used up. At 80 % a warning goes out with the answer; when a budget is used up, the tenant's policy
decides: refuse (429) or downgrade to the smallest eligible model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rathaus.accounting.models import Budget, BudgetMonth
from rathaus.store.db import Database

WARN_SHARE = 0.8


class BudgetExhausted(Exception):
    """A budget whose policy is to refuse is used up for this month."""

    status_code = 429

    def __init__(self, message: str) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Hold:
    """A reservation on one budget's month."""

    month_id: str
    eur: float
    wh: float


@dataclass
class Admission:
    """The reservations of one request, the warnings to show, and whether to downgrade."""

    tenant_id: str
    holds: list[Hold] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    downgrade: bool = False
    released: bool = False


def this_month() -> str:
    """The current month (UTC) as YYYY-MM."""
    return datetime.now(UTC).strftime("%Y-%m")


def _scope(budget: Budget) -> str:
    return f"assistant '{budget.assistant}'" if budget.assistant else "tenant"


class Budgets:
    """Admits requests against the tenant's budgets and books what they spent."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _month(self, session: Session, budget: Budget, month: str) -> str:
        query = select(BudgetMonth.id).where(BudgetMonth.budget_id == budget.id, BudgetMonth.month == month)
        found = session.scalar(query)
        if found is not None:
            return found
        try:
            with session.begin_nested():
                row = BudgetMonth(
                    budget_id=budget.id, month=month, spent_eur=0.0, spent_wh=0.0, reserved_eur=0.0,
                    reserved_wh=0.0,
                )  # fmt: skip
                session.add(row)
                session.flush()
                return row.id
        except IntegrityError:  # another request created it first
            return str(session.scalar(query))

    def admit(self, tenant_id: str, assistant: str | None, eur: float, wh: float) -> Admission:
        """Reserve the expected cost on each applicable budget; raises BudgetExhausted to refuse."""
        admission = Admission(tenant_id)
        month = this_month()
        applies = or_(Budget.assistant.is_(None), Budget.assistant == assistant)
        with self.db.session(tenant_id, read_only=True) as session:
            if session.scalar(select(Budget.id).where(applies).limit(1)) is None:
                return admission  # no budget applies: nothing to reserve, and no write lock taken
        with self.db.session(tenant_id) as session:
            budgets = session.scalars(
                select(Budget).where(or_(Budget.assistant.is_(None), Budget.assistant == assistant))
            ).all()
            for budget in budgets:
                month_id = self._month(session, budget, month)
                room = [BudgetMonth.id == month_id]
                if budget.eur_per_month is not None:
                    room.append(BudgetMonth.spent_eur + BudgetMonth.reserved_eur < budget.eur_per_month)
                if budget.kwh_per_month is not None:
                    room.append(BudgetMonth.spent_wh + BudgetMonth.reserved_wh < budget.kwh_per_month * 1000)
                reserve = update(BudgetMonth).values(
                    reserved_eur=BudgetMonth.reserved_eur + eur, reserved_wh=BudgetMonth.reserved_wh + wh
                )
                admitted = session.execute(reserve.where(*room)).rowcount  # type: ignore[attr-defined]
                if not admitted and budget.action != "downgrade":  # leaving the session rolls back
                    raise BudgetExhausted(
                        f"The monthly budget of the {_scope(budget)} is used up; it renews on the first of "
                        "next month. An administrator can raise it on the Budgets page."
                    )
                if not admitted:
                    admission.downgrade = True
                    session.execute(reserve.where(BudgetMonth.id == month_id))
                admission.holds.append(Hold(month_id, eur, wh))
                used = session.get(BudgetMonth, month_id)
                if used is not None:
                    session.refresh(used)
                    admission.warnings += self._warnings(budget, used)
        return admission

    @staticmethod
    def _warnings(budget: Budget, used: BudgetMonth) -> list[str]:
        notes = []
        for limit, spent, unit in (
            (budget.eur_per_month, used.spent_eur + used.reserved_eur, "euro"),
            (budget.kwh_per_month * 1000 if budget.kwh_per_month is not None else None,
             used.spent_wh + used.reserved_wh, "energy"),
        ):  # fmt: skip
            if limit and spent >= WARN_SHARE * limit:
                notes.append(
                    f"{min(spent / limit, 9.99):.0%} of the {_scope(budget)}'s monthly {unit} budget used"
                )
        return notes

    def spend(self, admission: Admission, eur: float, wh: float | None) -> None:
        """Book one recorded request's footprint on the admitted budgets."""
        if not admission.holds:
            return
        with self.db.session(admission.tenant_id) as session:
            ids = [hold.month_id for hold in admission.holds]
            session.execute(
                update(BudgetMonth)
                .where(BudgetMonth.id.in_(ids))
                .values(spent_eur=BudgetMonth.spent_eur + eur, spent_wh=BudgetMonth.spent_wh + (wh or 0.0))
            )

    def release(self, admission: Admission) -> None:
        """The request ended: give back its reservations (once)."""
        if admission.released or not admission.holds:
            return
        admission.released = True
        with self.db.session(admission.tenant_id) as session:
            for hold in admission.holds:
                session.execute(
                    update(BudgetMonth)
                    .where(BudgetMonth.id == hold.month_id)
                    .values(
                        reserved_eur=BudgetMonth.reserved_eur - hold.eur,
                        reserved_wh=BudgetMonth.reserved_wh - hold.wh,
                    )
                )
