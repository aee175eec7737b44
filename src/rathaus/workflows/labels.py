"""Labels that staff correct at an approval become examples for the classify step that gave them.

An approval shows the label of every classify step its run went through, as a choice of that step's
labels. A person who picks another one corrects the step: its output carries the new label (later steps
and templates see it; steps already taken are not redone), and the text with the right label is kept as a
`LabelCorrection`. The step's later runs add the newest corrections to its labels' examples, so tier 0
(the embedding classifier) sorts such texts right next time, and the router measures the changed label
set again before it lets a language model take its unsure cases (routing/label_trials.py).

Corrections are personal data as much as the texts were: they are kept per step, at most MAX_PER_LABEL
per label (the oldest go), cut to MAX_TEXT characters, and deleted with their workflow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rathaus.identity.principal import Principal
from rathaus.llm.catalogue import DataClass
from rathaus.routing.clearance import Part, as_data_class, highest
from rathaus.workflows.models import LabelCorrection, StepRun, WorkflowRun, WorkflowVersion
from rathaus.workflows.spec import WorkflowSpec, walk

MAX_PER_LABEL = 20  # corrections kept (and used as examples) per label of a step
MAX_TEXT = 2000  # characters of a corrected text kept (the embedding model reads fewer)


class NotCorrectable(ValueError):
    """A label chosen for a step that gave none, or that is not one of the step's labels."""


@dataclass(frozen=True)
class Correctable:
    """A classify step of a run whose label a person may correct: its label and the labels it had."""

    step_id: str
    title: str
    label: str
    choices: tuple[str, ...]
    unsure: bool = False  # tier 0 was unsure and no language model took over

    def as_json(self) -> dict[str, Any]:
        """For the API."""
        return {
            "step_id": self.step_id,
            "title": self.title,
            "label": self.label,
            "choices": list(self.choices),
            "unsure": self.unsure,
        }


def correctable(session: Session, run_id: str) -> list[Correctable]:
    """The classify steps of the run that gave a label, in the order they ran."""
    return correctable_in(session, [run_id]).get(run_id, [])


def correctable_in(session: Session, run_ids: Sequence[str]) -> dict[str, list[Correctable]]:
    """The same for several runs at once (an inbox of many approvals): run id → its classify steps."""
    if not run_ids:
        return {}
    rows = session.scalars(
        select(StepRun)
        .where(StepRun.run_id.in_(run_ids), StepRun.type == "classify", StepRun.status == "succeeded")
        .order_by(StepRun.position)
    ).all()
    titles = _titles(session, list({row.run_id for row in rows}))
    found: dict[str, list[Correctable]] = {}
    for row in rows:
        output, settings = row.output, row.settings
        if not (isinstance(output, dict) and isinstance(settings, dict)):
            continue
        choices = tuple(
            str(label["value"])
            for label in settings.get("labels") or []
            if isinstance(label, dict) and "value" in label
        )
        if isinstance(output.get("label"), str) and choices:
            title = titles.get(row.run_id, {}).get(row.step_id, "")
            step = Correctable(row.step_id, title, output["label"], choices, output.get("unsure") is True)
            found.setdefault(row.run_id, []).append(step)
    return found


def check(session: Session, run_id: str, chosen: Mapping[str, str]) -> list[tuple[Correctable, str]]:
    """The corrections among the labels chosen (step id → label): those that differ from the step's label.
    A step that gave no label, or a label that is not one of its choices, is refused (NotCorrectable)."""
    steps = {c.step_id: c for c in correctable(session, run_id)}
    changes = []
    for step_id, label in chosen.items():
        step = steps.get(step_id)
        if step is None:
            raise NotCorrectable(f"the step '{step_id}' gave no label that could be corrected")
        if label not in step.choices:
            raise NotCorrectable(f"'{label}' is not one of the labels of the step '{step_id}'")
        if label != step.label:
            changes.append((step, label))
    return changes


