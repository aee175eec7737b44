"""The command line an operator uses: tenants, users, keys, models, demo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from rathaus.cli import app
from rathaus.identity.models import User
from rathaus.settings import Settings
from rathaus.store.db import Database

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory in the environment."""
    for name in list(__import__("os").environ):
        if name.startswith("RATHAUS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RATHAUS_DATA_DIR", str(tmp_path))
    return tmp_path


def test_demo_tenant_user_and_key(env: Path) -> None:
    demo = runner.invoke(app, ["demo", "--password", "demo-passwort-123", "--no-knowledge"])
    assert demo.exit_code == 0, demo.output
    key = re.search(r"rh_\S+", demo.output)
    assert key and "admin@musterstadt.example" in demo.output
    again = runner.invoke(app, ["demo", "--no-knowledge"])
    new_key = re.search(r"rh_\S+", again.output)
    assert new_key and new_key.group(0) != key.group(0)  # a fresh key; the old one is revoked

    assert runner.invoke(app, ["tenant", "create", "jena", "--name", "Stadt Jena"]).exit_code == 0
    duplicate = runner.invoke(app, ["tenant", "create", "jena"])
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output
    added = runner.invoke(
        app,
        [
            "user",
            "add",
            "a@jena.example",
            "--tenant",
            "jena",
            "--role",
            "builder",
            "--password",
            "sicheres-passwort",
        ],
    )
    assert added.exit_code == 0, added.output
    bad_role = runner.invoke(
        app,
        [
            "user",
            "add",
            "b@jena.example",
            "--tenant",
            "jena",
            "--role",
            "chef",
            "--password",
            "sicheres-passwort",
        ],
    )
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output
    created = runner.invoke(app, ["key", "create", "--tenant", "jena", "--name", "Fachverfahren"])
    assert created.exit_code == 0 and created.output.startswith("rh_")
    listed = runner.invoke(app, ["tenant", "list"])
    assert "jena" in listed.output and "musterstadt" in listed.output

    from rathaus.identity.api_keys import authenticate_key

    database = Database(Settings(data_dir=env).effective_database_url)
    with database.system_session() as session:
        assert authenticate_key(session, key.group(0)) is None
        assert authenticate_key(session, new_key.group(0)) is not None
        assert authenticate_key(session, created.output.strip()) is not None
    database.dispose()


def test_register_gguf_by_path(env: Path) -> None:
    gguf = env / "eigenes.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    result = runner.invoke(app, ["models", "register", "eigenes-modell", "--path", str(gguf), "--tier", "3"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["models", "list"])
    assert re.search(r"eigenes-modell\s+3\s+llamacpp", listed.output)
    not_gguf = env / "text.gguf"
    not_gguf.write_text("kein Modell")
    refused = runner.invoke(app, ["models", "register", "x", "--path", str(not_gguf)])
    assert refused.exit_code == 2 and "not a GGUF file" in refused.output


def test_unknown_bundled_model_is_named(env: Path) -> None:
    result = runner.invoke(app, ["models", "install", "llama-70b"])
    assert result.exit_code == 2 and "qwen2.5-1.5b" in result.output


def test_settings_lists_every_setting_without_secrets(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "RATHAUS_DATABASE_URL", "postgresql+psycopg://rathaus:GeheimesPasswort@db.intern/rathaus"
    )
    monkeypatch.setenv("RATHAUS_SECRET_KEY", "k" * 40)
    result = runner.invoke(app, ["settings"])
    for name in Settings.model_fields:
        assert f"RATHAUS_{name.upper()}" in result.output
    assert "GeheimesPasswort" not in result.output and "k" * 40 not in result.output
    assert "db.intern" in result.output


