"""Workflow pages: the workflows and templates, starting a run (or a test run), the run history with every
step's input, output, time and energy, and the staff inbox of approvals."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from rathaus.api.deps import ServicesDep
from rathaus.api.knowledge_api import read_uploads
from rathaus.assistants import registry as assistant_registry
from rathaus.formats.documents import DocumentError, dump_data, parse
from rathaus.identity.models import Role, Tenant
from rathaus.identity.visibility import Forbidden
from rathaus.knowledge import collections
from rathaus.store.tenancy import get_or_404
from rathaus.web import input_form, run_view
from rathaus.web.builder import explain
from rathaus.web.forms import CheckedForm
from rathaus.web.pages import PagePrincipal, page_messages, page_translator, render
from rathaus.web.run_errors import error_text
from rathaus.web.step_texts import setting_text, value_text
from rathaus.workflows import approvals, conditions, editing, labels, readiness, registry, runs
from rathaus.workflows.engine import InputInvalid, plan
from rathaus.workflows.inbox import is_set_up
from rathaus.workflows.models import RUN_FINISHED, RUN_OPEN, Workflow, WorkflowRun
from rathaus.workflows.references import References
from rathaus.workflows.spec import dump_workflow, load_workflow, walk
from rathaus.workflows.steps import step_types
from rathaus.workflows.tables import rows_from_form, table_of
from rathaus.workflows.templates import templates
from rathaus.workflows.uploads import FileRefused, input_from_file

router = APIRouter(include_in_schema=False)
MAX_INPUT_CHARS = 100_000


def _steps(request: Request, spec: Any) -> list[dict[str, Any]]:
    """The steps in run order with their branch depth and the conditions they wait on, in words."""
    t = page_translator(request)
    refs = _references(request, spec.model_dump(mode="json", by_alias=True))
    planned = plan(spec)
    said: dict[str, str] = {}
    for p in planned:
        if p.step.type == "condition":
            found = conditions.comparison(str(p.step.settings.get("when", "")))
            said[p.step.id] = (
                f"{refs.name_of(found.left)} {t(f'condition.{found.operator}')} {found.right}".strip()
                if found
                else p.step.title or p.step.id
            )
    return [
        {
            "id": p.step.id,
            "type": p.step.type,
            "title": p.step.title,
            "depth": len(p.guards),
            "guards": [(said.get(condition, condition), branch) for condition, branch in p.guards],
        }
        for p in planned
    ]


@router.get("/workflows")
def workflows_page(request: Request, principal: PagePrincipal, services: ServicesDep) -> HTMLResponse:
    """The tenant's workflows; builders take over a template here."""
    with services.db.session(principal.tenant_id) as session:
        rows = [{"name": w.name, "title": w.title, "trigger": w.trigger} for w in registry.listing(session)]
    shipped = [
        {"name": n, "title": s.metadata.title, "description": s.metadata.description}
        for n, s in templates().items()
    ]
    return render(request, "workflows.html", workflows=rows, templates=shipped)


@router.post("/workflows/templates/{name}", response_model=None)
def take_template(name: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm) -> Response:
    """Save a shipped template as the tenant's workflow (a new version if it exists)."""
    spec = templates().get(name)
    if spec is None:
        return RedirectResponse("/workflows", status_code=303)
    with services.db.session(principal.tenant_id) as session:
        registry.save(session, principal, spec, services.catalogue)
    return RedirectResponse(f"/workflows/{quote(name)}?saved=1", status_code=303)


