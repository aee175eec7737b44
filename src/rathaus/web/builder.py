"""The no-code assistant builder: a form with a live test chat beside it and a YAML tab on the same document.

The page works as a plain HTML form (saved on the server, errors shown at their fields); its script
adds the YAML tab (converted and checked here, errors at their line) and the test chat with the
unsaved document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from rathaus.api.deps import ServicesDep
from rathaus.api.errors import ApiError
from rathaus.assistants import form as assistant_form
from rathaus.assistants import references, registry
from rathaus.assistants.runtime import prepare_for
from rathaus.assistants.spec import AssistantSpec, Creativity, TaskType, Visibility
from rathaus.assistants.templates import templates
from rathaus.formats.documents import DocumentError, Problem, parse, problems_from
from rathaus.identity.directory import Conflict
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message
from rathaus.llm.catalogue import DataClass
from rathaus.services import Services
from rathaus.web.chat import CSRF_HEADER, answer_events, event_stream
from rathaus.web.formatting import count_text
from rathaus.web.forms import CheckedForm
from rathaus.web.pages import PagePrincipal, page_translator, render

router = APIRouter(include_in_schema=False)
NEW_DEFAULTS: dict[str, Any] = {
    "apiVersion": "rathaus/v1",
    "kind": "Assistant",
    "metadata": {"name": "", "title": "", "description": ""},
    "spec": {
        "instructions": "",
        "task": "chat",
        "model": {"mode": "auto"},
        "creativity": "low",
        "output": {"format": "markdown"},
        "visibility": "tenant",
        "data_class": "intern",
    },
}


class FormBody(BaseModel):
    """The builder's form fields (and hidden document) as the script sends them."""

    model_config = ConfigDict(extra="forbid")

    form: dict[str, str] = Field(max_length=40)


class YamlBody(BaseModel):
    """The YAML tab's text."""

    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(max_length=200_000)


