"""Dramatiq actors of the rollups; thin wrappers around rollups.jobs."""

from __future__ import annotations

import dramatiq

from mometrics_control.rollups import jobs


@dramatiq.actor(actor_name="rollups.refresh", max_retries=3)
async def refresh_rollups() -> None:
    await jobs.refresh()


@dramatiq.actor(actor_name="rollups.upkeep", max_retries=3)
async def upkeep_rollups() -> None:
    await jobs.upkeep_rollups()
