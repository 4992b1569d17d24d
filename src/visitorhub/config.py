"""Settings read from the environment (prefix VISITORHUB_); defaults run on SQLite with no configuration."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'visitorhub.db'}"


class Settings(BaseSettings):
    """Every knob of the service; the README documents each one."""

    model_config = SettingsConfigDict(env_prefix="VISITORHUB_", env_file=None, extra="ignore")

    database_url: str = Field(
        default_factory=_default_database_url,
        description="SQLAlchemy URL of the database; default: visitorhub.db in the working directory.",
    )
    database_echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")
    host: str = Field(default="127.0.0.1", description="Interface `visitorhub serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `visitorhub serve` listens on.")
    log_level: str = Field(default="info", description="Log level: debug, info, warning, error.")
    auto_migrate: bool = Field(
        default=True,
        description="`serve` applies pending migrations on start (set false when a deploy step runs them).",
    )
    bootstrap_admin_key: bool = Field(
        default=True,
        description="`serve` creates and prints an admin API key when the database holds no key at all.",
    )
    allow_private_targets: bool = Field(
        default=False,
        description="Allow outbound calls to private, loopback and link-local addresses (tests, labs).",
    )

    secrets_key: str | None = Field(
        default=None,
        repr=False,
        description="Seals stored secrets (receiver passwords, API keys, signing secrets): a Fernet key or a "
        "passphrase; comma-separated keys rotate (the first seals, any opens). Unset: stored as given.",
    )
    streams_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=300,
        description="How long a stream delivery waits for the receiver's answer before counting a failure.",
    )
    streams_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long a subscription stays claimed by a run without news from it (renewed before "
        "every payload); after a crash on another host, the subscription runs again once it expires.",
    )
    worker_poll_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How often the worker looks for subscriptions that are due."
    )
    event_token_secret: str | None = Field(
        default=None,
        min_length=32,
        repr=False,
        description="HS256 key that signs visitors' event tokens (at least 32 characters). Unset: one is "
        "generated on first use and kept in the database (sealed with VISITORHUB_SECRETS_KEY when set).",
    )
    event_token_ttl_seconds: int = Field(
        default=3600, ge=1, le=31_536_000, description="Lifetime of an event token, in seconds."
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest request body any operation accepts (bytes): a larger one is a 413, refused from "
        "its Content-Length or as soon as the bytes received pass it.",
    )
    max_import_body_bytes: int = Field(
        default=100 * 1024 * 1024,
        ge=1024,
        description="Largest request body of a template import (`POST /integration/{template}`), which "
        "carries up to 100,000 rows (bytes).",
    )
    metrics_public: bool = Field(
        default=False, description="Serve /metrics without an API key (default: any key, read scope)."
    )
    channels_group_wait_ms: float = Field(
        default=5.0,
        ge=0,
        le=100,
        description="Longest an inbound channel's group commit waits for the payloads of the other senders "
        "recently active before it stores what is queued (milliseconds; 0: never waits). A lone sender "
        "never waits.",
    )
    sqlite_checkpoint_ms: int = Field(
        default=100,
        ge=0,
        le=60_000,
        description="How often the server copies SQLite's write-ahead log into the database from a thread of "
        "its own, so that writers' commits do not (milliseconds; 0: the writers do, in the commit that makes "
        "the log cross 10,000 pages). SQLite only.",
    )

    @model_validator(mode="after")
    def _lease_outlives_a_request(self) -> Settings:
        # A run renews its lease before each POST; the lease must outlive one request, or a second worker
        # could take the subscription while the first still waits for an answer.
        if self.streams_lease_seconds <= self.streams_timeout_seconds:
            raise ValueError(
                "VISITORHUB_STREAMS_LEASE_SECONDS must be greater than VISITORHUB_STREAMS_TIMEOUT_SECONDS"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