def _workflow_page(
    request: Request, services: Any, principal: Any, name: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    t = page_translator(request)
    with services.db.session(principal.tenant_id) as session:
        saved = registry.load(session, name)
        recent = runs.listing(session, name, None, 10)
        gaps = readiness.gaps(services, session, principal, saved.spec)
        schema = saved.spec.spec.input
        typed = extra.pop("typed", {})
        errors = extra.pop("field_errors", {})
        context = {
            "workflow": {"name": name, "title": saved.spec.metadata.title, "version": saved.version},
            "description": saved.spec.metadata.description,
            "trigger": saved.spec.spec.trigger.type,
            "mailbox": _mailbox(services, session, principal.tenant_id, saved.spec.spec.trigger.mailbox),
            "steps": _steps(request, saved.spec),
            "yaml": dump_workflow(saved.spec),
            "runs": [_run_row(r, n) for r, n in recent],
            "input_fields": [
                (f, typed.get(f.name, ""), errors.get(f.name)) for f in input_form.fields(schema)
            ],
            "gaps": gap_texts(gaps, t),
            "gap_steps": {g.step_id for g in gaps},
            "test_skips": _test_skips(saved.spec, t),
        }
    return render(request, "workflow.html", status, **context, **extra)


def gap_texts(gaps: list[readiness.Gap], t: Any) -> list[dict[str, str]]:
    """Each gap as its step's title and what is missing, in the page's language."""
    return [
        {
            "step": g.step_id,
            "title": g.title,
            "text": t(f"workflows.missing.{g.missing.code}", subject=g.missing.subject),
        }
        for g in gaps
    ]


def _test_skips(spec: Any, t: Any) -> list[str]:
    """What a test run of the workflow does not do: send (each sending step), ask a person (approvals)."""
    kinds = step_types()
    skips = []
    for planned in plan(spec):
        step = planned.step
        title = step.title or step.id
        if step.type == "approval":
            skips.append(t("workflows.test.skip_approval", step=title))
        elif step.type in kinds and kinds[step.type].side_effect:
            skips.append(t("workflows.test.skip_sending", step=title))
    return skips


def _mailbox(services: Any, session: Any, tenant_id: str, name: str | None) -> dict[str, Any] | None:
    """The inbox trigger's mailbox and whether IT has set it up."""
    if name is None:
        return None
    tenant = session.get(Tenant, tenant_id)
    return {"name": name, "ready": is_set_up(services.settings, tenant.slug, name)}


def _run_row(run: WorkflowRun, name: str, t: Any = None) -> dict[str, Any]:
    return {
        "id": run.id,
        "workflow": name,
        "status": run.status,
        "test": run.test,
        "trigger": run.trigger,
        "created_at": run.created_at,
        "wh": run.wh,
        "failed_step": run.failed_step,
        "error": run.error,
        "error_text": error_text(run.error_code, run.error_values, t) if t and run.error else None,
    }


NEW_WORKFLOW = """\
apiVersion: rathaus/v1
kind: Workflow
metadata:
  name: neuer-ablauf
  title: Neuer Ablauf
spec:
  input:
    type: object
    required: [text]
    properties:
      text: {type: string}
  steps:
    - id: zusammenfassung
      type: summarize
      with:
        text: "{{ input.text }}"
"""


def _require_builder(principal: Any) -> None:
    if not principal.has_role(Role.builder):
        raise Forbidden("building workflows needs the role 'builder'")


def _editor(
    request: Request,
    text: str,
    name: str | None,
    status: int = 200,
    selected: str | None = None,
    **extra: Any,
) -> HTMLResponse:
    """The editor: the steps as a list with their forms, and the same document as YAML."""
    try:
        data, _ = parse(text)
        steps = editing.steps_of(data)
    except (DocumentError, editing.EditError):
        steps = []
    step = None
    if selected:
        try:
            siblings, index = editing.locate(data, selected)
            step = siblings[index]
        except editing.EditError:
            selected = None
    fields = _setting_fields(request, step, _references(request, data)) if step else []
    metadata = data.get("metadata") if steps and isinstance(data, dict) else None
    extra.setdefault("title", metadata.get("title") if isinstance(metadata, dict) else None)
    t = page_translator(request)
    extra.setdefault("gaps", _editor_gaps(request, text, t))
    types = sorted(step_types(), key=lambda n: t(f"workflows.step.{n}").lower())
    extra.setdefault("branches", _branches(steps, t))
    return render(
        request,
        "workflow_edit.html",
        status,
        text=text,
        name=name,
        steps=steps,
        selected=step,
        fields=fields,
        step_types=types,
        **extra,
    )


def _branches(steps: list[Any], t: Any) -> list[tuple[str, str]]:
    """Where a new step can go besides the end: each condition's yes and otherwise branch."""
    found = []
    for step in editing.walk_data(steps):
        if step.get("type") == "condition":
            title = str(step.get("title") or step.get("id"))
            for branch in ("then", "else"):
                found.append((f"{step.get('id')}:{branch}", t(f"workflows.add_where.{branch}", step=title)))
    return found


def _editor_gaps(request: Request, text: str, t: Any) -> list[dict[str, str]]:
    """What the document's steps need and do not have here (none while the document is not valid)."""
    try:
        spec = load_workflow(text[:MAX_INPUT_CHARS])
    except DocumentError:
        return []
    services, principal = request.app.state.services, request.state.principal
    with services.db.session(principal.tenant_id, read_only=True) as session:
        return gap_texts(readiness.gaps(services, session, principal, spec), t)


def _references(request: Request, data: Any) -> References:
    """The document's values with their names in the page's language."""
    messages = page_messages(request)
    words = {"input": messages["value.input"], "result": messages["value.result"]}
    return References(data, lambda step_type, key: value_text(messages, step_type, key), words)


TEXT_KINDS = ("text", "textarea", "lines", "yaml", "rows")
EMPTY_ROWS = 2  # empty rows a table offers below its filled ones (more after taking the settings over)


def _condition(
    step_type: str, field: editing.SettingField, value: str, offered: list[Any], t: Any
) -> dict[str, Any] | None:
    """A condition's value, comparison and what it is compared with, as three fields; None for another
    setting, or for an expression written by hand (it stays a text field)."""
    if step_type != "condition" or field.name != "when":
        return None
    found = conditions.comparison(value) if value.strip() else conditions.Comparison("", "is")
    if found is None:
        return None
    values = [(r.expression, r.name) for r in offered]
    if found.left and found.left not in {v for v, _ in values}:
        values.append((found.left, found.left))
    operators = [(o, t(f"condition.{o}")) for o in conditions.OPERATORS]
    return {
        "left": found.left,
        "operator": found.operator,
        "right": found.right,
        "values": values,
        "operators": operators,
    }


def _is_pairs(step_type: str, field: editing.SettingField) -> bool:
    table = table_of(step_type, field.name)
    return table is not None and table.pairs


def _table(
    messages: dict[str, str], step_type: str, field: editing.SettingField, rows: list[Any], refs: References
) -> dict[str, Any]:
    """A table setting for the form: its columns with their names, and its rows (values of earlier steps
    by name) with empty ones to fill in."""
    table = table_of(step_type, field.name)
    assert table is not None
    columns = [
        {
            "name": c.name,
            "kind": c.kind,
            "label": messages.get(f"column.{step_type}.{field.name}.{c.name}")
            or messages.get(f"column.{c.name}", c.name),
            "choices": [(choice, messages.get(f"column.kind.{choice}", choice)) for choice in c.choices],
        }
        for c in table.columns
    ]
    shown = [{k: refs.readable(v) for k, v in row.items()} for row in rows]
    return {
        "columns": columns,
        "rows": shown + [{} for _ in range(EMPTY_ROWS)],
        "pairs": table.pairs,
    }  # settings that may hold values of other steps


def _setting_fields(request: Request, step: dict[str, Any], refs: References) -> list[dict[str, Any]]:
    """The selected step's settings as form fields: label and hint in the page's language, the current
    value with other steps' values by name («…»), the values it may insert, and for a choice its options
    with readable names (models, roles, assistants, collections)."""
    messages = page_messages(request)
    t = page_translator(request)
    step_type = str(step.get("type"))
    offered = refs.available(before=str(step.get("id")))
    found = []
    for field in editing.fields_of(step_type):
        value = editing.field_value(step, field)
        rows = editing.field_rows(step, field) if field.kind == "rows" else None
        if field.kind == "rows" and rows is None:
            field = replace(field, kind="yaml")  # a value its table cannot show: YAML
        options = _options(request, step_type, field, t)
        if options is not None and value and value not in {v for v, _ in options}:
            options.append((value, refs.readable(value)))  # filled in at run time, or no longer there
        condition = _condition(step_type, field, value, offered, t)
        textual = options is None and field.kind in TEXT_KINDS and condition is None
        found.append(
            {
                "field": field,
                "label": setting_text(messages, step_type, field.name) or field.name,
                "hint": t("condition.hint")
                if condition
                else setting_text(messages, step_type, field.name, "hint") or field.description,
                "value": refs.readable(value) if textual else value,
                "options": options,
                "used": refs.used(value) if textual else [],
                "offered": offered
                if textual and (field.kind != "rows" or _is_pairs(step_type, field))
                else [],
                "table": _table(messages, step_type, field, rows, refs) if rows is not None else None,
                "condition": condition,
            }
        )
    return found


def _options(
    request: Request, step_type: str, field: editing.SettingField, t: Any
) -> list[tuple[str, str]] | None:
    """The choices of a setting that has a known set of values, as (value, readable name)."""
    services = request.app.state.services
    principal = request.state.principal
    empty = [] if field.required else [("", "—")]
    if field.name == "model":
        chat = [(p.id, p.title or p.id) for p in services.catalogue.profiles() if p.can("chat")]
        return [("auto", t("step.model.auto")), *chat]
    if step_type == "approval" and field.name == "role":
        return [(c, t(f"role.{c}")) for c in field.choices]
    if step_type == "ask" and field.name == "assistant":
        with services.db.session(principal.tenant_id, read_only=True) as session:
            found = [(a.name, a.title or a.name) for a in assistant_registry.listing(session, principal)]
        return empty + found
    if step_type == "retrieve" and field.name == "collection":
        with services.db.session(principal.tenant_id, read_only=True) as session:
            found = [(c.name, c.title or c.name) for c in collections.listing(session, principal)]
        return empty + found
    if field.kind == "choice":
        named = {c: t(f"step.{step_type}.{field.name}.{c}") for c in field.choices}
        return empty + [(c, c if name.startswith("step.") else name) for c, name in named.items()]
    return None


def _when(form: Any) -> str:
    """The condition's expression from its three fields."""
    operator = str(form.get("c.operator") or "is")
    if operator not in conditions.OPERATORS:
        raise editing.EditError(f"unknown comparison '{operator}'", "operation")
    comparison = conditions.Comparison(
        str(form.get("c.left") or ""), operator, str(form.get("c.right") or "")
    )
    if not re.fullmatch(conditions.VALUE, comparison.left):  # one of the values offered, nothing else
        raise editing.EditError("the condition needs a value to compare", "condition_value")
    try:
        return comparison.expression()
    except conditions.NotANumber:
        raise editing.EditError("a comparison by size needs a number", "not_a_number") from None


def _type_of(data: Any, step_id: str) -> str:
    siblings, index = editing.locate(data, step_id)
    return str(siblings[index].get("type")) if isinstance(siblings[index], dict) else ""


def _apply(data: Any, op: str, form: Any, refs: References) -> str | None:
    """Apply one editor operation (`up:ID`, `down:ID`, `move:ID:N`, `remove:ID`, `select:ID`, `add`,
    `configure:ID`, `insert:ID:SETTING`); returns the step to show selected. Values of other steps come
    by name («…») and go into the document as templates."""
    action, _, rest = op.partition(":")
    step_id, _, target = rest.partition(":")
    if action in ("up", "down"):
        index = editing.locate(data, step_id)[1]
        editing.move(data, step_id, index + (-1 if action == "up" else 1))
        return step_id
    if action == "move":
        editing.move(data, step_id, int(target) if target.isascii() and target.isdigit() else 0)
        return step_id
    if action == "remove":
        editing.remove(data, step_id)
        return None
    if action == "add":  # at the end, or into a condition's branch ("<condition id>:then" or ":else")
        into, _, branch = str(form.get("where") or "").partition(":")
        return editing.add(data, str(form.get("new_type") or ""), into or None, branch or "then")
    if action in ("configure", "insert"):
        texts = {k[2:]: str(v) for k, v in form.items() if k.startswith("s.") and isinstance(v, str)}
        cells = {str(k): str(v) for k, v in form.items() if isinstance(v, str)}
        tables = {
            f.name: rows
            for f in editing.fields_of(_type_of(data, step_id))
            if f.kind == "rows" and (rows := rows_from_form(cells, f.name)) is not None
        }
        if "c.left" in form and "when" in {f.name for f in editing.fields_of(_type_of(data, step_id))}:
            texts["when"] = _when(form)
        token = str(form.get(f"ref.{target}") or "") if action == "insert" else ""
        if token and target in tables:  # a value of an earlier step as a new row, named after it
            tables[target].append({"key": token.strip("«»").split(": ", 1)[-1], "value": token})
        elif token:  # added at the end of the setting's text (a list's on a line of its own)
            kinds = {f.name: f.kind for f in editing.fields_of(_type_of(data, step_id))}
            joint = "\n" if kinds.get(target) == "lines" else " "
            texts[target] = f"{texts.get(target, '').rstrip()}{joint}{token}".strip()
        siblings, index = editing.locate(data, step_id)
        old = siblings[index].get("with") if isinstance(siblings[index].get("with"), dict) else {}
        values: dict[str, str | list[dict[str, str]]] = {
            key: refs.templated(text, str(old.get(key, ""))) for key, text in texts.items()
        }
        for key, rows in tables.items():
            values[key] = [{c: refs.templated(v, str(old.get(key, ""))) for c, v in r.items()} for r in rows]
        editing.configure(data, step_id, values, str(form.get("step_title") or ""))
        return step_id
    if action == "select":
        editing.locate(data, step_id)
        return step_id
    raise editing.EditError(f"unknown operation '{action}'", "operation")


@router.get("/workflows/new")
def new_workflow(request: Request, principal: PagePrincipal, template: str = "") -> HTMLResponse:
    """The document editor with a template, or a small start, for a new workflow."""
    _require_builder(principal)
    chosen = templates().get(template)
    return _editor(request, dump_workflow(chosen) if chosen else NEW_WORKFLOW, None)


@router.get("/workflows/{name}/edit")
def edit_workflow(
    request: Request, name: str, principal: PagePrincipal, services: ServicesDep
) -> HTMLResponse:
    """The workflow's current document in the editor."""
    _require_builder(principal)
    with services.db.session(principal.tenant_id) as session:
        saved = registry.load(session, name)
    return _editor(request, dump_workflow(saved.spec), name, version=saved.version)


@router.post("/workflows/new", response_model=None)
def create_workflow(
    request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Check the document and save it as a new workflow."""
    return _save(request, principal, services, form, None)


@router.post("/workflows/{name}/edit", response_model=None)
def save_workflow(
    request: Request, name: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Check the document and save it as the workflow's next version."""
    return _save(request, principal, services, form, name)


def _save(request: Request, principal: Any, services: Any, form: Any, name: str | None) -> Response:
    """Apply an editor operation and show the changed (unsaved) document; or, to save, check the document
    and store it, showing it again with every problem at its line when it is not valid."""
    _require_builder(principal)
    t = page_translator(request)
    text = str(form.get("document") or "")
    op = str(form.get("op") or "")
    if op:
        try:
            data, _ = parse(text[:MAX_INPUT_CHARS])
            selected = _apply(data, op, form, _references(request, data))
        except DocumentError as exc:
            return _editor(request, text, name, 422, error=t("workflows.edit_failed", reason=str(exc)))
        except editing.EditError as exc:
            values = dict(exc.values)
            if "setting" in values:  # named as the form names it
                label = setting_text(page_messages(request), values.get("type", ""), values["setting"])
                values["setting"] = label or values["setting"]
            reason = t(f"workflows.edit_error.{exc.code}", **values)
            return _editor(request, text, name, 422, error=t("workflows.edit_failed", reason=reason))
        return _editor(request, dump_data(data), name, selected=selected)
    try:
        spec = load_workflow(text[:MAX_INPUT_CHARS])
        with services.db.session(principal.tenant_id) as session:
            exists = session.scalars(select(Workflow.id).where(Workflow.name == spec.metadata.name)).first()
            if name is None and exists:
                return _editor(request, text, name, 409, error=t("workflows.exists", name=spec.metadata.name))
            if name is not None and spec.metadata.name != name:
                return _editor(request, text, name, 422, error=t("workflows.rename", name=name))
            registry.save(session, principal, spec, services.catalogue)  # refuses models not cleared
    except DocumentError as exc:
        problems = [
            {"line": p.line, "column": p.column, "path": p.path or "document", "text": explain(p, t)}
            for p in exc.problems
        ]
        return _editor(request, text, name, 422, problems=problems)
    return RedirectResponse(f"/workflows/{quote(spec.metadata.name)}?saved=1", status_code=303)


@router.get("/workflows/{name}")
def workflow_page(
    request: Request, name: str, principal: PagePrincipal, services: ServicesDep, saved: int = 0
) -> HTMLResponse:
    """A workflow: its steps, its document, a form to start it (or try it), its latest runs."""
    return _workflow_page(request, services, principal, name, saved=bool(saved))


@router.post("/workflows/{name}/runs", response_model=None)
def start_run(
    request: Request, name: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Start a run (or a test run) with the input from the form's fields; its page shows the steps as they
    go. A field the run cannot take, or a step that lacks what it needs, is named on the page again."""
    t = page_translator(request)
    test = form.get("test") == "1"
    with services.db.session(principal.tenant_id) as session:
        schema = registry.load(session, name).spec.spec.input
    filled = input_form.values(schema, form)
    typed = filled.texts
    if filled.errors:
        errors = {name: t(f"input.value.{key}") for name, key in filled.errors.items()}
        return _workflow_page(
            request, services, principal, name, 422, input_error=t("workflows.input_schema"), typed=typed,
            field_errors=errors,
        )  # fmt: skip
    try:
        run = services.workflows.start(principal, name, filled.data, "web", test)
    except InputInvalid as exc:
        return _input_refused(request, services, principal, name, exc, typed=typed, schema=schema)
    except readiness.NotReady:
        return _workflow_page(
            request,
            services,
            principal,
            name,
            409,
            input_error=t(
                "workflows.not_ready.refused"
                if principal.has_role(Role.builder)
                else "workflows.not_ready.refused_staff"
            ),
            typed=typed,
        )
    except Forbidden:
        return _workflow_page(
            request, services, principal, name, 403, input_error=t("workflows.test_forbidden"), typed=typed
        )
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


def _input_refused(
    request: Request,
    services: Any,
    principal: Any,
    name: str,
    exc: InputInvalid,
    typed: dict[str, str] | None = None,
    schema: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The workflow's page with each way the input missed its schema, at its field where there is one."""
    t = page_translator(request)
    known = {f.name for f in input_form.fields(schema or {})}
    at, other = input_form.field_errors(exc.problems, t, known)
    return _workflow_page(
        request,
        services,
        principal,
        name,
        422,
        input_error=t("workflows.input_schema"),
        problems=other,
        typed=typed or {},
        field_errors=at,
    )


@router.post("/workflows/{name}/upload", response_model=None)
async def start_from_file(
    request: Request, name: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Start a run of an upload workflow with the file from the form."""
    t = page_translator(request)
    uploads = await read_uploads([form.get("file")], services.settings.max_upload_bytes)
    try:
        if not uploads:
            raise FileRefused(t("workflows.file_missing"), 422)
        trigger = await run_in_threadpool(registry.trigger_of, services.db, principal.tenant_id, name)
        if trigger != "upload":
            raise FileRefused(t("workflows.not_upload"), 409)
        data = await run_in_threadpool(input_from_file, uploads[0].filename, uploads[0].data)
        run = await run_in_threadpool(services.workflows.start, principal, name, data, "upload")
    except FileRefused as exc:
        return await run_in_threadpool(
            _workflow_page, request, services, principal, name, exc.status, input_error=str(exc)
        )
    except InputInvalid as exc:
        return await run_in_threadpool(_input_refused, request, services, principal, name, exc)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


@router.get("/runs")
def runs_page(
    request: Request, principal: PagePrincipal, services: ServicesDep, workflow: str = "", status: str = ""
) -> HTMLResponse:
    """The newest runs, optionally of one workflow or status."""
    with services.db.session(principal.tenant_id) as session:
        rows = [
            _run_row(r, n) for r, n in runs.listing(session, workflow[:63] or None, status[:20] or None, 100)
        ]
    t = page_translator(request)
    statuses = [(s, t(f"runs.status.{s}")) for s in (*RUN_OPEN, "waiting", *RUN_FINISHED)]
    return render(request, "runs.html", runs=rows, workflow=workflow, status_filter=status, statuses=statuses)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str, principal: PagePrincipal, services: ServicesDep) -> HTMLResponse:
    """One run: its status and every step's filled-in settings, output, error, attempts, time and energy."""
    t, messages = page_translator(request), page_messages(request)
    with services.db.session(principal.tenant_id) as session:
        run = get_or_404(session, WorkflowRun, run_id)
        name = session.scalars(select(Workflow.name).where(Workflow.id == run.workflow_id)).one()
        document = registry.load(session, name, run.version).spec
        spec = document.spec
        titles = {s.id: s.title for s in walk(spec.steps)}
        fields = spec.input.get("properties", {}) if isinstance(spec.input, dict) else {}
        steps = [
            {
                "id": s.step_id,
                "title": titles.get(s.step_id) or "",
                "type": s.type,
                "status": s.status,
                "attempts": s.attempts,
                "seconds": s.seconds,
                "wh": s.wh,
                "settings": run_view.settings_rows(messages, s.type, s.settings, t),
                "output": run_view.output_rows(messages, s.type, s.output, t),
                "error": s.error,
                "error_text": error_text(s.error_code, s.error_values, t) if s.error else None,
                "model": (s.route or {}).get("chosen"),
            }
            for s in runs.steps_of(session, run.id)
        ]
        context: dict[str, Any] = {
            "run": _run_row(run, name, t),
            "failed_title": titles.get(run.failed_step or "") or run.failed_step,
            "workflow_title": document.metadata.title or name,
            "steps": steps,
            "output": run_view.rows(run.output, str, t),
            "input": run_view.rows(run.input, lambda key: (fields.get(key) or {}).get("title") or key, t),
        }
    return render(request, "run.html", **context)


@router.post("/runs/{run_id}/retry", response_model=None)
def retry_run(run_id: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm) -> Response:
    """Try a failed run again from the step that failed."""
    with services.db.session(principal.tenant_id) as session:
        with contextlib.suppress(runs.NotRetryable):  # finished or running meanwhile: the page shows it
            runs.retry(session, principal, run_id)
        runs.submit_after_commit(session, services.workflows.executor, run_id)
    return RedirectResponse(f"/runs/{quote(run_id)}", status_code=303)


@router.get("/approvals")
def approvals_page(
    request: Request, principal: PagePrincipal, services: ServicesDep, done: str = "", corrected: str = ""
) -> HTMLResponse:
    """The approvals the person may decide, oldest first, each with its details, an editable text and the
    labels of the run's classify steps to correct."""
    decided = done if done in ("approved", "rejected") else ""
    inbox = _inbox(services, principal)
    return render(request, "approvals.html", done=decided, corrected=corrected == "1", **inbox)


def _inbox(services: Any, principal: Any) -> dict[str, Any]:
    with services.db.session(principal.tenant_id) as session:
        waiting = approvals.inbox(session, principal)
        steps = labels.correctable_in(session, [a.run_id for a in waiting])
        pending = [
            {
                "id": a.id,
                "run_id": a.run_id,
                "title": a.title,
                "text": a.text,
                "details": _details(a.context),
                "deadline_at": a.deadline_at,
                "role": a.role,
                "labels": steps.get(a.run_id, []),
            }
            for a in waiting
        ]
    return {"approvals": pending}


def _details(value: Any) -> list[tuple[str, str]]:
    """Details to show as a list of label and text."""
    if isinstance(value, dict):
        return [
            (str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for k, v in value.items()
        ]
    if value in (None, ""):
        return []
    return [("", value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))]


@router.post("/approvals/{approval_id}", response_model=None)
def decide(
    request: Request, approval_id: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Approve (with the text as edited) or reject, then back to the inbox."""
    chosen = form.get("decision")
    if chosen not in ("approved", "rejected"):
        return _inbox_with_error(
            request, services, principal, page_translator(request)("approvals.no_decision"), 422
        )
    decision: approvals.Decision = "approved" if chosen == "approved" else "rejected"
    text = str(form.get("text") or "").replace("\r\n", "\n")
    comment = str(form.get("comment") or "")[:2000]
    picked = {
        str(key).removeprefix("label."): str(value) for key, value in form.items() if key.startswith("label.")
    }
    corrected = any(form.get(f"shown.{step}") != label for step, label in picked.items())
    t = page_translator(request)
    try:
        with services.db.session(principal.tenant_id) as session:
            edited = text if decision == "approved" else None
            approval = approvals.decide(session, principal, approval_id, decision, edited, comment, picked)
            runs.submit_after_commit(session, services.workflows.executor, approval.run_id)
    except approvals.AlreadyDecided:
        return _inbox_with_error(request, services, principal, t("approvals.already"))
    except labels.NotCorrectable:
        return _inbox_with_error(request, services, principal, t("approvals.invalid_label"), 422)
    except ValueError as exc:
        return _inbox_with_error(request, services, principal, t("approvals.invalid", reason=str(exc)), 422)
    after = f"/approvals?done={decision}" + ("&corrected=1" if corrected else "")
    return RedirectResponse(after, status_code=303)


def _inbox_with_error(
    request: Request, services: Any, principal: Any, error: str, status: int = 409
) -> HTMLResponse:
    return render(request, "approvals.html", status, error=error, **_inbox(services, principal))
