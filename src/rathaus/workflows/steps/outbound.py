"""Steps that reach outside the platform: an HTTP request, an outgoing webhook, an e-mail.

Only hosts on the operator's allow-list (`RATHAUS_WORKFLOW_HTTP_HOSTS`) can be called, so a workflow
document cannot reach into the city's network on its own. Everything sent carries the step's idempotency
key (the `Idempotency-Key` header; the e-mail's Message-ID), the same on every attempt. In a test run
nothing is sent (a GET request, which changes nothing, is made): the step shows what it would send.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from rathaus.mail import SMTP_TIMEOUT_SECONDS, MailFailed, send_mail
from rathaus.workflows.steps import Missing, Setup, StepContext, StepFailed, StepType, fixed

MAX_RESPONSE_BYTES = 1_000_000
EMAIL = r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"


def allowed_url(context: StepContext, url: str) -> str:
    """The URL when its host is on the allow-list; otherwise the step fails without retrying."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StepFailed(
            f"'{url[:200]}' is not an http(s) address", retry=False, code="not_http", url=url[:200]
        )
    hosts = context.services.settings.workflow_http_hosts
    host = parts.hostname.lower()
    if host not in hosts and (parts.port is None or f"{host}:{parts.port}" not in hosts):
        raise StepFailed(
            f"the host '{host}' is not on the allow-list of the installation (RATHAUS_WORKFLOW_HTTP_HOSTS)",
            retry=False,
            code="host_not_allowed",
            host=host,
        )
    return url


def _host_missing(url: Any, setup: Setup) -> list[Missing]:
    """The URL's host when it is written out and not on the allow-list (a templated URL is checked when
    the run gets there)."""
    written = fixed(url)
    if written is None:
        return []
    parts = urlsplit(written)
    if parts.scheme not in ("http", "https"):
        return [Missing("http_host", written[:200])]
    host = (parts.hostname or "").lower()
    hosts = setup.services.settings.workflow_http_hosts
    try:
        port = parts.port
    except ValueError:
        port = None
    if host and (host in hosts or (port is not None and f"{host}:{port}" in hosts)):
        return []
    return [Missing("http_host", host or written[:200])]


def _exchange(method: str, url: str, context: StepContext, **request: Any) -> dict[str, Any]:
    """One HTTP request within the step's time, without following redirects; its answer as the output."""
    try:
        response = httpx.request(method, url, timeout=context.remaining(), follow_redirects=False, **request)
    except httpx.HTTPError as exc:
        raise StepFailed(f"{type(exc).__name__}: {exc}", code="unreachable", url=url[:200]) from None
    return _answer(response)


def _answer(response: httpx.Response) -> dict[str, Any]:
    body: Any = response.text[:MAX_RESPONSE_BYTES]
    if "json" in response.headers.get("content-type", ""):
        with contextlib.suppress(ValueError):
            body = response.json()
    if response.status_code >= 400:
        retry = response.status_code >= 500 or response.status_code == 429
        raise StepFailed(
            f"the server answered {response.status_code}: {str(body)[:300]}",
            retry=retry,
            code="http_status",
            status=response.status_code,
        )
    return {"status": response.status_code, "body": body}


class HttpSettings(BaseModel):
    """The request to make."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None


class HttpRequest(StepType):
    """Call a web service on the allow-list; its JSON answer becomes the output."""

    name = "http"
    outputs = ("body", "status")
    settings = HttpSettings
    side_effect = True
    category = "outbound"

    def missing(self, settings: dict[str, Any], setup: Setup) -> list[Missing]:
        """A host not on the allow-list."""
        return _host_missing(settings.get("url"), setup)

    def run(self, context: StepContext, settings: HttpSettings) -> dict[str, Any]:
        """`{status, body}`."""
        url = allowed_url(context, settings.url)
        if context.test and settings.method != "GET":
            return {"test": True, "would_send": settings.model_dump(mode="json")}
        headers = {"Idempotency-Key": context.idempotency_key, **settings.headers}
        return _exchange(
            settings.method,
            url,
            context,
            headers=headers,
            json=settings.body if settings.body is not None else None,
        )


class WebhookSettings(BaseModel):
    """Where to send the event and what."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    payload: Any = Field(description="The JSON body; templates are filled in.")
    secret: str | None = Field(default=None, min_length=16, max_length=200, description="Signs the body.")


class Webhook(StepType):
    """Send an event as JSON (POST) to another system, signed with HMAC-SHA256 when a secret is set."""

    name = "webhook"
    outputs = ("status", "body")
    settings = WebhookSettings
    side_effect = True
    category = "outbound"

    def missing(self, settings: dict[str, Any], setup: Setup) -> list[Missing]:
        """A host not on the allow-list."""
        return _host_missing(settings.get("url"), setup)

    def run(self, context: StepContext, settings: WebhookSettings) -> dict[str, Any]:
        """`{status, body}` of the receiver's answer."""
        url = allowed_url(context, settings.url)
        body = json.dumps(settings.payload, ensure_ascii=False).encode("utf-8")
        if context.test:
            return {"test": True, "would_send": settings.payload}
        headers = {"Content-Type": "application/json", "Idempotency-Key": context.idempotency_key}
        if settings.secret:
            digest = hmac.new(settings.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Rathaus-Signature"] = f"sha256={digest}"
        return _exchange("POST", url, context, content=body, headers=headers)


class EmailSettings(BaseModel):
    """The e-mail: recipients, subject, text."""

    model_config = ConfigDict(extra="forbid")

    to: list[str] = Field(min_length=1, max_length=20)
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=200_000)
    reply_to: str | None = Field(default=None, pattern=EMAIL)

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        import re

        for address in value:
            if not re.fullmatch(EMAIL, address.strip()):
                raise PydanticCustomError(
                    "email_address", "'{limit}' is not an e-mail address", {"limit": address[:100]}
                )
        return [a.strip() for a in value]

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return " ".join(value.split())


class SendEmail(StepType):
    """Send an e-mail over the installation's SMTP server."""

    name = "send_email"
    settings = EmailSettings
    side_effect = True
    category = "outbound"

    def missing(self, settings: dict[str, Any], setup: Setup) -> list[Missing]:
        """No mail server set up by IT."""
        return [] if setup.services.settings.smtp_host else [Missing("mail_server")]

    def run(self, context: StepContext, settings: EmailSettings) -> dict[str, Any]:
        """`{sent_to, message_id}`."""
        config = context.services.settings
        message_id = f"<{context.idempotency_key}@{config.smtp_message_domain}>"
        if context.test:
            return {"test": True, "would_send": settings.model_dump(mode="json"), "message_id": message_id}
        if not config.smtp_host:
            raise StepFailed(
                "no SMTP server is configured (RATHAUS_SMTP_HOST)", retry=False, code="no_mail_server"
            )
        timeout = min(context.remaining(), SMTP_TIMEOUT_SECONDS)
        try:
            send_mail(
                config, settings.to, settings.subject, settings.body, message_id, settings.reply_to, timeout
            )
        except MailFailed as exc:
            raise StepFailed(str(exc), retry=exc.retry, code=exc.code) from None
        return {"sent_to": settings.to, "message_id": message_id}


OUTBOUND_STEPS: tuple[type[StepType], ...] = (HttpRequest, Webhook, SendEmail)
