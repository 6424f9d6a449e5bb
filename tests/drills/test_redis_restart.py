"""Drill: Redis restarted while a notification waits for its retry.

The drill starts its own redis-server (append-only file on, snapshots off)
on a spare loopback port; the machine's Redis is not touched. A monitor goes
down while its webhook receiver returns 503, so the down notice waits in
the queue for a retry. Redis restarts, the receiver recovers, and the down
and the recovery notices each arrive exactly once.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.drills.ledger import Ledger, record, scaled
from tests.drills.load import INTERVAL_S
from tests.drills.own_redis import OwnRedis
from tests.drills.servers import LoadTarget, LoopThread, WebhookReceiver
from tests.drills.stack import ApiClient, DrillStack, wait_until

pytestmark = [
    pytest.mark.drill,
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed"),
]

REGION = "drill-d"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path, is_append_only=True)
    server.start()
    yield server
    server.stop()


async def test_redis_restart_delivers_once(
    control_env: dict[str, str],
    own_redis: OwnRedis,
    target: LoadTarget,
    loop_thread: LoopThread,
    database_url: str,
    tmp_path: Path,
) -> None:
    quiet_s = scaled(20, 60)
    stack = DrillStack({**control_env, "MOMETRICS_REDIS_URL": own_redis.url}, tmp_path)
    receiver = WebhookReceiver(loop_thread).start()
    receiver.is_failing = True
    try:
        stack.start_api()
        gateway_port = stack.start_gateway()
        stack.start_worker()
        stack.start_scheduler()
        token = stack.create_agent(REGION)
        stack.start_agent("agent", REGION, token, f"127.0.0.1:{gateway_port}")
        ledger = Ledger(database_url, target)

        async with ApiClient.signed_in(stack.api_url, "drill-d@example.org") as api:
            # Given a monitor with a webhook channel whose receiver returns 503
            channel = await api.create_channel("webhook", "drill receiver", {"url": receiver.url})
            monitor = await api.create_monitor(
                {
                    "name": "redis drill",
                    "url": target.url("d/0"),
                    "interval_seconds": INTERVAL_S,
                    "timeout_seconds": 2,
                    "regions": [REGION],
                    "channel_ids": [channel],
                    "alerting": {"down_after": 1},
                }
            )
            ledger.watch("d/0", monitor["id"], REGION, INTERVAL_S)
            await wait_until(ledger.every_monitor_stored, 3 * INTERVAL_S, "a first result")

            # When the monitor goes down, its notice fails and waits for a retry
            target.is_failing = True

            async def attempted() -> bool:
                return receiver.rejected > 0

            await wait_until(attempted, 4 * INTERVAL_S, "a first delivery attempt")

            # And Redis restarts while the retry is queued
            own_redis.restart()
            receiver.is_failing = False

            # Then the down notice arrives once
            async def delivered(event: str) -> bool:
                return event in receiver.events()

            await wait_until(lambda: delivered("down"), 120, "the down notification")

            # When the monitor recovers, the recovery notice arrives once
            target.is_failing = False
            await wait_until(lambda: delivered("up"), 4 * INTERVAL_S, "the up notification")

            # And nothing more arrives while the periodic sweeps run again
            await asyncio.sleep(quiet_s)
            incidents = await api.incidents()
            stack.assert_running("api", "gateway", "worker", "scheduler", "agent")
    finally:
        stack.stop()
        receiver.stop()

    events = receiver.events()
    delivery_ids = [delivery["delivery_id"] for delivery in receiver.deliveries]
    record(
        "redis_restart",
        {
            "title": "Redis restarted while a notification waits for its retry",
            "load": "one HTTP monitor at 10 s with a webhook channel, worker and scheduler running",
            "fault": (
                "the monitor goes down while the webhook returns 503, then the drill's own "
                f"redis-server (append-only file) restarts; quiet period {quiet_s} s"
            ),
            "failed_attempts_before_restart": receiver.rejected,
            "incidents": len(incidents),
            "notifications_expected": 2,
            "notifications_delivered": len(events),
            "events": events,
        },
    )
    assert events.count("down") == 1
    assert events.count("up") == 1
    assert len(set(delivery_ids)) == len(delivery_ids)
    assert len(incidents) == 1
