"""The chat pages: talk to an assistant with the answer streaming in, and one's own conversation list."""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from rathaus.api.deps import ServicesDep
from rathaus.api.errors import ApiError
from rathaus.api.streaming import relay, sse
from rathaus.assistants import conversations, export, registry, simplify
from rathaus.assistants.evidence import Evidence
from rathaus.assistants.grounding import Grounding, Source, link_citations, shown_sources
from rathaus.assistants.runtime import Prepared, prepare_for
from rathaus.identity.principal import Principal
from rathaus.llm.backend import BackendError, ChatRequest, Message, TextChunk
from rathaus.routing.route import Route
from rathaus.services import Services
from rathaus.store.tenancy import NotFound
from rathaus.text import leichte_sprache, restructure
from rathaus.text.markdown import to_html
from rathaus.web.forms import CheckedForm
from rathaus.web.pages import PagePrincipal, page_translator, render, templates

router = APIRouter(include_in_schema=False)
CSRF_HEADER = "x-rathaus-csrf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class PastMessage(BaseModel):
    """A message of a conversation the browser keeps (tenants that store no conversations)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=20_000)


class SendBody(BaseModel):
    """A message typed into the chat."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=20_000)
    conversation_id: str | None = Field(default=None, max_length=32)
    history: list[PastMessage] = Field(
        default_factory=list, max_length=40, description="The conversation so far, when it is not stored."
    )


def _person(principal: Principal) -> str:
    if principal.user_id is None:
        raise ApiError(403, "The chat is for people who are logged in.", "forbidden")
    return principal.user_id


def _shown(message: conversations.ConversationMessage) -> dict[str, Any]:
    """A stored message for the page: answers as safe HTML with their citations linked to their sources."""
    if message.role != "assistant":
        return {"role": message.role, "content": message.content, "html": None, "sources": []}
    sources = [Source.from_json(s) for s in message.sources or []]
    html = link_citations(str(to_html(message.content)), sources)
    return {
        "role": "assistant", "content": message.content, "html": Markup(html), "sources": sources,
        "route": message.route,
    }  # fmt: skip


@router.get("/chat/{name}")
def chat_page(
    name: str, request: Request, principal: PagePrincipal, services: ServicesDep, c: str | None = None
) -> HTMLResponse:
    """The chat with an assistant: a new conversation, or the one given as `c`."""
    user_id = _person(principal)
    with services.db.session(principal.tenant_id) as session:
        spec = registry.load(session, principal, name).spec
        stored = conversations.kept_days(session, principal.tenant_id) > 0
        messages: list[dict[str, Any]] = []
        if c:
            conversation = conversations.own(session, user_id, c)
            messages = [_shown(m) for m in conversations.stored(session, conversation)]
    return render(
        request,
        "chat.html",
        assistant=spec,
        name=name,
        conversation_id=c or "",
        messages=messages,
        stored=stored,
    )


@router.get("/conversations")
def conversations_page(request: Request, principal: PagePrincipal, services: ServicesDep) -> HTMLResponse:
    """One's own conversations, newest first, each deletable."""
    user_id = _person(principal)
    with services.db.session(principal.tenant_id) as session:
        rows = [
            {"id": c.id, "title": c.title, "assistant": c.assistant_name, "updated_at": c.updated_at}
            for c in conversations.recent(session, user_id)
        ]
        days = conversations.kept_days(session, principal.tenant_id)
    return render(request, "conversations.html", conversations=rows, days=days)


@router.get("/conversations/{conversation_id}/export.{kind}")
def export_conversation(
    conversation_id: str, kind: str, principal: PagePrincipal, services: ServicesDep
) -> Response:
    """Download one's own conversation as Markdown (`md`) or Word (`docx`)."""
    if kind not in ("md", "docx"):
        raise ApiError(404, "Export formats are md and docx.", "not_found")
    user_id = _person(principal)
    with services.db.session(principal.tenant_id) as session:
        conversation = conversations.own(session, user_id, conversation_id)
        messages = conversations.history(session, conversation)
        title, when, assistant_name = conversation.title, conversation.updated_at, conversation.assistant_name
        try:
            assistant_title = registry.find(session, principal, assistant_name).title
        except NotFound:
            assistant_title = assistant_name
    filename = f"unterhaltung-{when:%Y-%m-%d}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if kind == "md":
        text = export.as_markdown(title, assistant_title, when, messages)
        return Response(text, media_type="text/markdown; charset=utf-8", headers=headers)
    data = export.as_docx(title, assistant_title, when, messages)
    return Response(data, media_type=DOCX_TYPE, headers=headers)


