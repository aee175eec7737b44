"""Monthly budgets in euros and kWh, per tenant and per assistant, that hold under concurrent requests.

Before a request runs, its expected cost is reserved on every budget that applies (the tenant's and its
assistant's) with one conditional UPDATE per budget: the reservation succeeds only while spent plus
reserved is still below the limit, so concurrent requests cannot all slip through. Each request's actual
footprint is added to `spent` when its record is written; the reservation is released when the request
ends. A budget can therefore be overshot by at most the requests admitted while it still had room, each by
its own cost: one request when they arrive one after another, and never by requests that arrive after
it is used up. At 80 % a warning goes out with the answer; when a budget is used up, the tenant's policy
decides: refuse (429) or downgrade to the smallest eligible model.

A process can die in the middle of a request (killed, crashed, its machine lost) and never release. So
each reservation is also a row of `budget_reservations`, written in the transaction that raises the
month's `reserved_*` and deleted in the one that lowers them again; they are lowered only when that delete
removed the row, so every reservation is given back exactly once, by whoever gets there first. A running
request renews its rows as its answer comes in (`Budgets.keep`); a row not renewed for `HOLD` belongs to a
request that is gone. Expired rows are released by the next admission on their budget, before it checks
for room (so they never count against a budget), and by `Budgets.sweep` when a server starts. A starting
server releases only expired rows, not all those older than itself: with PostgreSQL several servers share
one database, and the requests of the others are still running.

`reserved_*` stays a counter beside the rows rather than a sum over them: the conditional UPDATE of the
month's row is what keeps concurrent admissions from overshooting on both databases (after waiting for
the row's lock, PostgreSQL checks the condition again against the committed counter; it would not read a
subquery's sum again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from rathaus.accounting.models import Budget, BudgetMonth, BudgetReservation
from rathaus.store.base import new_id, utcnow
from rathaus.store.db import Database

logger = logging.getLogger(__name__)

WARN_SHARE = 0.8
# A reservation not renewed for this long belongs to a request whose process is gone. Far longer than a
# running request goes without output (RATHAUS_REQUEST_TIMEOUT_S, 5 minutes by default, then it fails).
HOLD = timedelta(minutes=15)
RENEW = timedelta(minutes=1)  # a running request renews its reservations at most this often


class BudgetExhausted(Exception):
    """A budget whose policy is to refuse is used up for this month."""

    status_code = 429

    def __init__(self, message: str) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Hold:
    """A reservation on one budget's month (its row in `budget_reservations`)."""

    id: str
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
    kept_at: datetime | None = None  # when the reservations were made or last renewed


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

    def admit(
        self,
        tenant_id: str,
        assistant: str | None,
        eur: float,
        wh: float,
        model: str | None = None,
        user_id: str | None = None,
    ) -> Admission:
        """Reserve the expected cost on each applicable budget; raises BudgetExhausted to refuse.

        `model` and `user_id` only describe the request in the warning if it never ends.
        """
        admission = Admission(tenant_id)
        month = this_month()
        applies = or_(Budget.assistant.is_(None), Budget.assistant == assistant)
        with self.db.session(tenant_id, read_only=True) as session:
            if session.scalar(select(Budget.id).where(applies).limit(1)) is None:
                return admission  # no budget applies: nothing to reserve, and no write lock taken
        now = admission.kept_at = utcnow()
        with self.db.session(tenant_id) as session:
            # in the same order everywhere, so that concurrent requests lock the months in the same order
            budgets = session.scalars(select(Budget).where(applies).order_by(Budget.id)).all()
            for budget in budgets:
                month_id = self._month(session, budget, month)
                self._release_expired(session, now, BudgetReservation.budget_month_id == month_id)
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
                row = BudgetReservation(
                    id=new_id(), budget_month_id=month_id, eur=eur, wh=wh, expires_at=now + HOLD,
                    model=model, assistant=assistant, user_id=user_id,
                )  # fmt: skip
                session.add(row)
                admission.holds.append(Hold(row.id, month_id, eur, wh))
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

    def keep(self, admission: Admission) -> None:
        """The request is still running: renew its reservations (at most once every `RENEW`).

        A reservation that expired meanwhile has been released; the request then runs on without one.
        """
        if admission.released or not admission.holds:
            return
        now = utcnow()
        if admission.kept_at is not None and now - admission.kept_at < RENEW:
            return
        admission.kept_at = now
        try:
            with self.db.session(admission.tenant_id) as session:
                session.execute(
                    update(BudgetReservation)
                    .where(BudgetReservation.id.in_([hold.id for hold in admission.holds]))
                    .values(expires_at=now + HOLD)
                    .execution_options(synchronize_session=False)
                )
        except SQLAlchemyError:  # the answer matters more; the next piece of it tries again
            admission.kept_at = None
            logger.warning("could not renew the budget reservations of a running request", exc_info=True)

    def release(self, admission: Admission) -> None:
        """The request ended: give back its reservations (once)."""
        if admission.released or not admission.holds:
            return
        admission.released = True
        with self.db.session(admission.tenant_id) as session:
            for hold in admission.holds:
                self._give_back(session, hold)

    def sweep(self) -> int:
        """Release the expired reservations of every tenant, left by processes that are gone; how many.

        Run when a server starts; admissions release those of their own budgets anyway.
        """
        with self.db.system_session() as session:
            return self._release_expired(session, utcnow())

    def _release_expired(self, session: Session, now: datetime, *where: Any) -> int:
        expired = BudgetReservation.expires_at < now
        rows = session.scalars(select(BudgetReservation).where(expired, *where)).all()
        released = 0
        for row in rows:
            if self._give_back(session, Hold(row.id, row.budget_month_id, row.eur, row.wh), expired):
                released += 1
                logger.warning(
                    "released the expired budget reservation of a request not heard from for %d minutes "
                    "(its server process probably stopped; it left no request record): tenant %s, model %s, "
                    "assistant %s, user %s, admitted %s, %.4f EUR, %.3f Wh",
                    HOLD.total_seconds() // 60, row.tenant_id, row.model, row.assistant, row.user_id,
                    row.created_at.isoformat(), row.eur, row.wh,
                )  # fmt: skip
        return released

    @staticmethod
    def _give_back(session: Session, hold: Hold, *only_if: Any) -> bool:
        """Delete the hold's row and, only if that deleted it, lower the month's `reserved_*` by it."""
        gone = delete(BudgetReservation).where(BudgetReservation.id == hold.id, *only_if)
        deleted = session.execute(gone.execution_options(synchronize_session=False))
        if not deleted.rowcount:  # type: ignore[attr-defined]
            return False  # given back already (by its request or as expired), or the budget was removed
        session.execute(
            update(BudgetMonth)
            .where(BudgetMonth.id == hold.month_id)
            .values(
                reserved_eur=BudgetMonth.reserved_eur - hold.eur,
                reserved_wh=BudgetMonth.reserved_wh - hold.wh,
            )
        )
        return True