def test_key_list_and_revoke_and_user_update(env: Path) -> None:
    unmigrated = runner.invoke(app, ["tenant", "create", "gera"])
    assert unmigrated.exit_code == 2 and "rathaus db upgrade" in unmigrated.output
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["tenant", "create", "gera"]).exit_code == 0
    token = runner.invoke(
        app, ["key", "create", "--tenant", "gera", "--name", "Schnittstelle"]
    ).output.strip()
    prefix = token.split("_")[1]
    listed = runner.invoke(app, ["key", "list", "--tenant", "gera"])
    assert f"rh_{prefix}_" in listed.output and "active" in listed.output and token not in listed.output
    assert runner.invoke(app, ["key", "revoke", prefix]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["key", "list", "--tenant", "gera"]).output

    args = ["user", "add", "c@gera.example", "--tenant", "gera", "--password", "erstes-passwort"]
    assert runner.invoke(app, args).exit_code == 0
    final = ["user", "add", "d@gera.example", "--tenant", "gera", "--password", "eigenes-passwort", "--final"]
    assert runner.invoke(app, final).exit_code == 0
    with Database(Settings(data_dir=env).effective_database_url).system_session() as session:
        chosen = {u.email: u.must_change_password for u in session.scalars(select(User))}
    assert chosen == {"c@gera.example": True, "d@gera.example": False}  # a typed password is temporary
    again = runner.invoke(app, ["user", "add", "c@gera.example", "--tenant", "gera", "--role", "admin"])
    assert again.exit_code == 0 and "admin" in again.output  # no password prompt for an existing user
    weak = runner.invoke(app, ["demo", "--password", "kurz", "--no-knowledge"])
    assert weak.exit_code == 2 and "at least" in weak.output


def test_spec_validate_apply_export_and_chat(env: Path) -> None:
    import yaml

    from tests.conftest import SCRIPTED_CATALOGUE

    (env / "models.yaml").write_text(yaml.safe_dump(SCRIPTED_CATALOGUE), encoding="utf-8")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["tenant", "create", "jena"]).exit_code == 0
    document = env / "auskunft.yaml"
    document.write_text(
        "apiVersion: rathaus/v1\nkind: Assistant\nmetadata:\n  name: auskunft\n  title: Auskunft\n"
        "spec:\n  instructions: Antworte knapp.\n  model:\n    mode: profile\n    profile: scripted\n",
        encoding="utf-8",
    )
    assert "gültig" in runner.invoke(app, ["spec", "validate", str(document)]).output
    broken = env / "kaputt.yaml"
    broken.write_text(document.read_text().replace("profile: scripted", "profile: scripted\n  creativity: 7"))
    invalid = runner.invoke(app, ["spec", "validate", str(broken)])
    assert invalid.exit_code == 1 and f"{broken}:11:3: spec.creativity" in invalid.output
    assert "Version 1" in runner.invoke(app, ["spec", "apply", str(document), "--tenant", "jena"]).output
    assert "Version 2" in runner.invoke(app, ["spec", "apply", str(document), "--tenant", "jena"]).output
    exported = runner.invoke(app, ["spec", "export", "auskunft", "--tenant", "jena"])
    assert yaml.safe_load(exported.output)["spec"]["instructions"] == "Antworte knapp."
    answer = runner.invoke(app, ["chat", "auskunft", "Wo ist das Bürgeramt?", "--tenant", "jena"])
    assert answer.exit_code == 0, answer.output
    assert "Antworte knapp." in answer.output and "Echo: Wo ist das Bürgeramt?" in answer.output
    missing = runner.invoke(app, ["chat", "gibt-es-nicht", "Hallo", "--tenant", "jena"])
    assert missing.exit_code == 1 and "not found" in missing.output


def test_ingest_and_reindex(env: Path, tmp_path: Path) -> None:
    corpus = Path(__file__).parent.parent / "src" / "rathaus" / "knowledge" / "demo" / "corpus"
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["tenant", "create", "jena"]).exit_code == 0
    created = runner.invoke(
        app, ["collection", "create", "satzungen", "--tenant", "jena", "--title", "Satzungen"]
    )
    assert created.exit_code == 0, created.output
    folder = tmp_path / "upload"
    folder.mkdir()
    for stem in ("hundesteuer", "reisepass"):
        source = next(corpus.glob(f"{stem}.*"))
        (folder / source.name).write_bytes(source.read_bytes())
    (folder / "notiz.xyz").write_text("wird übersprungen")  # unreadable files in a folder are skipped
    (folder / "kaputt.pdf").write_bytes(b"%PDF-1.4 kaputt")
    result = runner.invoke(app, ["ingest", "satzungen", str(folder), "--tenant", "jena"])
    assert result.exit_code == 1, result.output  # one document failed
    assert "2 bereit / ready, 1 fehlgeschlagen / failed" in result.output
    assert "kaputt.pdf" in result.output and "damaged" in result.output

    refused = runner.invoke(app, ["ingest", "satzungen", str(folder / "notiz.xyz"), "--tenant", "jena"])
    assert refused.exit_code == 2 and "cannot read" in refused.output
    listed = runner.invoke(app, ["collection", "list", "--tenant", "jena"])
    assert "2/3 bereit / ready" in listed.output

    again = runner.invoke(app, ["reindex", "--tenant", "jena"])
    assert (
        again.exit_code == 1 and "satzungen: 3 Dokumente / documents" in again.output
    )  # the PDF fails again


