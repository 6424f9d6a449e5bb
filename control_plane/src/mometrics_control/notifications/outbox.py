"""The notification outbox: rows written in the transaction of the change.

Each row carries a delivery key that is unique per transition and channel,
so evaluating the same change twice adds nothing. A worker claims a row for
a lease before sending, so two workers never send the same row at once; a
worker that dies mid-send leaves the claim to expire, and the scheduler's
sweep enqueues the row again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.alerting.models import OutboxEntry

# Seconds a failed row waits before the sweep enqueues it again: doubles per
# attempt up to the cap.
BACKOFF_BASE_S = 5
BACKOFF_MAX_S = 900
# A new row is left to the enqueue that follows its commit for this long.
SWEEP_GRACE_S = 10


def backoff_s(attempts: int) -> int:
    return int(min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


async def add(
    session: AsyncSession,
    channel_ids: list[uuid.UUID],
    key: str,
    event: str,
    payload: dict[str, Any],
    incident_id: uuid.UUID | None,
    now: dt.datetime,
) -> list[uuid.UUID]:
    """Add one row per channel unless its delivery key exists; return new ids."""
    ids = []
    for channel_id in channel_ids:
        row_id = await session.scalar(
            insert(OutboxEntry)
            .values(
                id=uuid.uuid4(),
                delivery_key=f"{key}:{channel_id}",
                channel_id=channel_id,
                incident_id=incident_id,
                event=event,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=["delivery_key"])
            .returning(OutboxEntry.id)
        )
        if row_id is not None:
            ids.append(row_id)
    return ids


async def claim(
    session: AsyncSession, entry_id: uuid.UUID, now: dt.datetime, lease_s: float
) -> OutboxEntry | None:
    """Lock a pending row for this worker; None if delivered, dropped or held."""
    entry = await session.scalar(
        select(OutboxEntry)
        .where(
            OutboxEntry.id == entry_id,
            OutboxEntry.delivered_at.is_(None),
            OutboxEntry.dropped_at.is_(None),
        )
        .with_for_update(skip_locked=True)
    )
    if entry is None:
        return None
    if entry.claimed_until is not None and entry.claimed_until > now:
        return None
    entry.claimed_until = now + dt.timedelta(seconds=lease_s)
    entry.next_attempt_at = entry.claimed_until
    entry.attempts += 1
    return entry


async def due_ids(session: AsyncSession, now: dt.datetime, limit: int = 500) -> list[uuid.UUID]:
    """Return pending rows whose retry time has come, pushing that time on.

    The push keeps the next sweep from enqueuing the same row again while
    the message is still queued.
    """
    ids = list(
        await session.scalars(
            select(OutboxEntry.id)
            .where(
                OutboxEntry.delivered_at.is_(None),
                OutboxEntry.dropped_at.is_(None),
                OutboxEntry.next_attempt_at <= now,
                OutboxEntry.created_at <= now - dt.timedelta(seconds=SWEEP_GRACE_S),
            )
            .order_by(OutboxEntry.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        await session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id.in_(ids))
            .values(next_attempt_at=now + dt.timedelta(seconds=BACKOFF_BASE_S * 6))
        )
    return ids
