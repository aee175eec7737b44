"""Chatbot pages for staff: the tenant's chatbots, their settings (builders publish and change them), the
embed snippet, feedback statistics and transcripts, and the inbox of citizens' hand-offs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from rathaus.api.deps import ServicesDep
from rathaus.assistants import conversations
from rathaus.assistants import registry as assistants
from rathaus.chatbots import handoffs, registry, transcripts
from rathaus.chatbots.models import Chatbot
from rathaus.chatbots.registry import LANGUAGES, ChatbotSettings, ModelNotCleared, NotPublishable
from rathaus.identity.directory import Conflict
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.identity.visibility import Forbidden
from rathaus.services import Services
from rathaus.store.tenancy import NotFound
from rathaus.web.forms import CheckedForm
from rathaus.web.pages import PagePrincipal, page_translator, render
from rathaus.workflows import registry as workflows

router = APIRouter(include_in_schema=False)
RESERVED = frozenset({"new"})  # would be shadowed by /chatbots/new
FIELDS = (
    "name", "assistant", "title", "greeting", "color", "logo_url", "privacy_url", "origins", "languages",
    "handoff_workflow", "max_chars",
)  # fmt: skip
Translate = Callable[..., str]


def _require_builder(principal: Principal) -> None:
    if not principal.has_role(Role.builder):
        raise Forbidden("changing chatbots needs the role 'builder'")


def _text(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


# what the form offers


def _assistant_options(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """The assistants a chatbot can answer with, labelled for the form."""
    return [(name, f"{title} ({name})") for name, title in registry.publishable(session, principal)]


def _workflow_options(session: Session, t: Translate) -> list[tuple[str, str]]:
    none = [("", t("chatbots.field.handoff_workflow.none"))]
    return none + [(w.name, f"{w.title} ({w.name})") for w in workflows.listing(session)]


def _languages(t: Translate) -> list[tuple[str, str]]:
    return [(code, t(f"chatbots.language.{code}")) for code in LANGUAGES]


# between the form, the settings and the page


def _values_of(settings: ChatbotSettings) -> dict[str, Any]:
    """The form's values for stored settings."""
    return {
        "name": settings.name, "assistant": settings.assistant, "title": settings.title,
        "greeting": settings.greeting, "color": settings.color, "logo_url": settings.logo_url or "",
        "privacy_url": settings.privacy_url or "", "origins": "\n".join(settings.origins),
        "languages": list(settings.languages), "handoff": settings.handoff,
        "handoff_workflow": settings.handoff_workflow or "", "max_chars": str(settings.max_chars),
    }  # fmt: skip


def _defaults() -> dict[str, Any]:
    """The form's values for a new chatbot."""
    fields = ChatbotSettings.model_fields
    return {
        "name": "", "assistant": "", "title": "", "greeting": fields["greeting"].default,
        "color": fields["color"].default, "logo_url": "", "privacy_url": "", "origins": "",
        "languages": ["de", "en"], "handoff": True, "handoff_workflow": "",
        "max_chars": str(fields["max_chars"].default),
    }  # fmt: skip


def _color(form: FormData) -> str:
    """The colour the builder changed last: the text field, else the colour picker (both start equal)."""
    before = _text(form, "color_before", 20)
    typed, picked = _text(form, "color", 20), _text(form, "color_picker", 20)
    if typed.lower() != before.lower():
        return typed
    if picked and picked.lower() != before.lower():
        return picked
    return typed or picked


def _values_from(form: FormData, name: str | None) -> dict[str, Any]:
    """The form's values as posted (for a chatbot being changed, its name stays)."""
    languages = [code for code in form.getlist("languages") if isinstance(code, str)]
    return {
        "name": name if name is not None else _text(form, "name", 100),
        "assistant": _text(form, "assistant", 100),
        "title": _text(form, "title", 300),
        "greeting": _text(form, "greeting", 1000).replace("\r\n", "\n"),
        "color": _color(form),
        "logo_url": _text(form, "logo_url", 600),
        "privacy_url": _text(form, "privacy_url", 600),
        "origins": _text(form, "origins", 5000).replace("\r\n", "\n"),
        "languages": ["de", *[code[:10] for code in languages[:20] if code != "de"]],
        "handoff": form.get("handoff") == "1",
        "handoff_workflow": _text(form, "handoff_workflow", 100),
        "max_chars": _text(form, "max_chars", 10),
    }


