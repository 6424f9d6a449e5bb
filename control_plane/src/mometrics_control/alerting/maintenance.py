"""Maintenance windows: when they occur, and which monitors they cover.

A window starts at a wall-clock time in its own time zone and repeats daily,
weekly or monthly on that wall clock, so a 02:00 window stays at 02:00 local
time across daylight-saving changes. Its duration is absolute (seconds).
A monthly window on the 31st occurs on the last day of shorter months.

`maintenance_intervals` is the entry point for other code (uptime excludes
these intervals; alerting suppresses notifications inside them).
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
import zoneinfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.alerting.models import MaintenanceWindow
from mometrics_control.models import Monitor

RECURRENCES = ("none", "daily", "weekly", "monthly")
# Upper bound on occurrences expanded for one query, against runaway loops.
MAX_OCCURRENCES = 5000

Interval = tuple[dt.datetime, dt.datetime]


def _add_months(value: dt.datetime, months: int) -> dt.datetime:
    month_index = value.month - 1 + months
    year, month = value.year + month_index // 12, month_index % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def _nth_start(window: MaintenanceWindow, n: int) -> dt.datetime:
    start = window.starts_at_local
    if window.recurrence == "daily":
        return start + dt.timedelta(days=n)
    if window.recurrence == "weekly":
        return start + dt.timedelta(weeks=n)
    return _add_months(start, n)


def _first_index(window: MaintenanceWindow, since_local: dt.datetime) -> int:
    """Return an occurrence index at or before the first one ending after `since`."""
    lead = since_local - window.starts_at_local - dt.timedelta(seconds=window.duration_s)
    if lead <= dt.timedelta(0):
        return 0
    if window.recurrence == "daily":
        return max(lead.days - 1, 0)
    if window.recurrence == "weekly":
        return max(lead.days // 7 - 1, 0)
    return max(lead.days // 31 - 1, 0)


def occurrences(
    window: MaintenanceWindow, since: dt.datetime, until: dt.datetime
) -> list[Interval]:
    """Return the window's occurrences overlapping [since, until), in UTC."""
    zone = zoneinfo.ZoneInfo(window.timezone)
    duration = dt.timedelta(seconds=window.duration_s)
    if window.recurrence == "none":
        start = window.starts_at_local.replace(tzinfo=zone).astimezone(dt.UTC)
        return [(start, start + duration)] if start < until and start + duration > since else []

    since_local = since.astimezone(zone).replace(tzinfo=None)
    found = []
    n = _first_index(window, since_local)
    for _ in range(MAX_OCCURRENCES):
        local = _nth_start(window, n)
        n += 1
        if window.until_local is not None and local > window.until_local:
            break
        start = local.replace(tzinfo=zone).astimezone(dt.UTC)
        if start >= until:
            break
        if start + duration > since:
            found.append((start, start + duration))
    return found


def merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


async def maintenance_intervals(
    session: AsyncSession, monitor_id: uuid.UUID, since: dt.datetime, until: dt.datetime
) -> list[Interval]:
    """Return the merged maintenance intervals of a monitor within [since, until).

    Intervals are clipped to the range, sorted and never overlap.
    """
    organization_id = await session.scalar(
        select(Monitor.organization_id).where(Monitor.id == monitor_id)
    )
    if organization_id is None:
        return []
    windows = await session.scalars(
        select(MaintenanceWindow).where(
            MaintenanceWindow.organization_id == organization_id,
            or_(
                MaintenanceWindow.monitor_ids == [],
                MaintenanceWindow.monitor_ids.any(monitor_id),  # type: ignore[arg-type]
            ),
        )
    )
    intervals = [
        (max(start, since), min(end, until))
        for window in windows
        for start, end in occurrences(window, since, until)
    ]
    return merge(intervals)


async def is_in_maintenance(session: AsyncSession, monitor_id: uuid.UUID, at: dt.datetime) -> bool:
    intervals = await maintenance_intervals(session, monitor_id, at, at + dt.timedelta(seconds=1))
    return bool(intervals)
