"""Delivery of one outbox row: claim a lease, send, record the outcome.

Delivery is at least once. The claim (a new attempt id and a lease) is
committed before the send and the outcome after it. A worker that dies
between the receiver's response and that second commit leaves the row
undelivered, so it is sent again once the lease expires, with the same
idempotency key, the outbox row id. What that repeat means per channel:

- webhook: the repeat carries the same `X-Mometrics-Delivery` and
  `Idempotency-Key` headers, so a receiver that drops keys it has seen
  gets each notification exactly once. A receiver that does not dedupe
  may get it twice.
- slack, discord, teams: the same headers are sent, but those services
  ignore them, so a repeat shows as a second message.
- pagerduty: every event of one incident carries the same `dedup_key`, so
  a repeated trigger updates the open alert and a repeated resolve changes
  nothing. The alert is raised and resolved exactly once.
- email: the repeat has the same Message-ID. Many mail stores and clients
  hide a second copy with a Message-ID they already hold, but SMTP does
  not promise it, so a reader may see two copies.
- telegram: the Bot API has no idempotency key, so a repeat is a second
  message.

Repeats come only from a worker or database failure in that window. A
failed send is retried under a new lease, and a row whose lease another
attempt holds is skipped, so two workers never send one row at once.
"""

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
    # Delivered already, dropped already, or leased by another attempt.
    SKIPPED = "skipped"
    DROPPED = "dropped"


class DeliveryFailed(Exception):
    """A send failed and will be retried."""


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, entry_id: uuid.UUID
) -> Outcome:
    """Send one outbox row unless it is done or leased; raise DeliveryFailed to retry."""
    now = dt.datetime.now(dt.UTC)
    async with sessionmaker() as session:
        claimed = await outbox.claim(session, entry_id, now, settings.notification_lease_s)
        if claimed is None:
            await session.rollback()
            return Outcome.SKIPPED
        entry, attempt_id = claimed
        age_s = (now - entry.created_at).total_seconds()
        channel = await session.get(Channel, entry.channel_id)
        if age_s > settings.notification_max_age_s or channel is None:
            reason = "channel deleted" if channel is None else "older than the maximum age"
            _drop(entry, now, reason)
            await session.commit()
            log.error("notification dropped", extra=_ids(entry, age_s=round(age_s), error=reason))
            return Outcome.DROPPED
        kind, config, payload = channel.kind, dict(channel.config), dict(entry.payload)
        # The lease is committed before the send, so a crash after the
        # send leaves it to expire and the row is sent again.
        await session.commit()

    log.debug("notification sending", extra=_ids(entry, kind=kind))
    try:
        await senders.send(settings, kind, config, payload, str(entry.id))
    except senders.SendError as err:
        return await _record_failure(sessionmaker, entry, attempt_id, err)

    async with sessionmaker() as session:
        held_lease = await outbox.mark_delivered(
            session, entry.id, attempt_id, dt.datetime.now(dt.UTC)
        )
        await session.commit()
    if held_lease is None:
        log.warning("notification was delivered by another attempt too", extra=_ids(entry))
    elif not held_lease:
        log.warning("notification lease expired before the send finished", extra=_ids(entry))
    log.info("notification delivered", extra=_ids(entry, kind=kind))
    return Outcome.DELIVERED


async def _record_failure(
    sessionmaker: async_sessionmaker[AsyncSession],
    entry: OutboxEntry,
    attempt_id: uuid.UUID,
    err: senders.SendError,
) -> Outcome:
    now = dt.datetime.now(dt.UTC)
    is_final = err.is_permanent or entry.attempts >= MAX_ATTEMPTS
    async with sessionmaker() as session:
        stored = await outbox.lock_attempt(session, entry.id, attempt_id)
        if stored is None:
            # Another attempt took the lease over, or the row is done: the
            # outcome is that attempt's to record.
            log.warning(
                "notification send failed after its lease expired",
                extra=_ids(entry, error=str(err)),
            )
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
        "attempt_id": str(entry.attempt_id),
        "channel_id": str(entry.channel_id),
        "incident_id": str(entry.incident_id) if entry.incident_id else None,
        "event": entry.event,
        "attempt": entry.attempts,
        **fields,
    }
