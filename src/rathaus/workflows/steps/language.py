"""Steps that use a language model or the knowledge base: classify, extract, summarize, simplify, translate,
draft, ask an assistant, retrieve.

Every model call goes through the router (`model: auto`, the default) with the workflow's data class, so
a step of a workflow carrying personal data never reaches a model that is not cleared for it, and its
route, energy and cost are recorded like any other request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rathaus.accounting.budgets import BudgetExhausted
from rathaus.llm.backend import ChatRequest, Message, TextChunk
from rathaus.routing.checks import schema_problem
from rathaus.routing.clearance import Part, highest
from rathaus.routing.gateway import UnsupportedRequest
from rathaus.routing.route import Reason
from rathaus.routing.router import NoEligibleModel, NotCleared, need_of
from rathaus.text import leichte_sprache, restructure
from rathaus.workflows.labels import examples
from rathaus.workflows.steps import Missing, Setup, StepContext, StepFailed, StepType, fixed

ENDPOINT = "workflow.step"
MAX_TEXT = 100_000


class ModelSettings(BaseModel):
    """Settings every model step has."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(default="auto", max_length=100, description="`auto` (the router) or a model id.")


class TextSettings(ModelSettings):
    """A text to work on."""

    text: str = Field(min_length=1, max_length=MAX_TEXT)


def ask_model(
    context: StepContext,
    system: str,
    text: str,
    task: str,
    model: str = "auto",
    schema: dict[str, Any] | None = None,
    max_tokens: int = 800,
    also: Part | None = None,
) -> str:
    """The model's answer to one request, routed; the route is kept for the step's record. `also`: a
    further part of what the request carries, beyond the step's exposure."""
    response_format = (
        {"type": "json_schema", "json_schema": {"name": task, "schema": schema}} if schema else None
    )
    request = ChatRequest(
        messages=[Message(role="system", content=system), Message(role="user", content=text)],
        temperature=0.1,
        max_tokens=max_tokens,
        response_format=response_format,
    )
    routing = context.services.routing
    exposure = context.exposure.plus(also) if also is not None else context.exposure
    need = need_of(request, exposure, None if task in ("classify", "extract") else task)
    try:
        route = (
            routing.plan(need) if model == "auto" else routing.router.pinned(need, [model], Reason("named"))
        )
    except NotCleared as exc:
        rejected = exc.rejected[0]
        raise StepFailed(
            f"the model '{rejected.model}' may not take this step: {rejected.reason.text}",
            retry=False,
            code="model_not_cleared",
            model=rejected.model,
        ) from None
    except (NoEligibleModel, UnsupportedRequest) as exc:
        raise StepFailed(str(exc), retry=False, code="no_model") from None
    context.routes.append(route)
    stream = routing.run(context.principal, route, request, ENDPOINT, need.labels)
    try:
        return "".join(item.text for item in stream if isinstance(item, TextChunk)).strip()
    except BudgetExhausted as exc:  # trying again this month cannot help; a retry after raising it can
        raise StepFailed(str(exc), retry=False, code="budget") from None


def parse_json(text: str, schema: dict[str, Any]) -> Any:
    """The model's JSON answer, checked against the schema (a failure is worth another attempt)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    problem = schema_problem(body, schema)
    if problem is not None:
        raise StepFailed(f"the model's answer does not follow the schema: {problem}", code="schema")
    return json.loads(body)


class Label(BaseModel):
    """One possible answer of a classification."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    examples: list[str] = Field(default_factory=list, max_length=20)


class ClassifySettings(TextSettings):
    """Sort a text into one of the labels."""

    labels: list[Label] = Field(min_length=2, max_length=50)
    instructions: str = Field(default="Ordne den Text genau einer Kategorie zu.", max_length=2000)


class Classify(StepType):
    """Sort a text into one label; tier 0 (the embedding classifier) first when it is sure."""

    name = "classify"
    outputs = ("label",)
    settings = ClassifySettings
    category = "model"

    def run(self, context: StepContext, settings: ClassifySettings) -> dict[str, Any]:
        """The label as `{label, unsure}`: `unsure` when tier 0 was unsure and no language model measured
        better on these labels took over (a later step can send such cases to a person). Texts staff
        corrected to a label at an approval count as its examples (workflows/labels.py)."""
        with context.services.db.session(context.principal.tenant_id, read_only=True) as session:
            corrected = examples(session, context.run_id, context.step_id)
        choices = [
            {
                "const": label.value,
                "description": label.description,
                "examples": label.examples
                + [t for t in corrected.texts.get(label.value, []) if t not in label.examples],
            }
            for label in settings.labels
        ]
        schema = {
            "type": "object",
            "properties": {"label": {"oneOf": choices}},
            "required": ["label"],
        }
        also = corrected.part(context.step_id)
        answer = ask_model(
            context, settings.instructions, settings.text, "classify", settings.model, schema, 60, also
        )
        value = parse_json(answer, schema)
        unsure = bool(context.routes) and context.routes[-1].reason.code == "unsure_kept"
        return {"label": value["label"], "unsure": unsure}


