from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from mometrics_control.api.deps import CallerDep, SessionDep
from mometrics_control.errors import NotFound
from mometrics_control.models import Incident

router = APIRouter(prefix="/incidents", tags=["incidents"])


class IncidentRead(BaseModel):
    id: uuid.UUID
    monitor_id: uuid.UUID
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    cause: str
    acknowledged_at: dt.datetime | None


class IncidentPage(BaseModel):
    items: list[IncidentRead]


def _read(incident: Incident) -> IncidentRead:
    return IncidentRead(
        id=incident.id,
        monitor_id=incident.monitor_id,
        opened_at=incident.opened_at,
        closed_at=incident.closed_at,
        cause=incident.cause,
        acknowledged_at=incident.acknowledged_at,
    )


@router.get("")
async def list_incidents(
    caller: CallerDep,
    session: SessionDep,
    monitor_id: uuid.UUID | None = None,
    is_open: bool | None = None,
) -> IncidentPage:
    """Incidents of the caller's organisation, newest first."""
    query = select(Incident).where(Incident.organization_id == caller.organization_id)
    if monitor_id is not None:
        query = query.where(Incident.monitor_id == monitor_id)
    if is_open is not None:
        query = query.where(
            Incident.closed_at.is_(None) if is_open else Incident.closed_at.is_not(None)
        )
    incidents = await session.scalars(query.order_by(Incident.opened_at.desc()).limit(500))
    return IncidentPage(items=[_read(i) for i in incidents])


@router.post("/{incident_id}/acknowledge")
async def acknowledge(
    incident_id: uuid.UUID, caller: CallerDep, session: SessionDep
) -> IncidentRead:
    caller.require("member")
    incident = await session.get(Incident, incident_id)
    if incident is None or incident.organization_id != caller.organization_id:
        raise NotFound(f"incident {incident_id} not found")
    if incident.acknowledged_at is None:
        incident.acknowledged_at = dt.datetime.now(dt.UTC)
        incident.acknowledged_by = caller.user.id
        await session.commit()
    return _read(incident)
