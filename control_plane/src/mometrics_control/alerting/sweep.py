"""Time-driven alerting work that no new result would trigger.

- Regions whose agent stopped reporting turn `no_data` (never up).
- Monitors with an open incident, a down region or a flapping state are
  evaluated again: that sends reminders and escalations, releases outage
  notices held back by a parent or a maintenance window that has ended,
  settles flapping, and repairs any evaluation whose job was lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics_control.alerting.evaluate import evaluate_monitor, monitors_to_sweep

log = logging.getLogger("mometrics.alerting")

# A region turns no_data after this many intervals without a result, plus
# a grace for agents that reconnect.
NO_DATA_INTERVALS = 3
NO_DATA_GRACE_S = 30

_MARK_NO_DATA = text(
    """
    WITH stale AS (
        SELECT rs.monitor_id, rs.region, rs.status
        FROM region_states rs JOIN monitors m ON m.id = rs.monitor_id
        WHERE NOT m.paused AND rs.status <> 'no_data'
          AND rs.last_scheduled_at < CAST(:now AS timestamptz)
              - make_interval(secs => m.interval_seconds * :intervals + :grace)
        FOR UPDATE OF rs SKIP LOCKED
    ), changed AS (
        UPDATE region_states rs SET status = 'no_data', changed_at = :now,
            consecutive_failures = 0, consecutive_successes = 0, consecutive_slow = 0
        FROM stale WHERE rs.monitor_id = stale.monitor_id AND rs.region = stale.region
        RETURNING rs.monitor_id, rs.region, stale.status AS previous
    ), logged AS (
        INSERT INTO region_transitions (monitor_id, region, previous, current, at)
        SELECT monitor_id, region, previous, 'no_data', :now FROM changed
    )
    SELECT monitor_id, region, previous FROM changed
    """
)


async def mark_no_data(session: AsyncSession, now: dt.datetime) -> list[uuid.UUID]:
    """Turn silent regions no_data; return the monitors that changed."""
    rows = await session.execute(
        _MARK_NO_DATA, {"now": now, "intervals": NO_DATA_INTERVALS, "grace": NO_DATA_GRACE_S}
    )
    changed = list(rows)
    for monitor_id, region, previous in changed:
        log.warning(
            "region has no data",
            extra={"monitor_id": str(monitor_id), "region": region, "previous": previous},
        )
    return sorted({row[0] for row in changed})


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime
) -> list[uuid.UUID]:
    """Run the sweep once; return the outbox ids it created."""
    async with sessionmaker() as session:
        changed = await mark_no_data(session, now)
        await session.commit()
    async with sessionmaker() as session:
        monitor_ids = set(await monitors_to_sweep(session)) | set(changed)
    outbox_ids: list[uuid.UUID] = []
    for monitor_id in sorted(monitor_ids):
        async with sessionmaker() as session:
            outbox_ids += await evaluate_monitor(session, monitor_id, now)
            await session.commit()
    return outbox_ids