class PreviewMessage(BaseModel):
    """One message of the test chat (kept in the browser only)."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(pattern="^(user|assistant)$")
    content: str = Field(min_length=1, max_length=20_000)


class PreviewBody(FormBody):
    """The unsaved document and the test conversation so far."""

    messages: list[PreviewMessage] = Field(min_length=1, max_length=40)


def _require_builder(principal: Principal) -> None:
    if not principal.has_role(Role.builder):
        raise ApiError(403, "Building assistants needs the role 'builder'.", "forbidden")


def _require_script(csrf: str | None) -> None:
    if csrf != "1":
        raise ApiError(403, "Missing X-Rathaus-CSRF header.", "csrf")


DETAIL_PREFIXES = (
    "not valid YAML: ",
    "not valid JSON: ",
    "template does not parse: ",
    "expression does not parse: ",
)


def explain(problem: Problem, t: Callable[..., str]) -> str:
    """The problem in the interface language, where there is a translation for its kind."""
    key = f"problem.{problem.code}"
    if not problem.code or t(key) == key:
        return problem.message
    detail = problem.message
    for prefix in (
        "not valid YAML: ",
        "not valid JSON: ",
        "template does not parse: ",
        "expression does not parse: ",
    ):
        detail = detail.removeprefix(prefix)
    limit = problem.limit.replace(" or ", f" {t('problem.or')} ")
    return t(key, limit=limit, message=detail)


def _problem_json(problem: Problem, t: Callable[..., str]) -> dict[str, Any]:
    return {**problem.__dict__, "field": assistant_form.field_of(problem), "text": explain(problem, t)}


def _document_of(form: dict[str, str] | FormData) -> tuple[dict[str, Any], list[Problem]]:
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if isinstance(form, FormData) and "knowledge" in form:  # one checkbox per collection
        values["knowledge"] = "\n".join(v for v in form.getlist("knowledge") if isinstance(v, str))
    base = assistant_form.base_document(values.get("document"))
    return assistant_form.document_from_form(values, base)


def _knowledge_choices(
    services: Services, principal: Principal, chosen: list[str], t: Callable[..., str]
) -> list[dict[str, Any]]:
    """The picker's entries: every collection the person may use, then names in the document that are
    none of them (shown ticked, to be taken off; saving refuses them)."""
    with services.db.session(principal.tenant_id, read_only=True) as session:
        offered = references.choices(session, principal, services.catalogue)
    entries = []
    for choice in offered:
        checked = choice.name in chosen
        notes = [
            t("builder.knowledge.facts", name=choice.name, data_class=t(f"data_class.{choice.data_class}")),
            t("builder.knowledge.documents.none")
            if choice.ready_documents == 0
            else count_text(t, "builder.knowledge.documents", choice.ready_documents),
        ]
        if not choice.usable:
            notes.append(t("builder.knowledge.no_model", data_class=t(f"data_class.{choice.data_class}")))
        entries.append(
            {
                "name": choice.name,
                "label": choice.title,
                "hint": " · ".join(notes),
                "checked": checked,
                "disabled": not choice.usable and not checked,  # a ticked one stays, to be taken off
                "warning": not choice.usable or choice.ready_documents == 0,
            }
        )
    known = {c.name for c in offered}
    for name in dict.fromkeys(n for n in chosen if n not in known):
        entries.append(
            {
                "name": name,
                "label": name,
                "hint": t("builder.knowledge.unknown"),
                "checked": True,
                "disabled": False,
                "warning": True,
            }
        )
    return entries


def _page(
    request: Request,
    services: Services,
    principal: Principal,
    document: dict[str, Any],
    *,
    name: str | None,
    problems: list[Problem] | None = None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    t = page_translator(request)
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems or []:
        field = assistant_form.field_of(problem)
        if field is None:
            general.append(f"{problem.path or t('builder.document')}: {explain(problem, t)}")
        else:
            errors.setdefault(field, []).append(explain(problem, t))
    profiles = [p for p in services.catalogue.profiles() if p.can("chat")]
    body = document.get("spec")
    chosen = body.get("knowledge") if isinstance(body, dict) else None
    chosen_names = [str(n) for n in chosen] if isinstance(chosen, list) else []

    def options(group: str, values: tuple[str, ...]) -> list[tuple[str, str]]:
        return [(v, t(f"{group}.{v}")) for v in values]

    return render(
        request,
        "builder.html",
        status,
        name=name,
        values=assistant_form.form_from_document(document),
        document_json=json.dumps(document, ensure_ascii=False),
        errors=errors,
        general_errors=general,
        tasks=options("task", get_args(TaskType)),
        creativities=options("creativity", get_args(Creativity)),
        formats=options("format", ("text", "markdown", "json")),
        modes=options("mode", ("auto", "tier", "profile")),
        tier_options=[("", "—"), *((str(n), t("tier", n=n)) for n in sorted({p.tier for p in profiles}))],
        profile_options=[("", "—"), *((p.id, f"{p.title or p.id} ({p.id})") for p in profiles)],
        visibilities=options("assistants.visibility", get_args(Visibility)),
        data_classes=options("data_class", get_args(DataClass)),
        templates=[{"name": n, "title": s.metadata.title} for n, s in templates().items()],
        knowledge=_knowledge_choices(services, principal, chosen_names, t),
        **extra,
    )


def _versions(services: Services, principal: Principal, name: str) -> list[dict[str, Any]]:
    with services.db.session(principal.tenant_id) as session:
        return [
            {"version": v.version, "created_at": v.created_at}
            for v in registry.versions(session, principal, name)
        ]


@router.get("/assistants/new")
def new_page(
    request: Request, principal: PagePrincipal, services: ServicesDep, template: str = ""
) -> HTMLResponse:
    """A new assistant, empty or from a shipped template."""
    _require_builder(principal)
    shipped = templates().get(template)
    document = (
        shipped.model_dump(mode="json", by_alias=True) if shipped else json.loads(json.dumps(NEW_DEFAULTS))
    )
    return _page(
        request, services, principal, document, name=None, chosen_template=template if shipped else ""
    )


@router.get("/assistants/{name}/edit")
def edit_page(
    name: str, request: Request, principal: PagePrincipal, services: ServicesDep, saved: int | None = None
) -> HTMLResponse:
    """Change an assistant; every save is a new version."""
    _require_builder(principal)
    with services.db.session(principal.tenant_id) as session:
        document = registry.load(session, principal, name).spec.model_dump(mode="json", by_alias=True)
    return _page(
        request,
        services,
        principal,
        document,
        name=name,
        saved=saved,
        versions=_versions(services, principal, name),
    )


def _save(
    services: Services, principal: Principal, document: dict[str, Any], name: str | None, t: Any
) -> tuple[registry.Saved | None, list[Problem]]:
    spec, problems = assistant_form.check(document)
    if spec is None:
        return None, problems
    with services.db.session(principal.tenant_id) as session:
        if name is None and session.scalars(registry.exists_statement(spec.metadata.name)).first():
            return None, [Problem("metadata.name", t("builder.name_taken"))]
        try:
            return registry.save(session, principal, spec, services.catalogue), []
        except Conflict:
            return None, [Problem("metadata.name", t("builder.name_taken"))]
        except DocumentError as exc:  # a model choice that may not see the assistant's data
            return None, exc.problems


async def _submit(
    request: Request, services: Services, principal: Principal, form: FormData, name: str | None
) -> Response:
    _require_builder(principal)
    document, problems = _document_of(form)
    if name is not None:
        document.setdefault("metadata", {})["name"] = name  # the name is the assistant's identity
    t = page_translator(request)
    saved = None
    if not problems:
        saved, problems = await run_in_threadpool(_save, services, principal, document, name, t)
    if saved is None:
        versions = _versions(services, principal, name) if name else []
        return _page(
            request,
            services,
            principal,
            document,
            name=name,
            problems=problems,
            status=422,
            versions=versions,
        )
    return RedirectResponse(f"/assistants/{saved.assistant.name}/edit?saved={saved.version}", status_code=303)


@router.post("/assistants/new", response_model=None)
async def create(
    request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Save a new assistant as version 1."""
    return await _submit(request, services, principal, form, None)