class ExtractSettings(TextSettings):
    """Fields to read from a text, as a JSON Schema."""

    schema_: dict[str, Any] = Field(alias="schema")
    instructions: str = Field(
        default="Extrahiere die Angaben aus dem Text als JSON nach dem Schema. "
        "Fehlt eine Angabe, setze null.",
        max_length=2000,
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Extract(StepType):
    """Read fields from a text as JSON following a schema; escalates when the answer does not fit."""

    name = "extract"
    settings = ExtractSettings
    category = "model"

    def output_values(self, settings: dict[str, Any]) -> list[tuple[str, str]]:
        """Each property of the schema, named by its title or description (or its key)."""
        schema = settings.get("schema")
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(properties, dict):
            return []
        found = []
        for key, prop in properties.items():
            described = prop if isinstance(prop, dict) else {}
            name = described.get("title") or described.get("description") or str(key)
            found.append((str(key), str(name)))
        return found

    def run(self, context: StepContext, settings: ExtractSettings) -> Any:
        """The object the schema describes."""
        answer = ask_model(
            context, settings.instructions, settings.text, "extract", settings.model, settings.schema_, 600
        )
        return parse_json(answer, settings.schema_)


class SummarizeSettings(TextSettings):
    """How long the summary may be."""

    max_words: int = Field(default=120, ge=10, le=2000)


class Summarize(StepType):
    """Summarise a text, keeping decisions, amounts, dates and places."""

    name = "summarize"
    outputs = ("text",)
    settings = SummarizeSettings
    category = "model"

    def run(self, context: StepContext, settings: SummarizeSettings) -> dict[str, Any]:
        """The summary as `{text}`."""
        system = (
            f"Fasse den Text sachlich zusammen, in höchstens {settings.max_words} Wörtern. "
            "Behalte Beschlüsse, Beträge, Daten und Orte."
        )
        text = ask_model(
            context, system, settings.text, "summarize", settings.model, None, settings.max_words * 3
        )
        return {"text": text}


class SimplifySettings(TextSettings):
    """How the text addresses its readers."""

    address: Literal["sie", "du"] = Field(
        default="sie", description="Address the readers with 'Sie' (formal) or 'du' (informal) throughout."
    )


class Simplify(StepType):
    """Rewrite a text in Leichte Sprache (checked against its rules; escalated when they do not hold)."""

    name = "simplify"
    outputs = ("text",)
    settings = SimplifySettings
    category = "model"

    def run(self, context: StepContext, settings: SimplifySettings) -> dict[str, Any]:
        """The text in Leichte Sprache as `{text}`."""
        system = leichte_sprache.instructions(settings.address)
        written = ask_model(context, system, settings.text, "simplify", settings.model)
        return {"text": restructure.tidy(written, settings.text)}


class TranslateSettings(TextSettings):
    """The language to translate into."""

    language: str = Field(default="Englisch", min_length=2, max_length=50)


class Translate(StepType):
    """Translate a text."""

    name = "translate"
    outputs = ("text",)
    settings = TranslateSettings
    category = "model"

    def run(self, context: StepContext, settings: TranslateSettings) -> dict[str, Any]:
        """The translation as `{text}`."""
        system = (
            f"Übersetze den Text ins {settings.language}. Antworte nur mit der Übersetzung. "
            "Behalte Namen, Beträge und Daten."
        )
        return {"text": ask_model(context, system, settings.text, "translate", settings.model)}


class DraftSettings(ModelSettings):
    """What to write: the instructions and the facts it builds on (templates fill them in)."""

    instructions: str = Field(min_length=1, max_length=20_000)
    facts: str = Field(default="", max_length=MAX_TEXT)
    max_words: int = Field(default=250, ge=10, le=2000)


class Draft(StepType):
    """Write a draft (a reply, a note) from instructions and facts."""

    name = "draft"
    outputs = ("text",)
    settings = DraftSettings
    category = "model"

    def run(self, context: StepContext, settings: DraftSettings) -> dict[str, Any]:
        """The draft as `{text}`."""
        system = (
            f"{settings.instructions.strip()}\n\nSchreibe höflich, klar und in höchstens "
            f"{settings.max_words} Wörtern. Erfinde keine Fakten."
        )
        text = ask_model(
            context, system, settings.facts or "-", "draft", settings.model, None, settings.max_words * 3
        )
        return {"text": text}


def _unknown(code: str, value: Any, setup: Setup, find: Callable[[Any, Any, str], object]) -> list[Missing]:
    """The named thing as missing when `find` (session, principal, name) does not find it for the person;
    nothing for a name filled in at run time."""
    from rathaus.store.tenancy import NotFound

    name = fixed(value)
    if name is None:
        return []
    try:
        find(setup.session, setup.principal, name)
    except NotFound:
        return [Missing(code, name)]
    return []


class AskSettings(BaseModel):
    """Which assistant, and the question."""

    model_config = ConfigDict(extra="forbid")

    assistant: str = Field(min_length=1, max_length=63)
    question: str = Field(min_length=1, max_length=MAX_TEXT)


class Ask(StepType):
    """Ask one of the tenant's assistants (with its knowledge and its model policy)."""

    name = "ask"
    outputs = ("text",)
    settings = AskSettings
    category = "model"

    def missing(self, settings: dict[str, Any], setup: Setup) -> list[Missing]:
        """An assistant that does not exist or that the person may not use."""
        from rathaus.assistants import registry

        return _unknown("assistant", settings.get("assistant"), setup, registry.find)

    def run(self, context: StepContext, settings: AskSettings) -> dict[str, Any]:
        """The answer as `{text, sources}`."""
        from rathaus.assistants.runtime import prepare_chat
        from rathaus.store.tenancy import NotFound

        request = ChatRequest(messages=[Message(role="user", content=settings.question)])
        services, principal = context.services, context.principal
        try:
            prepared = prepare_chat(services, principal, settings.assistant, request, context.exposure)
        except NotFound:
            raise StepFailed(
                f"there is no assistant '{settings.assistant}'",
                retry=False,
                code="no_assistant",
                name=settings.assistant,
            ) from None
        except NotCleared as exc:
            raise StepFailed(str(exc), retry=False, code="no_model") from None
        if prepared.route is not None:
            context.routes.append(prepared.route)
        stream = prepared.stream(services, principal, ENDPOINT)
        text = "".join(item.text for item in stream if isinstance(item, TextChunk)).strip()
        carried = prepared.route.data_class if prepared.route is not None else context.data_class
        sources = [s.as_json() for s in prepared.sources]
        return {"text": text, "sources": sources, "data_class": carried or context.data_class}


class RetrieveSettings(BaseModel):
    """Where to search and for what."""

    model_config = ConfigDict(extra="forbid")

    collection: str = Field(min_length=1, max_length=63)
    query: str = Field(min_length=1, max_length=2000)
    limit: int = Field(default=5, ge=1, le=20)


class Retrieve(StepType):
    """Find the passages of a knowledge collection that match a query."""

    name = "retrieve"
    settings = RetrieveSettings
    category = "model"

    def missing(self, settings: dict[str, Any], setup: Setup) -> list[Missing]:
        """A collection that does not exist or that the person may not use."""
        from rathaus.knowledge import collections

        return _unknown("collection", settings.get("collection"), setup, collections.find)

    def run(self, context: StepContext, settings: RetrieveSettings) -> dict[str, Any]:
        """The passages as `{passages: [{text, title, page, score}]}`."""
        from rathaus.knowledge.collections import exposure
        from rathaus.store.tenancy import NotFound

        services, principal = context.services, context.principal
        try:
            hits = services.knowledge.search(principal, [settings.collection], settings.query, settings.limit)
        except NotFound:
            raise StepFailed(
                f"there is no collection '{settings.collection}'",
                retry=False,
                code="no_collection",
                name=settings.collection,
            ) from None
        passages = [
            {"text": hit.text, "title": hit.document_title, "page": hit.page, "score": round(hit.score, 4)}
            for hit in hits
        ]
        with services.db.session(principal.tenant_id) as session:
            carried = highest(p.data_class for p in exposure(session, [settings.collection]))
        return {"passages": passages, "data_class": carried}


MODEL_STEPS: tuple[type[StepType], ...] = (
    Classify,
    Extract,
    Summarize,
    Simplify,
    Translate,
    Draft,
    Ask,
    Retrieve,
)