def correct(
    session: Session, principal: Principal, run_id: str, changes: list[tuple[Correctable, str]]
) -> None:
    """Give the steps their corrected labels and keep each text with its right label as an example."""
    run = session.get(WorkflowRun, run_id)
    if run is None or not changes:
        return
    for step, label in changes:
        row = session.scalars(
            select(StepRun).where(StepRun.run_id == run_id, StepRun.step_id == step.step_id)
        ).one()
        text = row.settings.get("text") if isinstance(row.settings, dict) else None
        row.output = {**row.output, "label": label, "unsure": False, "corrected_from": step.label}
        session.execute(  # corrected again in the same run (a second approval): the newer choice counts
            delete(LabelCorrection)
            .where(LabelCorrection.run_id == run_id, LabelCorrection.step_id == step.step_id)
            .execution_options(synchronize_session=False)
        )
        if not isinstance(text, str) or not text.strip():
            continue
        carried = row.route.get("data_class") if isinstance(row.route, dict) else None
        session.add(
            LabelCorrection(
                workflow_id=run.workflow_id,
                step_id=step.step_id,
                label=label,
                was=step.label,
                text=text.strip()[:MAX_TEXT],
                data_class=as_data_class(carried or ""),  # unknown: the strictest
                run_id=run_id,
                decided_by=principal.user_id,
            )
        )
        session.flush()
        _prune(session, run.workflow_id, step.step_id, label)


def _prune(session: Session, workflow_id: str, step_id: str, label: str) -> None:
    kept = select(LabelCorrection.id).where(
        LabelCorrection.workflow_id == workflow_id,
        LabelCorrection.step_id == step_id,
        LabelCorrection.label == label,
    )
    newest = kept.order_by(LabelCorrection.created_at.desc(), LabelCorrection.id).limit(MAX_PER_LABEL)
    session.execute(
        delete(LabelCorrection)
        .where(LabelCorrection.id.in_(kept), LabelCorrection.id.not_in(newest.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Corrections:
    """The corrected texts of a step by label, newest first, and the highest data class among them."""

    texts: dict[str, list[str]]
    data_class: DataClass | None  # None: no corrections

    def part(self, step_id: str) -> Part | None:
        """What the corrections add to a prompt's exposure: a language model measured on the label set
        reads them."""
        return Part("corrections", self.data_class, step_id) if self.data_class else None


def examples(session: Session, run_id: str, step_id: str) -> Corrections:
    """The corrected texts of this run's workflow step by label, newest first (what tier 0 adds)."""
    run = session.get(WorkflowRun, run_id)
    if run is None:
        return Corrections({}, None)
    rows = session.scalars(
        select(LabelCorrection)
        .where(LabelCorrection.workflow_id == run.workflow_id, LabelCorrection.step_id == step_id)
        .order_by(LabelCorrection.created_at.desc(), LabelCorrection.id)
    ).all()
    found: dict[str, list[str]] = {}
    used: list[DataClass] = []
    for row in rows:
        texts = found.setdefault(row.label, [])
        if len(texts) < MAX_PER_LABEL and row.text not in texts:
            texts.append(row.text)
            used.append(as_data_class(row.data_class))
    return Corrections(found, highest(used) if used else None)


def _titles(session: Session, run_ids: list[str]) -> dict[str, dict[str, str]]:
    """The steps' titles in each run's version of its workflow (run id → step id → title)."""
    if not run_ids:
        return {}
    runs = session.execute(
        select(WorkflowRun.id, WorkflowVersion.document)
        .join(
            WorkflowVersion,
            (WorkflowVersion.workflow_id == WorkflowRun.workflow_id)
            & (WorkflowVersion.version == WorkflowRun.version),
        )
        .where(WorkflowRun.id.in_(run_ids))
    ).all()
    return {
        run_id: {step.id: step.title for step in walk(WorkflowSpec.model_validate(document).spec.steps)}
        for run_id, document in runs
    }