def test_a_workflow_is_applied_run_listed_shown_and_retried(env: Path) -> None:
    import json

    import yaml

    from tests.conftest import SCRIPTED_CATALOGUE

    (env / "models.yaml").write_text(yaml.safe_dump(SCRIPTED_CATALOGUE), encoding="utf-8")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["tenant", "create", "jena"]).exit_code == 0
    document = env / "ablauf.yaml"
    document.write_text(
        "apiVersion: rathaus/v1\nkind: Workflow\nmetadata: {name: ablauf, title: Ablauf}\nspec:\n"
        "  input: {type: object, required: [name]}\n  steps:\n"
        "    - {id: gruss, type: template, with: {text: 'Hallo {{ input.name }}'}}\n"
        "    - {id: senden, type: send_email, retries: 0, with: {to: a@example.org, subject: Hi, body: x}}\n",
        encoding="utf-8",
    )
    assert "gültig" in runner.invoke(app, ["spec", "validate", str(document)]).output
    assert "Version 1" in runner.invoke(app, ["spec", "apply", str(document), "--tenant", "jena"]).output
    data = env / "input.json"
    data.write_text(json.dumps({"name": "Eva"}), encoding="utf-8")

    refused = runner.invoke(app, ["run", "ablauf", "--tenant", "jena"])  # {} misses `name`
    assert refused.exit_code == 2 and "'name' is a required property" in refused.output
    not_ready = runner.invoke(app, ["run", "ablauf", "--tenant", "jena", "--input", str(data)])
    assert not_ready.exit_code == 2 and "mail_server" in not_ready.output  # no SMTP server: refused at once
    assert "run " not in runner.invoke(app, ["runs", "list", "--tenant", "jena"]).output.lower()

    # A host known only from the input is checked when the run gets there: the run fails at that step.
    (env / "abruf.yaml").write_text(
        "apiVersion: rathaus/v1\nkind: Workflow\nmetadata: {name: abruf, title: Abruf}\nspec:\n"
        "  input: {type: object, required: [name, host]}\n  steps:\n"
        "    - {id: gruss, type: template, with: {text: 'Hallo {{ input.name }}'}}\n"
        "    - {id: abruf, type: http, retries: 0, with: {url: 'http://{{ input.host }}/akte'}}\n",
        encoding="utf-8",
    )
    assert (
        "Version 1"
        in runner.invoke(app, ["spec", "apply", str(env / "abruf.yaml"), "--tenant", "jena"]).output
    )
    (env / "abruf.json").write_text(json.dumps({"name": "Eva", "host": "intranet.example"}), encoding="utf-8")
    ran = runner.invoke(app, ["run", "abruf", "--tenant", "jena", "--input", str(env / "abruf.json")])
    assert ran.exit_code == 1, ran.output
    assert "✓ gruss (template) succeeded" in ran.output
    assert "✗ abruf (http) failed" in ran.output and "RATHAUS_WORKFLOW_HTTP_HOSTS" in ran.output
    run_id = re.search(r"run ([0-9a-f]{32})", ran.output).group(1)  # type: ignore[union-attr]

    listed = runner.invoke(app, ["runs", "list", "--tenant", "jena"])
    assert run_id in listed.output and "failed" in listed.output
    shown = json.loads(runner.invoke(app, ["runs", "show", run_id, "--tenant", "jena"]).output)
    assert shown["steps"][0]["output"] == {"text": "Hallo Eva"} and shown["failed_step"] == "abruf"
    again = runner.invoke(app, ["runs", "retry", run_id, "--tenant", "jena"])
    assert again.exit_code == 1 and "✗ abruf" in again.output
    test_run = runner.invoke(app, ["run", "ablauf", "--tenant", "jena", "--input", str(data), "--test"])
    assert test_run.exit_code == 0 and "would_send" in test_run.output
