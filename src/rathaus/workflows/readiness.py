"""Whether a workflow can run here: what its steps need that the installation or the tenant does not have.

A step that sends e-mail needs a mail server, a step that calls another system needs its host on the
operator's allow-list, a step that asks an assistant or searches a collection needs it to exist and to be
usable by the person starting the run. Without this check a run fails at that step, perhaps days later
after someone approved it. So the editor and the workflow's page name each gap at its step, and a run
started by a person or a client is refused while one remains (a test run, which sends nothing, is not).
Runs started by a webhook, the mailbox or an upload are not refused: their input would be lost; they stop
at the step and can be retried once the gap is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from rathaus.identity.principal import Principal
from rathaus.workflows.spec import WorkflowSpec, walk
from rathaus.workflows.steps import Missing, Setup, step_types

if TYPE_CHECKING:
    from rathaus.services import Services

REFUSED_TRIGGERS = frozenset({"web", "api", "cli"})  # a person or client waiting for the answer


@dataclass(frozen=True)
class Gap:
    """What one step needs and does not have."""

    step_id: str
    title: str  # the step's title, or its id when it has none
    missing: Missing

    def as_json(self) -> dict[str, str]:
        """The gap for API clients."""
        return {"step": self.step_id, "code": self.missing.code, "subject": self.missing.subject}


class NotReady(Exception):
    """A run was refused because steps need what is not there; `gaps` name them."""

    def __init__(self, gaps: list[Gap]) -> None:
        super().__init__(
            "; ".join(f"step '{g.step_id}': {g.missing.code} {g.missing.subject}".strip() for g in gaps)
        )
        self.gaps = gaps


def gaps(services: Services, session: Session, principal: Principal, spec: WorkflowSpec) -> list[Gap]:
    """Every step's gaps, in document order (branch steps after their condition)."""
    setup = Setup(services, session, principal)
    kinds = step_types()
    found: list[Gap] = []
    for step in walk(spec.spec.steps):
        kind = kinds.get(step.type)
        if kind is not None:
            found += [Gap(step.id, step.title or step.id, m) for m in kind.missing(step.settings, setup)]
    return found
