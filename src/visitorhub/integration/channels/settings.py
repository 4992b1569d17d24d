"""The channels' own settings (VISITORHUB_CHANNELS_*), read from the environment like Settings.

CORE-CANDIDATE: these belong in config.Settings (`channels_max_body_bytes`); they live here while the
channels are a branch of their own.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024


class ChannelSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VISITORHUB_CHANNELS_", env_file=None, extra="ignore")

    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES,
        ge=1024,
        description="The largest body POST /inbound/... reads (413 beyond it, refused before it is read "
        "whole): 10 MiB by default, about 1,000 S-360 contacts with every detail.",
    )


@lru_cache
def get_channel_settings() -> ChannelSettings:
    return ChannelSettings()
