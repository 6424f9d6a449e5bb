"""The monitor list: filters, sorting and cursor pages, plus pause and resume."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.api.pagination import paginate, parse_sort, split_page
from mometrics_control.models import Monitor, MonitorChannel
from mometrics_control.monitors import service
from mometrics_control.monitors.schemas import MonitorPage, MonitorRead

SORTS = {
    "name": Monitor.name,
    "created_at": Monitor.created_at,
    "updated_at": Monitor.updated_at,
    "interval_seconds": Monitor.interval_seconds,
}


async def channel_map(
    session: AsyncSession, monitor_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    links = await session.execute(
        select(MonitorChannel.monitor_id, MonitorChannel.channel_id).where(
            MonitorChannel.monitor_id.in_(monitor_ids)
        )
    )
    channels: dict[uuid.UUID, list[uuid.UUID]] = {}
    for monitor_id, channel_id in links:
        channels.setdefault(monitor_id, []).append(channel_id)
    return channels


async def list_page(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    tags: list[str],
    kind: str | None,
    paused: bool | None,
    name_contains: str | None,
    sort: str,
    cursor: str | None,
    limit: int,
) -> MonitorPage:
    """Return one page of the organisation's monitors that carry every tag in `tags`."""
    sorting = parse_sort(sort, SORTS)
    query = select(Monitor).where(Monitor.organization_id == organization_id)
    if tags:
        query = query.where(Monitor.tags.contains(tags))
    if kind is not None:
        query = query.where(Monitor.kind == kind)
    if paused is not None:
        query = query.where(Monitor.paused.is_(paused))
    if name_contains:
        escaped = name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Monitor.name.ilike(f"%{escaped}%", escape="\\"))
    rows = list(await session.scalars(paginate(query, sorting, Monitor.id, cursor, limit)))
    monitors, next_cursor = split_page(rows, sorting, limit)
    channels = await channel_map(session, [m.id for m in monitors])
    return MonitorPage(
        items=[service.to_read(m, channels.get(m.id, [])) for m in monitors],
        next_cursor=next_cursor,
    )


async def set_paused(
    session: AsyncSession,
    redis: Redis,
    organization_id: uuid.UUID,
    monitor_id: uuid.UUID,
    is_paused: bool,
) -> MonitorRead:
    """Pause or resume a monitor; doing it twice changes nothing the second time."""
    monitor = await service.get_owned(session, organization_id, monitor_id)
    if monitor.paused != is_paused:
        monitor.paused = is_paused
        monitor.version += 1
        await session.commit()
        await session.refresh(monitor)
        service.log.info(
            "monitor paused" if is_paused else "monitor resumed",
            extra={"monitor_id": str(monitor.id)},
        )
        await service.publish_change(redis, monitor.id)
    return service.to_read(monitor, await service.channel_ids_of(session, monitor.id))
