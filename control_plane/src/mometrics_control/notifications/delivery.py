"""Delivery of one outbox row: claim, send, record the outcome."""

from __future__ import annotations

import datetime as dt
import enum
import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics_control.alerting.models import OutboxEntry
from mometrics_control.config import Settings
from mometrics_control.models import Channel
from mometrics_control.notifications import outbox, senders

log = logging.getLogger("mometrics.notifications")

# Failed sends after which a notification is dropped.
MAX_ATTEMPTS = 15


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    # Delivered already, dropped already, or held by another worker.
    SKIPPED = "skipped"
    DROPPED = "dropped"


class DeliveryFailed(Exception):
    """A send failed and will be retried."""


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, entry_id: uuid.UUID
) -> Outcome:
    """Send one outbox row unless it is done or held; raise DeliveryFailed to retry."""
    now = dt.datetime.now(dt.UTC)
    async with sessionmaker() as session:
        entry = await outbox.claim(session, entry_id, now, settings.notification_lease_s)
        if entry is None:
            await session.rollback()
            return Outcome.SKIPPED
        age_s = (now - entry.created_at).total_seconds()
        channel = await session.get(Channel, entry.channel_id)
        if age_s > settings.notification_max_age_s or channel is None:
            reason = "channel deleted" if channel is None else "older than the maximum age"
            _drop(entry, now, reason)
            await session.commit()
            log.error("notification dropped", extra=_ids(entry, age_s=round(age_s)))
            return Outcome.DROPPED
        kind, config, payload = channel.kind, dict(channel.config), dict(entry.payload)
        await session.commit()

    try:
        await senders.send(settings, kind, config, payload, str(entry.id))
    except senders.SendError as err:
        return await _record_failure(sessionmaker, entry, err)

    async with sessionmaker() as session:
        stored = await session.get(OutboxEntry, entry.id, with_for_update=True)
        if stored is not None:
            stored.delivered_at = dt.datetime.now(dt.UTC)
            stored.claimed_until = None
            stored.last_error = None
            await session.commit()
    log.info("notification delivered", extra=_ids(entry, kind=kind))
    return Outcome.DELIVERED


async def _record_failure(
    sessionmaker: async_sessionmaker[AsyncSession], entry: OutboxEntry, err: senders.SendError
) -> Outcome:
    now = dt.datetime.now(dt.UTC)
    is_final = err.is_permanent or entry.attempts >= MAX_ATTEMPTS
    async with sessionmaker() as session:
        stored = await session.get(OutboxEntry, entry.id, with_for_update=True)
        if stored is None:
            return Outcome.SKIPPED
        stored.last_error = str(err)[:1000]
        stored.claimed_until = None
        stored.next_attempt_at = now + dt.timedelta(seconds=outbox.backoff_s(stored.attempts))
        if is_final:
            _drop(stored, now, str(err))
        await session.commit()
    if is_final:
        log.error("notification dropped", extra=_ids(entry, error=str(err)))
        return Outcome.DROPPED
    log.warning("notification send failed; will retry", extra=_ids(entry, error=str(err)))
    raise DeliveryFailed(str(err))


def _drop(entry: OutboxEntry, now: dt.datetime, reason: str) -> None:
    entry.dropped_at = now
    entry.claimed_until = None
    entry.last_error = reason[:1000]


def _ids(entry: OutboxEntry, **fields: object) -> dict[str, object]:
    return {
        "outbox_id": str(entry.id),
        "channel_id": str(entry.channel_id),
        "event": entry.event,
        "attempt": entry.attempts,
        **fields,
    }
