"""An incident's timeline: region transitions merged with incident events."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.alerting.models import IncidentEvent, RegionTransition
from mometrics_control.models import Incident


class TimelineEntry(BaseModel):
    at: dt.datetime
    # region_change, opened, closed, acknowledged, update, notified,
    # suppressed, reminder, escalated.
    kind: str
    message: str = ""
    region: str | None = None
    previous: str | None = None
    current: str | None = None
    user_id: uuid.UUID | None = None


async def load_timeline(
    session: AsyncSession, incident: Incident
) -> tuple[list[TimelineEntry], dict[str, str | None]]:
    """Return the timeline, oldest first, and the first error per region."""
    until = incident.closed_at or dt.datetime.now(dt.UTC)
    transitions = await session.scalars(
        select(RegionTransition)
        .where(
            RegionTransition.monitor_id == incident.monitor_id,
            RegionTransition.at >= incident.opened_at,
            RegionTransition.at <= until,
        )
        .order_by(RegionTransition.at, RegionTransition.id)
    )
    entries = []
    first_errors: dict[str, str | None] = {}
    for transition in transitions:
        entries.append(
            TimelineEntry(
                at=transition.at,
                kind="region_change",
                message=transition.error or "",
                region=transition.region,
                previous=transition.previous,
                current=transition.current,
            )
        )
        if transition.current == "down":
            first_errors.setdefault(transition.region, transition.error)
    events = await session.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident.id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    )
    entries += [
        TimelineEntry(at=e.at, kind=e.kind, message=e.message, user_id=e.user_id) for e in events
    ]
    entries.sort(key=lambda entry: entry.at)
    return entries, first_errors
