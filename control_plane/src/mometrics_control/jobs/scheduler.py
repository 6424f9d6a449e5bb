"""Periodic jobs, each enqueued once per period however many replicas run.

Dramatiq has no periodic scheduler of its own. Every replica wakes up each
second and, for each job whose period has started, tries to take a Redis key
named after the job and the period's start (SET NX with an expiry). Only
the replica that takes the key enqueues the job for that period.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import time
from collections.abc import Callable

from redis.asyncio import Redis

from mometrics_control.config import Settings

log = logging.getLogger("mometrics.scheduler")


@dataclasses.dataclass(frozen=True)
class PeriodicJob:
    name: str
    period_s: int
    enqueue: Callable[[], object]


def default_jobs() -> list[PeriodicJob]:
    from mometrics_control.jobs import actors, rollup_actors

    return [
        PeriodicJob("storage.upkeep_partitions", 3600, actors.upkeep_partitions.send),
        PeriodicJob("agents.prune_stale", 10, actors.prune_stale_agents.send),
        PeriodicJob("rollups.refresh", 30, rollup_actors.refresh_rollups.send),
        PeriodicJob("rollups.upkeep", 3600, rollup_actors.upkeep_rollups.send),
        PeriodicJob("alerting.sweep", 15, actors.sweep_alerts.send),
        PeriodicJob("notifications.requeue", 10, actors.requeue_notifications.send),
        PeriodicJob("push.check_overdue", 10, actors.check_push_monitors.send),
    ]


async def claim_period(redis: Redis, job: PeriodicJob, now: float) -> bool:
    """Return True if this replica won the current period of `job`."""
    period_start = int(now // job.period_s) * job.period_s
    key = f"mometrics:scheduler:{job.name}:{period_start}"
    return bool(await redis.set(key, "1", nx=True, ex=job.period_s * 2 + 60))


async def run_once(redis: Redis, jobs: list[PeriodicJob], now: float) -> list[str]:
    """Enqueue every job whose current period nobody has claimed yet."""
    enqueued = []
    for job in jobs:
        if await claim_period(redis, job, now):
            await asyncio.to_thread(job.enqueue)
            enqueued.append(job.name)
            log.debug("periodic job enqueued", extra={"job": job.name})
    return enqueued


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    redis = Redis.from_url(settings.redis_url)
    jobs = default_jobs()
    log.info("scheduler started", extra={"jobs": ",".join(j.name for j in jobs)})
    while not stop.is_set():
        try:
            await run_once(redis, jobs, time.time())
        except Exception as err:  # noqa: BLE001 - retry on the next tick
            log.warning("scheduler tick failed; retrying", extra={"error": repr(err)})
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            pass
    await redis.aclose()
    log.info("scheduler stopped")


def run(settings: Settings) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop)

    asyncio.run(main())
