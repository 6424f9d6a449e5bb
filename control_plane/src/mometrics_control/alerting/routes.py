"""Maintenance windows: list, create, delete, and a monitor's intervals."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select

from mometrics_control.alerting.maintenance import maintenance_intervals
from mometrics_control.alerting.models import MaintenanceWindow
from mometrics_control.api.deps import CallerDep, SessionDep
from mometrics_control.errors import InvalidInput, NotFound
from mometrics_control.models import Monitor

router = APIRouter(tags=["maintenance"])


class MaintenanceWindowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    # Empty covers every monitor of the organisation.
    monitor_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    # IANA time zone, such as Europe/Berlin.
    timezone: str = Field(default="UTC", max_length=64)
    # Wall-clock start in `timezone`, without an offset, such as 2026-12-05T02:00:00.
    starts_at_local: dt.datetime
    duration_s: int = Field(ge=60, le=31 * 86_400)
    recurrence: Literal["none", "daily", "weekly", "monthly"] = "none"
    until_local: dt.datetime | None = None

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from None
        return value

    @model_validator(mode="after")
    def _check_local_times(self) -> MaintenanceWindowCreate:
        for value in (self.starts_at_local, self.until_local):
            if value is not None and value.tzinfo is not None:
                raise ValueError("starts_at_local and until_local take no offset; set timezone")
        return self


class MaintenanceWindowRead(MaintenanceWindowCreate):
    model_config = ConfigDict(extra="ignore", from_attributes=True)

    id: uuid.UUID


class MaintenanceWindowPage(BaseModel):
    items: list[MaintenanceWindowRead]


class IntervalRead(BaseModel):
    start: dt.datetime
    end: dt.datetime


@router.get("/maintenance-windows")
async def list_windows(caller: CallerDep, session: SessionDep) -> MaintenanceWindowPage:
    windows = await session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.organization_id == caller.organization_id)
        .order_by(MaintenanceWindow.name, MaintenanceWindow.id)
    )
    return MaintenanceWindowPage(items=[MaintenanceWindowRead.model_validate(w) for w in windows])


@router.post("/maintenance-windows", status_code=status.HTTP_201_CREATED)
async def create_window(
    body: MaintenanceWindowCreate, caller: CallerDep, session: SessionDep
) -> MaintenanceWindowRead:
    caller.require("member")
    if body.monitor_ids:
        found = set(
            await session.scalars(
                select(Monitor.id).where(
                    Monitor.id.in_(body.monitor_ids),
                    Monitor.organization_id == caller.organization_id,
                )
            )
        )
        for monitor_id in body.monitor_ids:
            if monitor_id not in found:
                raise InvalidInput.for_field("monitor_ids", f"monitor {monitor_id} not found")
    window = MaintenanceWindow(
        id=uuid.uuid4(), organization_id=caller.organization_id, **body.model_dump()
    )
    session.add(window)
    await session.commit()
    return MaintenanceWindowRead.model_validate(window)


@router.delete("/maintenance-windows/{window_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_window(window_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> Response:
    caller.require("member")
    window = await session.get(MaintenanceWindow, window_id)
    if window is None or window.organization_id != caller.organization_id:
        raise NotFound(f"maintenance window {window_id} not found")
    await session.delete(window)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/monitors/{monitor_id}/maintenance")
async def monitor_maintenance(
    monitor_id: uuid.UUID,
    caller: CallerDep,
    session: SessionDep,
    since: dt.datetime,
    until: dt.datetime,
) -> list[IntervalRead]:
    """Maintenance intervals of a monitor within [since, until), merged, in UTC."""
    monitor = await session.get(Monitor, monitor_id)
    if monitor is None or monitor.organization_id != caller.organization_id:
        raise NotFound(f"monitor {monitor_id} not found")
    if since.tzinfo is None or until.tzinfo is None or since >= until:
        raise InvalidInput.for_field("since", "since and until need offsets and since < until")
    if until - since > dt.timedelta(days=400):
        raise InvalidInput.for_field("since", "a range spans at most 400 days")
    intervals = await maintenance_intervals(session, monitor_id, since, until)
    return [IntervalRead(start=start, end=end) for start, end in intervals]
