from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from mometrics_control.results.schemas import MonitorStatus

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"


class StatusPageWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"slug": "acme", "title": "Acme status", "monitor_ids": []}]
        },
    )

    slug: str = Field(pattern=SLUG_PATTERN, description="Lower-case letters, digits and -.")
    title: str = Field(min_length=1, max_length=200)
    # Monitors shown on the page, in this order.
    monitor_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)


class PublishedMonitorRead(BaseModel):
    monitor_id: uuid.UUID
    public_id: str
    name: str
    badge_url: str


class StatusPageRead(BaseModel):
    slug: str
    title: str
    url: str
    monitors: list[PublishedMonitorRead]
    updated_at: dt.datetime


class PublicMonitorStatus(BaseModel):
    public_id: str
    name: str
    status: MonitorStatus
    uptime_24h: float | None
    uptime_30d: float | None


class PublicStatusPage(BaseModel):
    title: str
    # down when any monitor is down, degraded when any is degraded, else up
    # (monitors without data do not count).
    status: MonitorStatus
    monitors: list[PublicMonitorStatus]
    generated_at: dt.datetime
