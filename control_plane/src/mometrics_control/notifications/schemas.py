"""Notification channels and the configuration each kind needs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, EmailStr, Field, TypeAdapter

ChannelKind = Literal["webhook", "slack", "discord", "teams", "email", "pagerduty", "telegram"]


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048)
    # Signs each delivery with HMAC-SHA256 when set.
    secret: str | None = Field(default=None, max_length=256)


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[EmailStr] = Field(min_length=1, max_length=20)


class PagerDutyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routing_key: str = Field(min_length=1, max_length=64)


class TelegramConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_token: str = Field(min_length=1, max_length=256)
    chat_id: str = Field(min_length=1, max_length=64)


CONFIG_MODELS: dict[str, type[BaseModel]] = {
    "webhook": WebhookConfig,
    "slack": WebhookConfig,
    "discord": WebhookConfig,
    "teams": WebhookConfig,
    "email": EmailConfig,
    "pagerduty": PagerDutyConfig,
    "telegram": TelegramConfig,
}


def validate_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Return the normalised config, raising pydantic's ValidationError."""
    model = TypeAdapter(CONFIG_MODELS[kind]).validate_python(config)
    data = model.model_dump(exclude_none=True)
    url = data.get("url")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("config.url must be an absolute http:// or https:// URL")
    return data


class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ChannelKind
    name: str = Field(min_length=1, max_length=200)
    config: dict[str, Any]


class ChannelRead(BaseModel):
    id: uuid.UUID
    kind: ChannelKind
    name: str
    config: dict[str, Any]
    created_at: dt.datetime


class ChannelPage(BaseModel):
    items: list[ChannelRead]
    # Pass as `cursor` for the next page; null on the last page.
    next_cursor: str | None = None
