"""The notification outbox: rows written in the transaction of the change.

Each row carries a delivery key that is unique per transition and channel,
so evaluating the same change twice adds nothing. PostgreSQL, not the
Redis queue, is the record of what is still to send: the scheduler's
requeue job enqueues every undelivered row whose retry time has come, so a
lost queue message (a Redis restart without persistence) delays a
notification but never loses it.

A worker claims a row before sending: a new attempt id and a lease
(`claimed_until`), committed before the send, so no two workers send one
row at once. After the send it records the outcome. A worker that dies in
between leaves the lease to expire, and the row is sent again with the same
idempotency key (see notifications.delivery for what each channel makes of
that).
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
) -> tuple[OutboxEntry, uuid.UUID] | None:
    """Lease a pending row to a new attempt; return it and the attempt id.

    Returns None if the row is delivered, dropped or leased to another
    attempt. The caller commits before sending, so the lease holds while
    it sends.
    """
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
    attempt_id = uuid.uuid4()
    entry.claimed_until = now + dt.timedelta(seconds=lease_s)
    entry.attempt_id = attempt_id
    entry.next_attempt_at = entry.claimed_until
    entry.attempts += 1
    return entry, attempt_id


async def mark_delivered(
    session: AsyncSession, entry_id: uuid.UUID, attempt_id: uuid.UUID, now: dt.datetime
) -> bool | None:
    """Record a successful send by `attempt_id`.

    Returns None when the row was delivered already, else whether this
    attempt still held the lease. The send happened, so the row is marked
    delivered even when the lease expired and another attempt holds it now.
    """
    held_by = (
        await session.execute(
            select(OutboxEntry.attempt_id)
            .where(OutboxEntry.id == entry_id, OutboxEntry.delivered_at.is_(None))
            .with_for_update()
        )
    ).one_or_none()
    if held_by is None:
        return None
    await session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == entry_id)
        .values(delivered_at=now, claimed_until=None, attempt_id=attempt_id, last_error=None)
    )
    return held_by[0] == attempt_id


async def lock_attempt(
    session: AsyncSession, entry_id: uuid.UUID, attempt_id: uuid.UUID
) -> OutboxEntry | None:
    """Lock the row if this attempt still holds its lease and it is not done."""
    return await session.scalar(
        select(OutboxEntry)
        .where(
            OutboxEntry.id == entry_id,
            OutboxEntry.attempt_id == attempt_id,
            OutboxEntry.delivered_at.is_(None),
            OutboxEntry.dropped_at.is_(None),
        )
        .with_for_update()
    )


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
