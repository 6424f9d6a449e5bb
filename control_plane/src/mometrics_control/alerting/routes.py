"""Maintenance windows: list, read, create, update, delete, and a monitor's intervals."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.alerting.maintenance import maintenance_intervals
from mometrics_control.alerting.models import MaintenanceWindow
from mometrics_control.alerting.schemas import (
    IntervalRead,
    MaintenanceWindowCreate,
    MaintenanceWindowPage,
    MaintenanceWindowRead,
    MaintenanceWindowUpdate,
)
from mometrics_control.api.deps import CallerDep, SessionDep
from mometrics_control.api.pagination import (
    DEFAULT_LIMIT,
    CursorQuery,
    LimitQuery,
    paginate,
    parse_sort,
    split_page,
)
from mometrics_control.errors import FieldError, InvalidInput, NotFound
from mometrics_control.models import Monitor

log = logging.getLogger("mometrics.alerting")

router = APIRouter(tags=["maintenance"])

_SORTS = {"name": MaintenanceWindow.name, "created_at": MaintenanceWindow.created_at}
_FIELDS = tuple(MaintenanceWindowCreate.model_fields)


async def _check_monitors(
    session: AsyncSession, organization_id: uuid.UUID, monitor_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """Return the ids without repeats; raise InvalidInput for one not in the organisation."""
    unique = list(dict.fromkeys(monitor_ids))
    if not unique:
        return unique
    found = set(
        await session.scalars(
            select(Monitor.id).where(
                Monitor.id.in_(unique), Monitor.organization_id == organization_id
            )
        )
    )
    for index, monitor_id in enumerate(unique):
        if monitor_id not in found:
            raise InvalidInput.for_field(f"monitor_ids.{index}", f"monitor {monitor_id} not found")
    return unique


async def _get_owned(
    session: AsyncSession, organization_id: uuid.UUID, window_id: uuid.UUID
) -> MaintenanceWindow:
    window = await session.get(MaintenanceWindow, window_id, with_for_update=True)
    if window is None or window.organization_id != organization_id:
        raise NotFound(f"maintenance window {window_id} not found")
    return window


def _merge(window: MaintenanceWindow, body: MaintenanceWindowUpdate) -> MaintenanceWindowCreate:
    """Apply a partial change to the stored window and validate the whole result.

    Rules that span fields, such as until_local after starts_at_local, are
    checked on the merged window, so a change of one field is checked
    against the stored values of the others.
    """
    merged: dict[str, Any] = {name: getattr(window, name) for name in _FIELDS}
    merged.update(body.model_dump(include=body.model_fields_set))
    try:
        return MaintenanceWindowCreate.model_validate(merged)
    except ValidationError as err:
        errors = [
            FieldError(
                ".".join(str(part) for part in error["loc"]) or "body",
                error["msg"].removeprefix("Value error, "),
            )
            for error in err.errors()
        ]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise InvalidInput(detail, errors) from None


@router.get("/maintenance-windows")
async def list_windows(
    caller: CallerDep,
    session: SessionDep,
    sort: Annotated[str, Query(description="name or created_at, - in front for descending")] = (
        "name"
    ),
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> MaintenanceWindowPage:
    sorting = parse_sort(sort, _SORTS)
    query = select(MaintenanceWindow).where(
        MaintenanceWindow.organization_id == caller.organization_id
    )
    rows = list(
        await session.scalars(paginate(query, sorting, MaintenanceWindow.id, cursor, limit))
    )
    windows, next_cursor = split_page(rows, sorting, limit)
    return MaintenanceWindowPage(
        items=[MaintenanceWindowRead.model_validate(w) for w in windows], next_cursor=next_cursor
    )


@router.get("/maintenance-windows/{window_id}")
async def get_window(
    window_id: uuid.UUID, caller: CallerDep, session: SessionDep
) -> MaintenanceWindowRead:
    window = await session.get(MaintenanceWindow, window_id)
    if window is None or window.organization_id != caller.organization_id:
        raise NotFound(f"maintenance window {window_id} not found")
    return MaintenanceWindowRead.model_validate(window)


@router.post("/maintenance-windows", status_code=status.HTTP_201_CREATED)
async def create_window(
    body: MaintenanceWindowCreate, caller: CallerDep, session: SessionDep
) -> MaintenanceWindowRead:
    caller.require("member")
    monitor_ids = await _check_monitors(session, caller.organization_id, body.monitor_ids)
    window = MaintenanceWindow(
        id=uuid.uuid4(),
        organization_id=caller.organization_id,
        **{**body.model_dump(), "monitor_ids": monitor_ids},
    )
    session.add(window)
    await session.commit()
    log.info("maintenance window created", extra={"window_id": str(window.id)})
    return MaintenanceWindowRead.model_validate(window)


@router.patch("/maintenance-windows/{window_id}")
async def update_window(
    window_id: uuid.UUID, body: MaintenanceWindowUpdate, caller: CallerDep, session: SessionDep
) -> MaintenanceWindowRead:
    """Change some fields of a window; the result is validated as a whole.

    Alerting reads windows when it evaluates a monitor, so an outage held
    back by a window that the change ends is sent by the next sweep.
    """
    caller.require("member")
    window = await _get_owned(session, caller.organization_id, window_id)
    merged = _merge(window, body)
    merged.monitor_ids = await _check_monitors(session, caller.organization_id, merged.monitor_ids)
    for name in _FIELDS:
        setattr(window, name, getattr(merged, name))
    await session.commit()
    log.info(
        "maintenance window updated",
        extra={"window_id": str(window.id), "fields": ",".join(sorted(body.model_fields_set))},
    )
    return MaintenanceWindowRead.model_validate(window)


@router.delete("/maintenance-windows/{window_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_window(window_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> Response:
    caller.require("member")
    window = await _get_owned(session, caller.organization_id, window_id)
    await session.delete(window)
    await session.commit()
    log.info("maintenance window deleted", extra={"window_id": str(window_id)})
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
