from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel

from mometrics_control.monitors.schemas import MonitorRead

RegionStatus = Literal["up", "down", "no_data", "no_coverage"]
MonitorStatus = Literal["up", "down", "degraded", "no_data", "paused"]


class Latency(BaseModel):
    p50: float
    p95: float
    p99: float
    avg: float


class RegionUptime(BaseModel):
    region: str
    status: RegionStatus
    uptime: float | None
    coverage: float
    checks: int
    latency_ms: Latency | None
    last_checked_at: dt.datetime | None


class UptimeRead(BaseModel):
    monitor_id: uuid.UUID
    window: str
    since: dt.datetime
    until: dt.datetime
    status: MonitorStatus
    # Up time over observed time, maintenance excluded from both.
    uptime: float | None
    # Observed time over the window minus maintenance_s.
    coverage: float
    # Seconds of the window inside maintenance windows.
    maintenance_s: float
    latency_ms: Latency | None
    regions: list[RegionUptime]


class Phases(BaseModel):
    dns_ms: float | None
    connect_ms: float | None
    tls_ms: float | None
    first_byte_ms: float | None
    transfer_ms: float | None


class ResultRead(BaseModel):
    region: str
    agent_id: uuid.UUID | None
    status: Literal["up", "down", "unknown"]
    latency_ms: float
    scheduled_at: dt.datetime
    started_at: dt.datetime
    status_code: int | None
    error_class: str | None
    error_message: str | None
    phases: Phases
    is_low_confidence: bool


class ResultPage(BaseModel):
    items: list[ResultRead]
    next_cursor: str | None


class RegionState(BaseModel):
    region: str
    status: RegionStatus
    last_latency_ms: float | None
    last_checked_at: dt.datetime | None
    last_error: str | None


class OverviewItem(BaseModel):
    monitor: MonitorRead
    status: MonitorStatus
    regions: list[RegionState]
    uptime_24h: float | None
    uptime_7d: float | None
    uptime_30d: float | None
    last_latency_ms: float | None
    sparkline: list[float | None]


class OverviewPage(BaseModel):
    items: list[OverviewItem]
    # End of the uptime windows: the start of the minute the overview was
    # built in. Results of the running minute count from the next minute on.
    until: dt.datetime