@router.post("/assistants/{name}/edit", response_model=None)
async def update(
    name: str, request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Save the form as the assistant's next version."""
    return await _submit(request, services, principal, form, name)


@router.post("/builder/yaml")
def form_to_yaml(
    body: FormBody,
    request: Request,
    principal: PagePrincipal,
    csrf: Annotated[str | None, Header(alias=CSRF_HEADER)] = None,
) -> dict[str, Any]:
    """The form's document as YAML, for the YAML tab (unfinished documents too)."""
    _require_script(csrf)
    _require_builder(principal)
    document, problems = _document_of(body.form)
    t = page_translator(request)
    return {"yaml": assistant_form.to_yaml(document), "problems": [_problem_json(p, t) for p in problems]}


def _at_line(problem: Problem, positions: dict[tuple[str | int, ...], Any]) -> Problem:
    path = tuple(int(p) if p.isdigit() else p for p in problem.path.split("."))
    mark = positions.get(path)
    if mark is None:
        return problem
    return replace(problem, line=mark.line + 1, column=mark.column + 1)


@router.post("/builder/check")
def check_yaml(
    body: YamlBody,
    request: Request,
    principal: PagePrincipal,
    services: ServicesDep,
    csrf: Annotated[str | None, Header(alias=CSRF_HEADER)] = None,
) -> dict[str, Any]:
    """Check the YAML tab's text: every problem with its line, and the form fields it fills."""
    _require_script(csrf)
    _require_builder(principal)
    t = page_translator(request)
    try:
        data, positions = parse(body.yaml)
    except DocumentError as exc:
        return {"valid": False, "problems": [_problem_json(p, t) for p in exc.problems], "form": None}
    if not isinstance(data, dict):
        problem = Problem(
            "", "the document must be a mapping (apiVersion, kind, metadata, spec)", 1, 1, "not_mapping"
        )
        return {"valid": False, "problems": [_problem_json(problem, t)], "form": None}
    problems: list[Problem] = []
    try:
        spec = AssistantSpec.model_validate(data)
    except ValidationError as exc:
        problems = problems_from(exc, positions)
    else:  # the same reference check as saving, each problem at its line
        with services.db.session(principal.tenant_id, read_only=True) as session:
            unresolved = references.problems(session, principal, services.catalogue, spec)
        problems = [_at_line(p, positions) for p in unresolved]
    return {
        "valid": not problems,
        "problems": [_problem_json(p, t) for p in problems],
        "form": assistant_form.form_from_document(data),
        "document": json.dumps(data, ensure_ascii=False, default=str),
    }


def _reference_problems(services: Services, principal: Principal, spec: AssistantSpec) -> list[Problem]:
    """What saving would refuse in the document's references (on a worker thread: it reads the database)."""
    with services.db.session(principal.tenant_id, read_only=True) as session:
        return references.problems(session, principal, services.catalogue, spec)


@router.post("/builder/preview")
async def preview(
    body: PreviewBody,
    request: Request,
    principal: PagePrincipal,
    services: ServicesDep,
    csrf: Annotated[str | None, Header(alias=CSRF_HEADER)] = None,
) -> Response:
    """Chat with the unsaved document; nothing is stored except the request record."""
    _require_script(csrf)
    _require_builder(principal)
    document, problems = _document_of(body.form)
    spec, more = assistant_form.check(document)
    t = page_translator(request)
    if spec is not None and not problems:  # the test answers from the same collections saving accepts
        more = await run_in_threadpool(_reference_problems, services, principal, spec)
    if spec is None or problems or more:
        return JSONResponse(
            {
                "detail": t("builder.preview.incomplete"),
                "problems": [_problem_json(p, t) for p in problems + more],
            },
            status_code=422,
        )
    conversation = ChatRequest(messages=[Message(role=m.role, content=m.content) for m in body.messages])
    prepared = await run_in_threadpool(prepare_for, services, principal, spec, conversation)
    stream = prepared.stream(services, principal, "web.preview")
    meta = {"model": prepared.profile.id}
    return event_stream(
        answer_events(stream, meta, spec.spec.task, t, None, prepared.grounded, None, prepared.evidence)
    )
