"""An unsure classification goes to a language model only when that model measured better on its labels.

Escalating every unsure verdict of the embedding classifier made classification worse: on the task set
the smallest language model picked the last label 15 of 26 times. So the labels' own examples are the
measure. Each example is held out in turn and classified by tier 0 (with the other texts of its label)
and by the language model (with the labels and their descriptions, as it sees them when a request is
escalated). A model takes the unsure verdicts of a label set only when, on the examples tier 0 was unsure
about (on all examples, when it was unsure about none), it was right where tier 0 was wrong clearly more
often than the other way round: a one-sided sign test on those disagreements, p ≤ 0.05. A lead on a
dozen examples is chance as often as not (measured: qwen2.5-1.5b right 7 times where tier 0 was right 3
times of 12 unsure examples, yet worse than tier 0 on the task set's 100 messages). Until a label set is
measured, and for label sets with too few examples, tier 0 keeps its label and the route says it is
unsure (`unsure_kept`).

The measurement runs once per label set and model, in the background after the first unsure verdict; its
requests are recorded like any other (endpoint `routing.trial`), and its result is stored (`label_trials`)
and shown in the route. A measurement that fails (say, the model could not be loaded) is tried again after
RETRY_AFTER_S, then after twice as long each time, up to MAX_RETRY_AFTER_S: not on every unsure request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from rathaus.routing.classifier import LabelSchema
from rathaus.routing.models import LabelTrial
from rathaus.store.base import utcnow
from rathaus.store.db import Database

logger = logging.getLogger(__name__)

ENDPOINT = "routing.trial"
MIN_EXAMPLES = 4  # fewer held-out examples measure nothing
MAX_EXAMPLES = 60  # a measurement asks the model at most this often
SIGNIFICANCE = 0.05  # how unlikely the model's lead must be by chance (one-sided sign test)
INSTRUCTIONS = "Ordne den Text genau einer Kategorie zu."
RETRY_AFTER_S = 600.0  # a failed measurement is tried again after this long at the earliest …
MAX_RETRY_AFTER_S = 6 * 3600.0  # … doubling with each failure up to this


@dataclass(frozen=True)
class Case:
    """One held-out example: its text, the label it belongs to, and the label set without it."""

    text: str
    expected: str
    labels: LabelSchema


@dataclass(frozen=True)
class Outcome:
    """Tier 0 and one model on the same held-out examples."""

    model_id: str
    total: int
    tier0_correct: int
    model_correct: int
    unsure: int
    tier0_unsure_correct: int
    model_unsure_correct: int
    model_only: int  # among the examples compared: the model right where tier 0 was wrong
    tier0_only: int  # … and tier 0 right where the model was wrong

    @property
    def compared(self) -> tuple[int, int, int]:
        """Right answers of the model and of tier 0 on the examples compared (those tier 0 was unsure
        about, or all when it was sure of every one), and how many those were."""
        if self.unsure:
            return self.model_unsure_correct, self.tier0_unsure_correct, self.unsure
        return self.model_correct, self.tier0_correct, self.total

    @property
    def chance(self) -> float:
        """How likely the model's lead in the disagreements would be if it were no better than tier 0."""
        return sign_test(self.model_only, self.tier0_only)

    @property
    def better(self) -> bool:
        """Whether the model classifies the label set clearly better than tier 0 where tier 0 is unsure."""
        return self.model_only > self.tier0_only and self.chance <= SIGNIFICANCE

    def as_json(self) -> dict[str, Any]:
        """The counts, for the route."""
        return {
            "model": self.model_id,
            "examples": self.total,
            "tier0_right": self.tier0_correct,
            "model_right": self.model_correct,
            "unsure": self.unsure,
            "tier0_right_unsure": self.tier0_unsure_correct,
            "model_right_unsure": self.model_unsure_correct,
            "model_only": self.model_only,
            "tier0_only": self.tier0_only,
            "chance": round(self.chance, 3),
        }


def sign_test(wins: int, losses: int) -> float:
    """One-sided sign test: the probability of at least `wins` of `wins + losses` fair coin tosses."""
    total = wins + losses
    return sum(math.comb(total, k) for k in range(wins, total + 1)) / 2**total if total else 1.0


