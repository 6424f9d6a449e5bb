from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Each area has a read scope (GET requests) and a write scope (all others).
Scope = Literal[
    "monitors:read",
    "monitors:write",
    "results:read",
    "incidents:read",
    "incidents:write",
    "channels:read",
    "channels:write",
    "agents:read",
    "agents:write",
    "status-page:read",
    "status-page:write",
]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "deploy pipeline", "scopes": ["monitors:read", "monitors:write"]}]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1, max_length=16)
    expires_at: dt.datetime | None = None


class ApiKeyRead(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_by: uuid.UUID
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyRead):
    # The whole key, shown only in this response; only its hash is stored.
    key: str


class ApiKeyPage(BaseModel):
    items: list[ApiKeyRead]
    next_cursor: str | None = None