@router.post("/conversations/{conversation_id}/delete")
def delete_conversation(
    conversation_id: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> RedirectResponse:
    """Delete one's own conversation with all its messages."""
    user_id = _person(principal)
    with services.db.session(principal.tenant_id) as session:
        session.delete(conversations.own(session, user_id, conversation_id))
    return RedirectResponse("/conversations", status_code=303)


def _begin(
    services: Services, principal: Principal, name: str, body: SendBody
) -> tuple[Prepared, str | None, str]:
    """Store the user's message (where the tenant keeps conversations) and build the model request."""
    user_id = _person(principal)
    with services.db.session(principal.tenant_id) as session:
        spec = registry.load(session, principal, name).spec
        conversation_id: str | None = None
        if conversations.kept_days(session, principal.tenant_id) == 0:
            past = [Message(role=m.role, content=m.content) for m in body.history]
        else:
            if body.conversation_id:
                conversation = conversations.own(session, user_id, body.conversation_id)
            else:
                conversation = conversations.start(session, user_id, name, body.message)
            past = conversations.history(session, conversation)
            conversations.append(session, conversation, "user", body.message)
            conversation_id = conversation.id
    request = ChatRequest(messages=[*past, Message(role="user", content=body.message)])
    return prepare_for(services, principal, spec, request), conversation_id, spec.spec.task


def _leichte_sprache_event(text: str, t: Any) -> str:
    report = leichte_sprache.check(text)
    rules = [{"label": t(f"chat.check.{rule}"), "passed": held} for rule, held in report.passed.items()]
    findings = [
        {"rule": t(f"chat.check.{f.rule}"), "sentence": f.sentence[:200], "detail": f.detail}
        for f in report.findings[:20]
    ]
    shown = {
        "title": t("chat.check.title"),
        "ok": report.ok,
        "rules": rules,
        "findings": findings,
        "findings_title": t("chat.check.findings", count=len(report.findings)),
    }
    return sse(shown, "check")


@router.post("/chat/{name}/send")
async def send(
    name: str,
    body: SendBody,
    http_request: Request,
    principal: PagePrincipal,
    services: ServicesDep,
    csrf: Annotated[str | None, Header(alias=CSRF_HEADER)] = None,
) -> StreamingResponse:
    """Send a message; the answer streams back as server-sent events (meta, delta…, done or error).

    The custom header cannot be sent by another site's form, which protects against cross-site requests.
    """
    if csrf != "1":
        raise ApiError(403, "Missing X-Rathaus-CSRF header.", "csrf")
    prepared, conversation_id, task = await run_in_threadpool(_begin, services, principal, name, body)
    t = page_translator(http_request)
    stream = prepared.stream(services, principal, "web.chat")

    def keep(answer: str) -> None:
        sources = [s.as_json() for s in shown_sources(answer, prepared.grounded)]
        with services.db.session(principal.tenant_id) as session:
            conversation = conversations.own(session, principal.user_id or "", conversation_id or "")
            route = prepared.route.as_json() if prepared.route else None
            conversations.append(session, conversation, "assistant", answer, sources, route)

    meta = {"conversation_id": conversation_id, "model": prepared.profile.id}
    keeper = keep if conversation_id else None
    return event_stream(
        answer_events(stream, meta, task, t, keeper, prepared.grounded, prepared.route, prepared.evidence)
    )


class SimplifyBody(BaseModel):
    """A text to put into Leichte Sprache: an answer of the chat, or any text staff paste."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=20_000)


@router.post("/chat/{name}/simplify")
async def simplify_text(
    name: str,
    body: SimplifyBody,
    http_request: Request,
    principal: PagePrincipal,
    services: ServicesDep,
    csrf: Annotated[str | None, Header(alias=CSRF_HEADER)] = None,
) -> StreamingResponse:
    """The text in Leichte Sprache as server-sent events (meta, delta…, check, route, done or error), routed
    as the assistant's answers are; not kept in the conversation."""
    if csrf != "1":
        raise ApiError(403, "Missing X-Rathaus-CSRF header.", "csrf")
    _person(principal)
    planned = await run_in_threadpool(simplify.plan, services, principal, name, body.text, "sie")
    await run_in_threadpool(services.routing.admit, principal, planned.route)  # a used-up budget refuses here
    stream = services.routing.run(principal, planned.route, planned.request, simplify.ENDPOINT)
    meta = {"model": planned.route.chosen}
    t = page_translator(http_request)
    tidy = functools.partial(restructure.tidy, source=body.text)
    return event_stream(answer_events(stream, meta, "simplify", t, route=planned.route, rewrite=tidy))


def render_route(route: dict[str, Any], t: Callable[..., str]) -> Markup:
    """The "why this model?" details of an answer (see templates/route.html)."""
    macro = templates().env.get_template("route.html").module.route_details  # type: ignore[attr-defined]
    return Markup(macro(route, t))


def answer_events(
    stream: Generator[object, None, None],
    meta: dict[str, Any],
    task: str,
    t: Callable[..., str],
    keep: Callable[[str], None] | None = None,
    grounded: Grounding | None = None,
    route: Route | None = None,
    found: Evidence | None = None,
    rewrite: Callable[[str], str] | None = None,
) -> Generator[str, None, None]:
    """An answer as server-sent events: meta, evidence, delta…, check (Leichte Sprache), sources, route, done
    or error.

    `evidence` (when the answer is written from evidence) comes before the model starts: the sentences
    found and their sources, so that the asker reads the answer's basis within a second or two.

    `done` carries the answer as safe HTML with its citations linked, and as text. `rewrite` is applied to
    the whole answer before it is checked and shown (the Leichte-Sprache rules of text/restructure.py); the
    deltas show the model's writing as it comes. `keep` receives the answer written so far when the stream
    ends, also after an error or hang-up.
    """
    parts: list[str] = []
    yield sse(meta, "meta")
    if found is not None and grounded is not None:
        yield sse(evidence_event(found, grounded, t), "evidence")
    try:
        for item in stream:
            if isinstance(item, TextChunk):
                parts.append(item.text)
                yield sse({"text": item.text}, "delta")
        answer = "".join(parts)
        if rewrite is not None and answer:
            answer = rewrite(answer)
        if task == "simplify" and answer:
            yield _leichte_sprache_event(answer, t)
        shown = shown_sources(answer, grounded)
        if shown:
            yield sse({"title": t("chat.sources"), "sources": [s.as_json() for s in shown]}, "sources")
        if route is not None:
            yield sse({"html": render_route(route.as_json(), t)}, "route")
        yield sse({"html": link_citations(str(to_html(answer)), shown), "text": answer}, "done")
    except BackendError as exc:
        yield sse({"message": str(exc)}, "error")
    finally:
        stream.close()
        if parts and keep is not None:
            keep("".join(parts))


def evidence_event(found: Evidence, grounded: Grounding, t: Callable[..., str]) -> dict[str, Any]:
    """The evidence as the chat shows it before the answer: quoted sentences with linked source numbers."""
    used = [s for s in grounded.sources if s.number in found.sources]
    quotes = sorted(found.quotes, key=lambda q: (q.part, -q.score))
    return {
        "title": t("chat.evidence"),
        "note": t("chat.evidence_writing"),
        "quotes": [{"text": q.text, "number": q.source} for q in quotes],
        "sources_title": t("chat.sources"),
        "sources": [s.as_json() for s in used],
    }


def event_stream(events: Generator[str, None, None]) -> StreamingResponse:
    """A server-sent event response that stops the model when the browser goes away."""
    return StreamingResponse(
        relay(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