def key_of(labels: LabelSchema, embedding_model: str) -> str:
    """A label set's identity: every text tier 0 compares with, and the model that embeds them."""
    texts = [[label.value, label.description, list(label.examples)] for label in labels.labels]
    payload = json.dumps([embedding_model, labels.property, texts], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def cases(labels: LabelSchema) -> list[Case]:
    """Every example of the label set held out in turn (at most MAX_EXAMPLES, labels taking turns)."""
    found: list[list[Case]] = []
    for index, label in enumerate(labels.labels):
        own = []
        for position, example in enumerate(label.examples):
            rest = replace(label, examples=label.examples[:position] + label.examples[position + 1 :])
            others = (*labels.labels[:index], rest, *labels.labels[index + 1 :])
            own.append(Case(example, label.value, replace(labels, labels=others)))
        found.append(own)
    interleaved = [c for round_ in _rounds(found) for c in round_]
    return interleaved[:MAX_EXAMPLES]


def _rounds(per_label: list[list[Case]]) -> list[list[Case]]:
    longest = max((len(c) for c in per_label), default=0)
    return [[c[i] for c in per_label if i < len(c)] for i in range(longest)]


def json_schema(labels: LabelSchema) -> dict[str, Any]:
    """The JSON schema that asks for one of the labels, as the request that carried them did."""
    choice = {"enum": [label.value for label in labels.labels]}
    if labels.property is None:
        return choice
    return {"type": "object", "properties": {labels.property: choice}, "required": [labels.property]}


def value_of(answer: str, labels: LabelSchema) -> str | None:
    """The label a model's JSON answer names, or None when it names none."""
    try:
        data = json.loads(answer.strip().strip("`").removeprefix("json").strip())
    except ValueError:
        return None
    value = data.get(labels.property) if labels.property and isinstance(data, dict) else data
    return value if isinstance(value, str) else None


class LabelTrials:
    """Stored measurements, and the background measurements still running."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], threading.Thread] = {}
        self._failed: dict[tuple[str, str], tuple[float, float]] = {}  # not before; the pause before that

    def outcomes(self, tenant_id: str, key: str, model_ids: Sequence[str]) -> dict[str, Outcome]:
        """The stored measurements of these models on the label set."""
        if not model_ids:
            return {}
        with self.db.session(tenant_id, read_only=True) as session:
            rows = session.scalars(
                select(LabelTrial).where(LabelTrial.labels_key == key, LabelTrial.model_id.in_(model_ids))
            ).all()
            return {row.model_id: _outcome(row) for row in rows}

    def store(self, tenant_id: str, key: str, outcome: Outcome) -> None:
        """Keep a measurement (replacing an earlier one of the same model and label set)."""
        with self.db.session(tenant_id) as session:
            row = session.scalars(
                select(LabelTrial).where(
                    LabelTrial.labels_key == key, LabelTrial.model_id == outcome.model_id
                )
            ).first()
            if row is None:
                row = LabelTrial(labels_key=key, model_id=outcome.model_id)
                session.add(row)
            row.total, row.tier0_correct, row.model_correct = (
                outcome.total,
                outcome.tier0_correct,
                outcome.model_correct,
            )
            row.unsure, row.tier0_unsure_correct, row.model_unsure_correct = (
                outcome.unsure,
                outcome.tier0_unsure_correct,
                outcome.model_unsure_correct,
            )
            row.model_only, row.tier0_only = outcome.model_only, outcome.tier0_only
            row.measured_at = utcnow()

    def start(self, tenant_id: str, key: str, work: Callable[[], None]) -> bool:
        """Run a measurement in the background unless one of this label set is already running, or the last
        one failed and its pause is not over."""
        with self._lock:
            running = self._running.get((tenant_id, key))
            if running is not None and running.is_alive():
                return False
            failed = self._failed.get((tenant_id, key))
            if failed is not None and self._clock() < failed[0]:
                return False
            thread = threading.Thread(
                target=self._guarded, args=((tenant_id, key), work), name="label-trial", daemon=True
            )
            self._running[(tenant_id, key)] = thread
        thread.start()
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait for the running measurements (tests, shutdown); False if some are still running."""
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)

    def _guarded(self, which: tuple[str, str], work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:  # a failed measurement leaves the label set unmeasured: tier 0 keeps its labels
            with self._lock:
                last = self._failed.get(which)
                pause = min(last[1] * 2, MAX_RETRY_AFTER_S) if last else RETRY_AFTER_S
                self._failed[which] = (self._clock() + pause, pause)
            logger.exception("measuring a label set failed; tried again in %.0f s at the earliest", pause)
        else:
            with self._lock:
                self._failed.pop(which, None)


def _outcome(row: LabelTrial) -> Outcome:
    return Outcome(
        row.model_id,
        row.total,
        row.tier0_correct,
        row.model_correct,
        row.unsure,
        row.tier0_unsure_correct,
        row.model_unsure_correct,
        row.model_only,
        row.tier0_only,
    )
