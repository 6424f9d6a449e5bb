"""Plain functions behind the actors, callable directly from tests."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import select, text

from mometrics_control.agents import registry
from mometrics_control.config import get_settings
from mometrics_control.jobs import runtime
from mometrics_control.models import Incident, Monitor, RegionState
from mometrics_control.results.uptime import effective_quorum

log = logging.getLogger("mometrics.jobs")


async def evaluate_monitor(monitor_id: str) -> None:
    """Open an incident when a quorum of regions is down; close it on recovery."""
    async with runtime.sessionmaker()() as session:
        monitor = await session.get(Monitor, uuid.UUID(monitor_id), with_for_update=True)
        if monitor is None:
            return
        states = list(
            await session.scalars(select(RegionState).where(RegionState.monitor_id == monitor.id))
        )
        down = [s for s in states if s.status == "down" and s.region in monitor.regions]
        quorum = effective_quorum(monitor.quorum, len(monitor.regions))
        is_down = not monitor.paused and len(down) >= quorum
        incident = await session.scalar(
            select(Incident).where(Incident.monitor_id == monitor.id, Incident.closed_at.is_(None))
        )
        now = dt.datetime.now(dt.UTC)
        if is_down and incident is None:
            cause = "; ".join(f"{s.region}: {s.last_error or 'down'}" for s in down)
            session.add(
                Incident(
                    id=uuid.uuid4(),
                    organization_id=monitor.organization_id,
                    monitor_id=monitor.id,
                    opened_at=min(s.changed_at for s in down),
                    cause=cause[:2000],
                )
            )
            log.info("incident opened", extra={"monitor_id": monitor_id, "regions": len(down)})
        elif not is_down and incident is not None:
            incident.closed_at = now
            log.info("incident closed", extra={"monitor_id": monitor_id})
        await session.commit()


async def upkeep_partitions() -> None:
    """Create daily partitions a week ahead and drop those past retention."""
    settings = get_settings()
    async with runtime.sessionmaker()() as session:
        await session.execute(
            text(
                "SELECT mometrics_ensure_partition((now() AT TIME ZONE 'UTC')::date + d) "
                "FROM generate_series(0, 7) AS d"
            )
        )
        cutoff = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=settings.retention_days)
        rows = await session.execute(
            text(
                "SELECT c.relname FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent "
                "WHERE p.relname = 'check_results' AND c.relname ~ '^check_results_[0-9]{8}$'"
            )
        )
        for (name,) in rows:
            day = dt.datetime.strptime(name.removeprefix("check_results_"), "%Y%m%d").date()
            if day < cutoff:
                await session.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
                log.info("partition dropped", extra={"partition": name})
        await session.commit()


async def prune_stale_agents() -> None:
    """Drop agents silent past the liveness timeout from the live sets."""
    settings = get_settings()
    timeout_s = float(settings.heartbeat_interval_s * settings.liveness_heartbeats)
    redis = runtime.redis()
    for region in await registry.live_by_region(redis, timeout_s):
        removed = await registry.prune(redis, region, timeout_s)
        if removed:
            log.info("stale agents pruned", extra={"region": region, "agents": removed})
            await redis.publish(registry.AGENT_CHANGES_CHANNEL, region)