def _origins(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _document(values: dict[str, Any]) -> dict[str, Any]:
    """The settings document for the posted values (empty optional fields are left unset)."""
    return {
        "name": values["name"], "assistant": values["assistant"], "title": values["title"],
        "greeting": values["greeting"], "color": values["color"], "logo_url": values["logo_url"] or None,
        "privacy_url": values["privacy_url"] or None, "origins": _origins(values["origins"]),
        "languages": values["languages"], "handoff": values["handoff"],
        "handoff_workflow": values["handoff_workflow"] or None, "max_chars": values["max_chars"],
    }  # fmt: skip


def _explain(field: str, problem: Any, values: dict[str, Any], t: Translate) -> str:
    """One validation problem of a field, in the interface language."""
    if field == "origins":
        kind = str(problem.get("type"))
        if kind == "too_short":
            return t("chatbots.error.origins_missing")
        if kind == "too_long":
            return t("chatbots.error.origins_many", limit=(problem.get("ctx") or {}).get("max_length", ""))
        bad = next((o for o in _origins(values["origins"]) if not _is_origin(o)), "")
        return t("chatbots.error.origin", origin=bad[:100])
    return t(f"chatbots.error.{field}" if field in FIELDS else "chatbots.error.invalid")


def _is_origin(text: str) -> bool:
    return re.fullmatch(registry.ORIGIN, text.rstrip("/").lower()) is not None


def _errors(exc: ValidationError, values: dict[str, Any], t: Translate) -> dict[str, str]:
    """The first problem of each field, in the interface language."""
    errors: dict[str, str] = {}
    for problem in exc.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        errors.setdefault(field, _explain(field, problem, values, t))
    return errors


def _bot_context(request: Request, session: Session, bot: Chatbot) -> dict[str, Any]:
    """What the chatbot's page shows besides the form: the snippet, the statistics, open hand-offs."""
    base = str(request.base_url).rstrip("/")
    return {
        "bot": {"name": bot.name, "title": bot.title, "token": bot.token, "updated_at": bot.updated_at},
        "snippet": f'<script src="{base}/widget.js" data-bot="{bot.token}" async></script>',
        "stats": transcripts.stats(session, bot),
        "open_handoffs": handoffs.open_counts(session).get(bot.id, 0),
    }


def _chatbot_page(
    request: Request,
    session: Session,
    principal: Principal,
    bot: Chatbot | None,
    values: dict[str, Any],
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    t = page_translator(request)
    errors: dict[str, str] = extra.pop("errors", {})
    color = str(values.get("color") or "")
    context: dict[str, Any] = {
        "heading": bot.title if bot is not None else t("chatbots.new_title"),
        "values": values,
        "errors": errors,
        "fe": {field: [text] for field, text in errors.items()},  # as the form field macros take them
        "picker": color.lower() if re.fullmatch(r"#[0-9a-fA-F]{6}", color) else "#004b87",
        "assistant_options": _assistant_options(session, principal),
        "workflow_options": _workflow_options(session, t),
        "languages": _languages(t),
        "bot": None,
        **(_bot_context(request, session, bot) if bot is not None else {}),
        **extra,
    }
    return render(request, "chatbot.html", status, **context)


def _save(
    request: Request, services: Services, principal: Principal, form: FormData, name: str | None
) -> Response:
    """Check the posted settings and publish them; show the form again with every problem at its field."""
    _require_builder(principal)
    t = page_translator(request)
    values = _values_from(form, name)
    errors: dict[str, str] = {}
    status = 422
    with services.db.session(principal.tenant_id) as session:
        bot = registry.find(session, name) if name is not None else None
        try:
            settings: ChatbotSettings | None = ChatbotSettings.model_validate(_document(values))
        except ValidationError as exc:
            settings, errors = None, _errors(exc, values, t)
        if "assistant" not in errors and values["assistant"] not in {
            n for n, _ in _assistant_options(session, principal)
        }:
            errors["assistant"] = t("chatbots.error.unpublishable")
        if "handoff_workflow" not in errors and values["handoff_workflow"] not in {
            n for n, _ in _workflow_options(session, t)
        }:
            errors["handoff_workflow"] = t("chatbots.error.handoff_workflow")
        if name is None and "name" not in errors and values["name"] in RESERVED:
            errors["name"] = t("chatbots.error.name_reserved")
        if settings is not None and not errors:
            try:
                bot = registry.publish(session, principal, settings, services.catalogue, create=name is None)
            except ModelNotCleared as exc:
                errors["assistant"] = str(exc)
            except (NotPublishable, NotFound):
                errors["assistant"] = t("chatbots.error.unpublishable")
            except Conflict:
                errors["name"], status = t("chatbots.error.exists"), 409
        if errors:
            return _chatbot_page(request, session, principal, bot, values, status, errors=errors)
    return RedirectResponse(f"/chatbots/{quote(values['name'])}?saved=1", status_code=303)


# the pages


def _row(bot: Chatbot, titles: dict[str, str], open_counts: dict[str, int]) -> dict[str, Any]:
    return {
        "name": bot.name, "title": bot.title, "assistant": titles.get(bot.assistant, bot.assistant),
        "origins": registry.settings_of(bot).origins, "helpful": bot.helpful or 0,
        "not_helpful": bot.not_helpful or 0, "open": open_counts.get(bot.id, 0),
    }  # fmt: skip


@router.get("/chatbots")
def chatbots_page(
    request: Request, principal: PagePrincipal, services: ServicesDep, withdrawn: int = 0
) -> HTMLResponse:
    """The tenant's chatbots with their feedback and open hand-offs; builders publish new ones here."""
    with services.db.session(principal.tenant_id, read_only=True) as session:
        titles = {a.name: a.title for a in assistants.listing(session, principal)}
        open_counts = handoffs.open_counts(session)
        rows = [_row(b, titles, open_counts) for b in registry.listing(session)]
    return render(request, "chatbots.html", chatbots=rows, withdrawn=bool(withdrawn))


@router.get("/chatbots/new")
def new_chatbot(request: Request, principal: PagePrincipal, services: ServicesDep) -> HTMLResponse:
    """The settings form for a new chatbot."""
    _require_builder(principal)
    with services.db.session(principal.tenant_id, read_only=True) as session:
        return _chatbot_page(request, session, principal, None, _defaults())


@router.post("/chatbots/new", response_model=None)
def create_chatbot(
    request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Publish a new chatbot."""
    return _save(request, services, principal, form, None)


@router.get("/chatbots/{name}")
def chatbot_page(
    request: Request, name: str, principal: PagePrincipal, services: ServicesDep, saved: int = 0
) -> HTMLResponse:
    """A chatbot: its settings (a form for builders), the embed snippet and the feedback statistics."""
    with services.db.session(principal.tenant_id, read_only=True) as session:
        bot = registry.find(session, name)
        values = _values_of(registry.settings_of(bot))
        return _chatbot_page(request, session, principal, bot, values, saved=bool(saved))


@router.post("/chatbots/{name}", response_model=None)
def save_chatbot(
    request: Request, name: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Change a chatbot's settings; its widget token stays."""
    return _save(request, services, principal, form, name)


@router.post("/chatbots/{name}/withdraw", response_model=None)
def withdraw_chatbot(
    request: Request, name: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Withdraw a chatbot after the builder confirmed it: its widget stops, its transcripts go with it."""
    _require_builder(principal)
    with services.db.session(principal.tenant_id) as session:
        bot = registry.find(session, name)
        if form.get("confirm") != "1":
            values = _values_of(registry.settings_of(bot))
            error = page_translator(request)("chatbots.withdraw.unconfirmed")
            return _chatbot_page(request, session, principal, bot, values, 422, withdraw_error=error)
        registry.delete(session, principal, name)
    return RedirectResponse("/chatbots?withdrawn=1", status_code=303)


@router.get("/chatbots/{name}/transcripts")
def transcripts_page(
    request: Request, name: str, principal: PagePrincipal, services: ServicesDep, page: int = 1
) -> HTMLResponse:
    """The chatbot's kept conversations, newest first, 50 to a page."""
    t = page_translator(request)
    with services.db.session(principal.tenant_id, read_only=True) as session:
        bot = registry.find(session, name)
        found = transcripts.page_of(session, bot, min(max(page, 1), 10_000))
        days = conversations.kept_days(session, principal.tenant_id)
        context: dict[str, Any] = {
            "bot": {"name": bot.name, "title": bot.title},
            "found": found,
            "days": days,
        }
    return render(request, "chatbot_transcripts.html", languages=dict(_languages(t)), **context)


@router.get("/handoffs")
def handoffs_page(
    request: Request, principal: PagePrincipal, services: ServicesDep, done: str = ""
) -> HTMLResponse:
    """The inbox of citizens' requests to be contacted: open ones first, then the latest done ones."""
    with services.db.session(principal.tenant_id, read_only=True) as session:
        waiting = handoffs.open_requests(session)
        finished = handoffs.done_requests(session)
    return render(
        request,
        "handoffs.html",
        waiting=waiting,
        finished=finished,
        more=len(waiting) >= handoffs.OPEN_LIMIT,
        done=done if done in ("saved", "already") else "",
    )


@router.post("/handoffs/{handoff_id}/done", response_model=None)
def handoff_done(
    handoff_id: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Mark a hand-off as done by the person logged in."""
    with services.db.session(principal.tenant_id) as session:
        changed = handoffs.mark_done(session, principal, handoff_id)
    return RedirectResponse(f"/handoffs?done={'saved' if changed else 'already'}", status_code=303)
