"""Dramatiq actors. Each is a thin wrapper around a plain async function."""

from __future__ import annotations

import asyncio

import dramatiq

from mometrics_control.jobs import tasks
from mometrics_control.jobs.broker import setup_broker

setup_broker()


async def _enqueue_deliveries(outbox_ids: list[str]) -> None:
    # A failed enqueue is repaired by notifications.requeue, which sends
    # every undelivered row whose retry time has come.
    for outbox_id in outbox_ids:
        await asyncio.to_thread(deliver_notification.send, outbox_id)


@dramatiq.actor(actor_name="alerting.evaluate_monitor", max_retries=5)
async def evaluate_monitor(monitor_id: str) -> None:
    await _enqueue_deliveries(await tasks.evaluate_monitor(monitor_id))


# Retries back off from 5 s to at most 15 min; rows past the maximum age are
# dropped by the task itself, however many retries remain.
@dramatiq.actor(
    actor_name="notifications.deliver", max_retries=12, min_backoff=5_000, max_backoff=900_000
)
async def deliver_notification(outbox_id: str) -> None:
    await tasks.deliver_notification(outbox_id)


# Retries back off exponentially up to 15 min. The task gives up by itself
# after invitations.mail.MAX_EMAIL_ATTEMPTS sends, about an hour in all.
@dramatiq.actor(
    actor_name="invitations.send_email", max_retries=12, min_backoff=5_000, max_backoff=900_000
)
async def send_invitation_email(invitation_id: str, encrypted_token: str) -> None:
    await tasks.send_invitation_email(invitation_id, encrypted_token)


@dramatiq.actor(actor_name="alerting.sweep", max_retries=0)
async def sweep_alerts() -> None:
    await _enqueue_deliveries(await tasks.sweep_alerts())


@dramatiq.actor(actor_name="notifications.requeue", max_retries=0)
async def requeue_notifications() -> None:
    await _enqueue_deliveries(await tasks.due_notifications())


@dramatiq.actor(actor_name="push.check_overdue", max_retries=0)
async def check_push_monitors() -> None:
    await _enqueue_deliveries(await tasks.check_push_monitors())


@dramatiq.actor(actor_name="storage.upkeep_partitions", max_retries=3)
async def upkeep_partitions() -> None:
    await tasks.upkeep_partitions()


@dramatiq.actor(actor_name="agents.prune_stale", max_retries=0)
async def prune_stale_agents() -> None:
    await tasks.prune_stale_agents()


# Registers the rollup actors with the broker set up above.
from mometrics_control.jobs import rollup_actors  # noqa: E402, F401
