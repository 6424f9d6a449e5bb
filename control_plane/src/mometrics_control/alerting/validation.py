"""Checks of a monitor's alert fields that need the database."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.alerting.settings import AlertSettings
from mometrics_control.errors import InvalidInput
from mometrics_control.models import Channel, Monitor

# Parent chains longer than this are rejected (and cycles with them).
MAX_PARENT_DEPTH = 16


async def check_alert_links(
    session: AsyncSession,
    organization_id: uuid.UUID,
    monitor_id: uuid.UUID | None,
    parent_id: uuid.UUID | None,
    settings: AlertSettings,
) -> None:
    """Raise InvalidInput unless the parent and escalation channel are valid."""
    channel_id = settings.escalation_channel_id
    if channel_id is not None:
        found = await session.scalar(
            select(Channel.id).where(
                Channel.id == channel_id, Channel.organization_id == organization_id
            )
        )
        if found is None:
            raise InvalidInput.for_field(
                "alerting.escalation_channel_id", f"channel {channel_id} not found"
            )
    if parent_id is None:
        return
    current: uuid.UUID | None = parent_id
    for _ in range(MAX_PARENT_DEPTH):
        if current is None:
            return
        if current == monitor_id:
            raise InvalidInput.for_field("parent_id", "a monitor cannot depend on itself")
        row = (
            await session.execute(
                select(Monitor.organization_id, Monitor.parent_id).where(Monitor.id == current)
            )
        ).one_or_none()
        if row is None or row[0] != organization_id:
            raise InvalidInput.for_field("parent_id", f"monitor {current} not found")
        current = row[1]
    raise InvalidInput.for_field(
        "parent_id", f"parent chain is longer than {MAX_PARENT_DEPTH} monitors"
    )
