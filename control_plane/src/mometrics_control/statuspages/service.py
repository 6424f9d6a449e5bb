"""Status page settings and the public, read-only view of published monitors."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from redis.asyncio import Redis
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.errors import Conflict, InvalidInput, NotFound
from mometrics_control.models import Monitor
from mometrics_control.results import service as results
from mometrics_control.results.schemas import MonitorStatus
from mometrics_control.statuspages.models import PublishedMonitor, StatusPage
from mometrics_control.statuspages.schemas import (
    PublicMonitorStatus,
    PublicStatusPage,
    PublishedMonitorRead,
    StatusPageRead,
    StatusPageWrite,
)


async def read(session: AsyncSession, organization_id: uuid.UUID, base_url: str) -> StatusPageRead:
    page = await session.get(StatusPage, organization_id)
    if page is None:
        raise NotFound("this organisation has no status page; create one with PUT")
    rows = await session.execute(
        select(PublishedMonitor, Monitor.name)
        .join(Monitor, Monitor.id == PublishedMonitor.monitor_id)
        .where(PublishedMonitor.organization_id == organization_id)
        .order_by(PublishedMonitor.position)
    )
    api = base_url.rstrip("/") + "/api/v1"
    return StatusPageRead(
        slug=page.slug,
        title=page.title,
        url=f"{api}/status/{page.slug}",
        monitors=[
            PublishedMonitorRead(
                monitor_id=published.monitor_id,
                public_id=published.public_id,
                name=name,
                badge_url=f"{api}/badge/{published.public_id}.svg",
            )
            for published, name in rows
        ],
        updated_at=page.updated_at,
    )


async def write(session: AsyncSession, organization_id: uuid.UUID, body: StatusPageWrite) -> None:
    """Create or replace the page; monitors that stay published keep their public ids."""
    monitor_ids = list(dict.fromkeys(body.monitor_ids))
    owned = set(
        await session.scalars(
            select(Monitor.id).where(
                Monitor.id.in_(monitor_ids), Monitor.organization_id == organization_id
            )
        )
    )
    for monitor_id in monitor_ids:
        if monitor_id not in owned:
            raise InvalidInput.for_field("monitor_ids", f"monitor {monitor_id} not found")
    holder = await session.scalar(
        select(StatusPage.organization_id).where(StatusPage.slug == body.slug)
    )
    if holder is not None and holder != organization_id:
        raise Conflict(f"the slug {body.slug} is taken; pick another")
    page = await session.get(StatusPage, organization_id)
    if page is None:
        session.add(StatusPage(organization_id=organization_id, slug=body.slug, title=body.title))
    else:
        page.slug, page.title = body.slug, body.title
        page.updated_at = dt.datetime.now(dt.UTC)
    existing = {
        row.monitor_id: row
        for row in await session.scalars(
            select(PublishedMonitor).where(PublishedMonitor.organization_id == organization_id)
        )
    }
    await session.execute(
        delete(PublishedMonitor).where(
            PublishedMonitor.organization_id == organization_id,
            PublishedMonitor.monitor_id.not_in(monitor_ids),
        )
    )
    for position, monitor_id in enumerate(monitor_ids):
        row = existing.get(monitor_id)
        if row is None:
            session.add(
                PublishedMonitor(
                    monitor_id=monitor_id,
                    organization_id=organization_id,
                    public_id=secrets.token_hex(8),
                    position=position,
                )
            )
        else:
            row.position = position
    try:
        await session.commit()
    except IntegrityError:
        # Another organisation took the slug since the check above.
        await session.rollback()
        raise Conflict(f"the slug {body.slug} is taken; pick another") from None


async def remove(session: AsyncSession, organization_id: uuid.UUID) -> None:
    page = await session.get(StatusPage, organization_id)
    if page is None:
        raise NotFound("this organisation has no status page")
    await session.execute(
        delete(PublishedMonitor).where(PublishedMonitor.organization_id == organization_id)
    )
    await session.delete(page)
    await session.commit()


async def _figures(
    session: AsyncSession, redis: Redis, monitor: Monitor, liveness_s: float
) -> tuple[MonitorStatus, float | None, float | None]:
    figures = {}
    for window in ("24h", "30d"):
        name, since, until = results.parse_window(window, None, None)
        figures[window] = await results.uptime_for(
            session, redis, monitor, name, since, until, liveness_s
        )
    return figures["24h"].status, figures["24h"].uptime, figures["30d"].uptime


async def public_page(
    session: AsyncSession, redis: Redis, slug: str, liveness_s: float
) -> PublicStatusPage:
    page = await session.scalar(select(StatusPage).where(StatusPage.slug == slug))
    if page is None:
        raise NotFound(f"status page {slug} not found")
    rows = await session.execute(
        select(PublishedMonitor, Monitor)
        .join(Monitor, Monitor.id == PublishedMonitor.monitor_id)
        .where(PublishedMonitor.organization_id == page.organization_id)
        .order_by(PublishedMonitor.position)
    )
    monitors = []
    for published, monitor in rows:
        status, uptime_24h, uptime_30d = await _figures(session, redis, monitor, liveness_s)
        monitors.append(
            PublicMonitorStatus(
                public_id=published.public_id,
                name=monitor.name,
                status=status,
                uptime_24h=uptime_24h,
                uptime_30d=uptime_30d,
            )
        )
    statuses = {m.status for m in monitors}
    overall: MonitorStatus = "up"
    if "down" in statuses:
        overall = "down"
    elif "degraded" in statuses:
        overall = "degraded"
    elif statuses and statuses <= {"no_data", "paused"}:
        overall = "no_data"
    return PublicStatusPage(
        title=page.title,
        status=overall,
        monitors=monitors,
        generated_at=dt.datetime.now(dt.UTC),
    )


async def badge_uptime(
    session: AsyncSession, redis: Redis, public_id: str, window: str, liveness_s: float
) -> float | None:
    monitor = await session.scalar(
        select(Monitor)
        .join(PublishedMonitor, PublishedMonitor.monitor_id == Monitor.id)
        .where(PublishedMonitor.public_id == public_id)
    )
    if monitor is None:
        raise NotFound(f"badge {public_id} not found")
    name, since, until = results.parse_window(window, None, None)
    figure = await results.uptime_for(session, redis, monitor, name, since, until, liveness_s)
    return figure.uptime
