from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PushOptions(BaseModel):
    """Options of a push monitor."""

    model_config = ConfigDict(extra="forbid")

    # Seconds a ping may be late before the monitor counts as down.
    grace_seconds: int = Field(default=60, ge=0, le=86_400)


class PushTokenRead(BaseModel):
    # Shown once; only its hash is stored. Issuing a new one retires the old.
    token: str
    url: str


class PingAccepted(BaseModel):
    ok: Literal[True] = True
