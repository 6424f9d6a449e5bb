from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from mometrics_control.alerting.models import IncidentEvent
from mometrics_control.api.deps import CallerDep, SessionDep
from mometrics_control.api.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from mometrics_control.errors import NotFound
from mometrics_control.incidents import listing
from mometrics_control.incidents.listing import IncidentStatus
from mometrics_control.incidents.timeline import TimelineEntry, load_timeline
from mometrics_control.models import Incident

router = APIRouter(prefix="/incidents", tags=["incidents"])


class IncidentRead(BaseModel):
    id: uuid.UUID
    monitor_id: uuid.UUID
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    cause: str
    acknowledged_at: dt.datetime | None
    acknowledged_by: uuid.UUID | None = None
    parent_incident_id: uuid.UUID | None = None
    # Why nobody was paged: parent, maintenance or flapping.
    suppressed_reason: str | None = None
    notified_at: dt.datetime | None = None


class IncidentDetail(IncidentRead):
    timeline: list[TimelineEntry]
    # First error message of each region that went down during the incident.
    first_errors: dict[str, str | None]


class IncidentUpdateCreate(BaseModel):
    message: str = Field(min_length=1, max_length=5000)


class IncidentPage(BaseModel):
    items: list[IncidentRead]
    # Pass as `cursor` for the next page; null on the last page.
    next_cursor: str | None = None


def _read(incident: Incident) -> IncidentRead:
    return IncidentRead(
        id=incident.id,
        monitor_id=incident.monitor_id,
        opened_at=incident.opened_at,
        closed_at=incident.closed_at,
        cause=incident.cause,
        acknowledged_at=incident.acknowledged_at,
        acknowledged_by=incident.acknowledged_by,
        parent_incident_id=incident.parent_incident_id,
        suppressed_reason=incident.suppressed_reason,
        notified_at=incident.notified_at,
    )


async def _get_owned(session: SessionDep, caller: CallerDep, incident_id: uuid.UUID) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None or incident.organization_id != caller.organization_id:
        raise NotFound(f"incident {incident_id} not found")
    return incident


@router.get("")
async def list_incidents(
    caller: CallerDep,
    session: SessionDep,
    monitor_id: uuid.UUID | None = None,
    status: Annotated[
        IncidentStatus | None, Query(description="open, or resolved (closed)")
    ] = None,
    since: Annotated[
        dt.datetime | None,
        Query(description="Incidents still open at or closed after this time (with offset)."),
    ] = None,
    until: Annotated[
        dt.datetime | None, Query(description="Incidents opened before this time (with offset).")
    ] = None,
    acknowledged: bool | None = None,
    sort: Annotated[str, Query(description="opened_at, or -opened_at for newest first")] = (
        listing.DEFAULT_SORT
    ),
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> IncidentPage:
    """Incidents of the caller's organisation, newest first, one page at a time."""
    filters = listing.IncidentFilters(
        monitor_id=monitor_id,
        status=status,
        since=since,
        until=until,
        is_acknowledged=acknowledged,
    )
    incidents, next_cursor = await listing.list_page(
        session, caller.organization_id, filters, sort, cursor, limit
    )
    return IncidentPage(items=[_read(i) for i in incidents], next_cursor=next_cursor)


@router.get("/{incident_id}")
async def get_incident(
    incident_id: uuid.UUID, caller: CallerDep, session: SessionDep
) -> IncidentDetail:
    """One incident with its timeline: region changes, notices, updates."""
    incident = await _get_owned(session, caller, incident_id)
    timeline, first_errors = await load_timeline(session, incident)
    return IncidentDetail(
        **_read(incident).model_dump(), timeline=timeline, first_errors=first_errors
    )


@router.post("/{incident_id}/acknowledge")
async def acknowledge(
    incident_id: uuid.UUID, caller: CallerDep, session: SessionDep
) -> IncidentRead:
    """Acknowledge an incident, which stops its reminders and escalation."""
    caller.require("member")
    incident = await _get_owned(session, caller, incident_id)
    if incident.acknowledged_at is None:
        now = dt.datetime.now(dt.UTC)
        incident.acknowledged_at = now
        incident.acknowledged_by = caller.user.id
        session.add(
            IncidentEvent(
                incident_id=incident.id, at=now, kind="acknowledged", user_id=caller.user.id
            )
        )
        await session.commit()
    return _read(incident)


@router.post("/{incident_id}/updates", status_code=status.HTTP_201_CREATED)
async def post_update(
    incident_id: uuid.UUID, body: IncidentUpdateCreate, caller: CallerDep, session: SessionDep
) -> TimelineEntry:
    """Add a user-written update to the incident's timeline."""
    caller.require("member")
    incident = await _get_owned(session, caller, incident_id)
    event = IncidentEvent(
        incident_id=incident.id,
        at=dt.datetime.now(dt.UTC),
        kind="update",
        message=body.message,
        user_id=caller.user.id,
    )
    session.add(event)
    await session.commit()
    return TimelineEntry(at=event.at, kind="update", message=body.message, user_id=caller.user.id)
