"""The real worker and scheduler over the real Redis broker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from mometrics_control.jobs import scheduler

WORKER = Path(sys.executable).with_name("mometrics-control")


def start_worker() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(WORKER), "worker", "--processes", "1", "--threads", "2"],
        env=dict(os.environ),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill(worker: subprocess.Popen[bytes]) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


async def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


@pytest.mark.e2e
async def test_worker_killed_mid_delivery_delivers_once(  # type: ignore[no-untyped-def]
    world, receiver, monkeypatch
) -> None:
    monkeypatch.setenv("MOMETRICS_NOTIFICATION_LEASE_S", "2")
    from mometrics_control.jobs import actors

    channel = await world.channel(receiver.url, secret="k")
    monitor = await world.monitor(["eu"], [channel])
    receiver.is_holding = True
    worker = start_worker()
    try:
        # Given a worker sending the down notice, held open by the receiver
        # (the message that gateway.main.enqueue_transitions sends per monitor)
        transitions = await world.feed(monitor, "eu", "dd")
        assert transitions
        await asyncio.to_thread(actors.evaluate_monitor.send, str(monitor))
        await wait_for(lambda: len(receiver.held) == 1)

        # When the worker dies with kill -9 and a new one starts
        kill(worker)
        receiver.is_holding = False
        worker = start_worker()

        # Then the scheduler's requeue job sends it again, exactly once
        async def requeue_until_delivered() -> None:
            while not receiver.requests:
                await asyncio.to_thread(actors.requeue_notifications.send)
                await asyncio.sleep(1.0)

        await asyncio.wait_for(requeue_until_delivered(), 90)
        await asyncio.sleep(3)
    finally:
        kill(worker)

    assert len(receiver.requests) == 1
    delivered, held = receiver.requests[0], receiver.held[0]
    assert delivered.headers["X-Mometrics-Delivery"] == held.headers["X-Mometrics-Delivery"]
    (entry,) = await world.outbox()
    assert entry.delivered_at is not None
    assert entry.attempts == 2
    assert len(await world.incidents(monitor)) == 1


async def test_scheduler_enqueues_each_job_once(alert_env) -> None:  # type: ignore[no-untyped-def]
    redis = Redis.from_url(alert_env["MOMETRICS_REDIS_URL"])
    jobs = scheduler.default_jobs()
    now = 1_800_000_000.0

    # Two replicas tick at the same instant, then one ticks again.
    first, second = await asyncio.gather(
        scheduler.run_once(redis, jobs, now), scheduler.run_once(redis, jobs, now)
    )
    third = await scheduler.run_once(redis, jobs, now + 0.5)

    assert sorted(first + second) == sorted(job.name for job in jobs)
    assert third == []
    assert await redis.llen("mometrics-jobs:default") == len(jobs)
    await redis.aclose()
