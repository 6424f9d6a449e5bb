"""Plain functions behind the actors, callable directly from tests."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import text

from mometrics_control.agents import registry
from mometrics_control.alerting import evaluate
from mometrics_control.alerting import sweep as alerting_sweep
from mometrics_control.config import get_settings
from mometrics_control.invitations import mail as invitation_mail
from mometrics_control.jobs import runtime
from mometrics_control.notifications import delivery, outbox

log = logging.getLogger("mometrics.jobs")


async def evaluate_monitor(monitor_id: str) -> list[str]:
    """Open or close the monitor's incident; return new outbox ids to deliver."""
    async with runtime.sessionmaker()() as session:
        ids = await evaluate.evaluate_monitor(session, uuid.UUID(monitor_id), _now())
        await session.commit()
    return [str(i) for i in ids]


async def check_push_monitors() -> list[str]:
    """Store down results for overdue push monitors; return outbox ids to deliver."""
    from mometrics_control.alerting.state import Transition
    from mometrics_control.push.service import check_overdue_push_monitors

    outbox_ids: list[str] = []

    async def evaluate_changed(transitions: list[Transition]) -> None:
        for monitor_id in sorted({str(t.monitor_id) for t in transitions}):
            outbox_ids.extend(await evaluate_monitor(monitor_id))

    stored = await check_overdue_push_monitors(
        runtime.sessionmaker(), on_transitions=evaluate_changed
    )
    if stored:
        log.info("overdue push monitors marked down", extra={"monitors": stored})
    return outbox_ids


async def deliver_notification(outbox_id: str) -> delivery.Outcome:
    """Send one outbox row; raises DeliveryFailed so the actor retries."""
    return await delivery.deliver(runtime.sessionmaker(), get_settings(), uuid.UUID(outbox_id))


async def send_invitation_email(invitation_id: str, encrypted_token: str) -> None:
    """Send one invitation email, raising EmailFailed so that the actor retries."""
    await invitation_mail.deliver(
        runtime.sessionmaker(), get_settings(), uuid.UUID(invitation_id), encrypted_token
    )


async def sweep_alerts() -> list[str]:
    """Mark silent regions no_data and run time-driven alerting work."""
    ids = await alerting_sweep.sweep(runtime.sessionmaker(), _now())
    return [str(i) for i in ids]


async def due_notifications() -> list[str]:
    """Return undelivered outbox rows to enqueue again, pushing their retry time."""
    async with runtime.sessionmaker()() as session:
        ids = await outbox.due_ids(session, _now())
        await session.commit()
    if ids:
        log.info("notifications enqueued again", extra={"count": len(ids)})
    return [str(i) for i in ids]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
