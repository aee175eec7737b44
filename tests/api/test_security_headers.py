"""Security headers on every answer: pages run only this site's own code and cannot be framed, nothing is
MIME-sniffed, referrers leave without path; the cross-origin widget keeps working."""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib.resources import files

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantFixture
from tests.web.session import login

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no storage involved


def assert_protected(headers: Mapping[str, str], where: str) -> str:
    """The common headers are there; returns the Content Security Policy."""
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "strict-origin-when-cross-origin", where
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, where
    return policy


@SQLITE
def test_a_staff_page_runs_only_this_sites_code_and_cannot_be_framed(
    client: TestClient, jena: TenantFixture
) -> None:
    login(client, jena.staff_email)
    page = client.get("/assistants")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = assert_protected(page.headers, "/assistants")
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert "unsafe" not in policy  # neither inline code nor eval
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert_protected(client.get("/login").headers, "/login")
    assert_protected(client.get("/static/rathaus.css").headers, "/static/rathaus.css")


@SQLITE
def test_api_and_v1_answers_carry_the_headers_errors_too(client: TestClient, jena: TenantFixture) -> None:
    me = client.get("/api/me", headers=jena.headers())
    assert me.status_code == 200
    assert_protected(me.headers, "/api/me")
    assert_protected(client.get("/api/me").headers, "/api/me 401")
    models = client.get("/v1/models", headers=jena.headers())
    assert models.status_code == 200
    assert_protected(models.headers, "/v1/models")
    too_large = client.post(
        "/v1/chat/completions",
        content=b"x" * (65 * 1024),
        headers={**jena.headers(), "Content-Type": "application/json"},
    )
    assert too_large.status_code == 413
    assert_protected(too_large.headers, "413 of the body limit")


@SQLITE
def test_the_widget_script_can_still_be_embedded_on_city_pages(client: TestClient) -> None:
    script = client.get("/widget.js", headers={"Origin": "https://www.jena.example"})
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")  # right type, so nosniff is fine
    assert script.headers["access-control-allow-origin"] == "*"
    assert script.headers["x-content-type-options"] == "nosniff"
    for isolating in ("cross-origin-resource-policy", "cross-origin-embedder-policy"):
        assert isolating not in script.headers


@SQLITE
def test_the_api_documentation_may_load_its_scripts(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    policy = assert_protected(docs.headers, "/docs")
    assert "https://cdn.jsdelivr.net" in policy
    assert "cdn.jsdelivr.net" not in client.get("/login").headers["content-security-policy"]


def test_the_page_templates_have_no_inline_code() -> None:
    """The policy allows no inline scripts, styles or event handlers; pages that had them would break."""
    templates = files("rathaus.web").joinpath("templates")
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.I)
    found = {
        t.name: inline.findall(t.read_text(encoding="utf-8"))
        for t in templates.iterdir()
        if t.name.endswith(".html")
    }
    assert {name: hits for name, hits in found.items() if hits} == {}
