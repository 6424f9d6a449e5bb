"""Request and response bodies of the maintenance window routes."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Recurrence = Literal["none", "daily", "weekly", "monthly"]
MAX_MONITORS = 500


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from None
    return value


def _check_local(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is not None:
        raise ValueError("takes a wall-clock time without an offset; set timezone instead")
    return value


class MaintenanceWindowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    # Empty covers every monitor of the organisation.
    monitor_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_MONITORS)
    # IANA time zone, such as Europe/Berlin.
    timezone: str = Field(default="UTC", max_length=64)
    # Wall-clock start in `timezone`, without an offset, such as 2026-12-05T02:00:00.
    starts_at_local: dt.datetime
    duration_s: int = Field(ge=60, le=31 * 86_400)
    recurrence: Recurrence = "none"
    # Wall-clock time in `timezone` after which a recurring window starts no more.
    until_local: dt.datetime | None = None

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        return _check_timezone(value)

    @field_validator("starts_at_local", "until_local")
    @classmethod
    def _check_local_time(cls, value: dt.datetime | None) -> dt.datetime | None:
        return _check_local(value)

    @field_validator("until_local")
    @classmethod
    def _check_until(cls, value: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        # `starts_at_local` is absent from info.data when it failed its own checks.
        starts_at = info.data.get("starts_at_local")
        if value is not None and starts_at is not None and value <= starts_at:
            raise ValueError("must be after starts_at_local")
        return value


class MaintenanceWindowUpdate(BaseModel):
    """A partial change: fields left out keep their value; until_local null clears it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    monitor_ids: list[uuid.UUID] | None = Field(default=None, max_length=MAX_MONITORS)
    timezone: str | None = Field(default=None, max_length=64)
    starts_at_local: dt.datetime | None = None
    duration_s: int | None = Field(default=None, ge=60, le=31 * 86_400)
    recurrence: Recurrence | None = None
    until_local: dt.datetime | None = None

    @field_validator(
        "name", "monitor_ids", "timezone", "starts_at_local", "duration_s", "recurrence"
    )
    @classmethod
    def _reject_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null; leave it out to keep it")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        return _check_timezone(value)

    @field_validator("starts_at_local", "until_local")
    @classmethod
    def _check_local_time(cls, value: dt.datetime | None) -> dt.datetime | None:
        return _check_local(value)


class MaintenanceWindowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    monitor_ids: list[uuid.UUID]
    timezone: str
    starts_at_local: dt.datetime
    duration_s: int
    recurrence: Recurrence
    until_local: dt.datetime | None


class MaintenanceWindowPage(BaseModel):
    items: list[MaintenanceWindowRead]
    # Pass as `cursor` for the next page; null on the last page.
    next_cursor: str | None = None


class IntervalRead(BaseModel):
    start: dt.datetime
    end: dt.datetime
