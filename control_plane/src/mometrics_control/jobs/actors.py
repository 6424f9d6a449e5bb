"""Dramatiq actors. Each is a thin wrapper around a plain async function."""

from __future__ import annotations

import dramatiq

from mometrics_control.jobs import tasks
from mometrics_control.jobs.broker import setup_broker

setup_broker()


@dramatiq.actor(actor_name="alerting.evaluate_monitor", max_retries=5)
async def evaluate_monitor(monitor_id: str) -> None:
    await tasks.evaluate_monitor(monitor_id)


@dramatiq.actor(actor_name="storage.upkeep_partitions", max_retries=3)
async def upkeep_partitions() -> None:
    await tasks.upkeep_partitions()


@dramatiq.actor(actor_name="agents.prune_stale", max_retries=0)
async def prune_stale_agents() -> None:
    await tasks.prune_stale_agents()
