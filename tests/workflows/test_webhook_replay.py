"""Signed webhook calls cannot be sent again: the signature covers a timestamp, calls older than five
minutes are refused, and a signature is accepted only once."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rathaus.app import create_app
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.store.db import Database
from rathaus.workflows import webhooks
from rathaus.workflows.models import WebhookSignature
from tests.conftest import TenantFixture
from tests.servers import serve_in_thread
from tests.workflows.conftest import BUERGERANFRAGE, signed

WEBHOOK = BUERGERANFRAGE.replace("spec:\n", "spec:\n  trigger: {type: webhook}\n", 1)
DOCS = Path(__file__).parents[2] / "docs"
BODY = json.dumps({"nachricht": "Falschparker vor meiner Einfahrt", "email": "a@example.org"}).encode()


def hook(client: TestClient, tenant: TenantFixture) -> tuple[str, str]:
    """A webhook workflow's path and key."""
    created = client.post(
        "/api/workflows", content=WEBHOOK, headers={**tenant.headers(), "Content-Type": "application/yaml"}
    )
    assert created.status_code == 201, created.text
    found = client.get("/api/workflows/buergeranfrage/webhook", headers=tenant.headers()).json()
    assert "X-Rathaus-Timestamp" in found["signature"]
    return found["url"].replace("http://testserver", ""), found["key"]


def runs(client: TestClient, tenant: TenantFixture) -> int:
    return len(client.get("/api/runs", headers=tenant.headers()).json())


def test_a_call_sent_again_is_refused(client: TestClient, jena: TenantFixture) -> None:
    path, key = hook(client, jena)
    call = signed(key, BODY)
    assert client.post(path, content=BODY, headers=call).status_code == 202

    replayed = client.post(path, content=BODY, headers=call)
    assert replayed.status_code == 409
    assert replayed.headers["content-type"] == "application/problem+json"
    assert replayed.json()["code"] == "replayed"
    assert runs(client, jena) == 1

    again = client.post(path, content=BODY, headers=signed(key, BODY, int(time.time()) + 1))
    assert again.status_code == 202  # the same body, signed anew, is a new call
    assert runs(client, jena) == 2


def test_old_timestamps_and_unsigned_ones_are_refused(client: TestClient, jena: TenantFixture) -> None:
    path, key = hook(client, jena)
    now = int(time.time())
    for sent in (now - webhooks.WINDOW_S - 60, now + webhooks.WINDOW_S + 60):
        stale = client.post(path, content=BODY, headers=signed(key, BODY, sent))
        assert (stale.status_code, stale.json()["code"]) == (401, "stale_timestamp")

    call = signed(key, BODY)
    no_time = client.post(path, content=BODY, headers={"X-Rathaus-Signature": call["X-Rathaus-Signature"]})
    moved = client.post(path, content=BODY, headers={**call, "X-Rathaus-Timestamp": str(now + 7)})
    body_only = "sha256=" + hmac.new(key.encode(), BODY, hashlib.sha256).hexdigest()  # without the time
    old_scheme = client.post(path, content=BODY, headers={**call, "X-Rathaus-Signature": body_only})
    for refused in (no_time, moved, old_scheme):
        assert (refused.status_code, refused.json()["code"]) == (401, "bad_signature")
    assert runs(client, jena) == 0
    assert client.post(path, content=BODY, headers=call).status_code == 202


def test_signatures_are_kept_only_while_their_call_could_be_accepted(db: Database) -> None:
    sent = 1_800_000_000
    webhooks.remember(db, "sha256=" + "a" * 64, sent, now=sent)
    webhooks.remember(db, "sha256=" + "b" * 64, sent + 100, now=sent + 100)
    with pytest.raises(webhooks.Refused) as refused:
        webhooks.remember(db, "sha256=" + "a" * 64, sent, now=sent + webhooks.WINDOW_S)
    assert (refused.value.status, refused.value.code) == (409, "replayed")
    webhooks.remember(db, "sha256=" + "c" * 64, sent + 350, now=sent + 350)  # the first has expired
    with db.system_session() as session:
        kept = session.scalars(select(WebhookSignature.signature).order_by(WebhookSignature.signature)).all()
        assert kept == ["b" * 64, "c" * 64]
        assert session.scalar(select(func.count()).select_from(WebhookSignature)) == 2


def shell_example(guide: str, introduction: str) -> str:
    """The shell example that follows `introduction` in an operator guide."""
    text = (DOCS / guide).read_text(encoding="utf-8")
    found = re.search(re.escape(introduction) + r".*?```sh\n(.*?)```", text, re.DOTALL)
    assert found, f"no example after {introduction!r} in {guide}"
    return found.group(1)


def test_the_documented_shell_example_starts_a_run(
    settings: Settings, services: Services, client: TestClient, jena: TenantFixture
) -> None:
    example = shell_example("operators.en.md", "A webhook call from a shell")
    assert shell_example("betrieb.de.md", "Ein Webhook-Aufruf aus der Shell") == example
    path, key = hook(client, jena)
    with serve_in_thread(create_app(settings, services)) as url:
        sent = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", example],
            env={"URL": url + path, "KEY": key, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    assert json.loads(sent.stdout)["status"] == "queued", sent.stdout + sent.stderr
    assert runs(client, jena) == 1
