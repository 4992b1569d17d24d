"""Settings read from the environment (prefix VISITORHUB_); defaults run on SQLite with no configuration."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
