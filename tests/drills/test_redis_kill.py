"""Drill: Redis killed with `kill -9`, without persistence, while notifications wait.

The drill starts its own redis-server with no snapshots and no append-only
file, so a kill loses every queued job. The machine's Redis is not touched.
Monitors go down while their webhook receiver returns 503, so each down
notice waits in the queue for a retry. Redis is killed, stays down for a
while and starts again empty. The outbox in PostgreSQL still lists the
undelivered notices, and the scheduler's requeue job enqueues them again:
each down and each recovery notice reaches the receiver exactly once.

The receiver does not drop repeats, so its raw count is the count that
matters; the drill also reports the distinct delivery ids.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.drills.ledger import record, scaled
from tests.drills.load import INTERVAL_S
from tests.drills.own_redis import OwnRedis
from tests.drills.servers import LoadTarget, LoopThread, WebhookReceiver
from tests.drills.stack import ApiClient, DrillStack, wait_until

pytestmark = [
    pytest.mark.drill,
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed"),
]

REGION = "drill-k"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path, is_append_only=False)
    server.start()
    yield server
    server.stop()


async def outbox_counts(database_url: str) -> dict[str, int]:
    """Return outbox rows by state: attempted and undelivered, undelivered, all."""
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) FILTER (WHERE delivered_at IS NULL AND attempts > 0) AS failed, "
            "count(*) FILTER (WHERE delivered_at IS NULL) AS undelivered, "
            "count(*) FILTER (WHERE dropped_at IS NOT NULL) AS dropped, "
            "count(*) AS total FROM notification_outbox"
        )
    finally:
        await connection.close()
    return dict(row)


async def test_redis_kill9_delivers_once(
    control_env: dict[str, str],
    own_redis: OwnRedis,
    target: LoadTarget,
    loop_thread: LoopThread,
    database_url: str,
    tmp_path: Path,
) -> None:
    monitor_count = scaled(3, 20)
    redis_down_s = scaled(2, 30)
    quiet_s = scaled(5, 60)
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

        async with ApiClient.signed_in(stack.api_url, "drill-k@example.org") as api:
            # Given monitors whose target fails from their first check on,
            # and whose down notices failed once and wait in Redis for a retry
            target.is_failing = True
            channel = await api.create_channel("webhook", "drill receiver", {"url": receiver.url})
            monitor_ids = []
            for index in range(monitor_count):
                monitor = await api.create_monitor(
                    {
                        "name": f"redis kill {index}",
                        "url": target.url(f"k/{index}"),
                        "interval_seconds": INTERVAL_S,
                        "timeout_seconds": 2,
                        "regions": [REGION],
                        "channel_ids": [channel],
                        "alerting": {"down_after": 1},
                    }
                )
                monitor_ids.append(monitor["id"])

            async def every_notice_failed() -> bool:
                return (await outbox_counts(database_url))["failed"] >= monitor_count

            await wait_until(every_notice_failed, 4 * INTERVAL_S, "a failed attempt per monitor")
            queued = own_redis.queued_jobs()

            # When Redis is killed with SIGKILL and starts again, empty
            own_redis.kill9()
            killed_at = time.monotonic()
            await asyncio.sleep(redis_down_s)
            own_redis.start()
            survived = set(queued) & set(own_redis.queued_jobs())
            receiver.is_failing = False
            target.is_failing = False

            # Then every down and recovery notice arrives
            def delivered(event: str) -> int:
                return receiver.events().count(event)

            async def all_delivered() -> bool:
                return delivered("down") >= monitor_count and delivered("up") >= monitor_count

            await wait_until(all_delivered, 120, "a down and an up notice per monitor")
            recovered_s = round(time.monotonic() - killed_at, 1)

            # And nothing more arrives while the periodic jobs run again
            await asyncio.sleep(quiet_s)
            incidents = await api.incidents()
            stack.assert_running("api", "gateway", "worker", "scheduler", "agent")
    finally:
        stack.stop()
        receiver.stop()

    counts = await outbox_counts(database_url)
    delivery_ids = [delivery["delivery_id"] for delivery in receiver.deliveries]
    per_monitor = Counter(
        (delivery["body"]["monitor"]["id"], delivery["body"]["event"])
        for delivery in receiver.deliveries
    )
    record(
        "redis_kill",
        {
            "title": "Redis killed with kill -9, without persistence, while notifications wait",
            "load": (
                f"{monitor_count} HTTP monitors at {INTERVAL_S} s with one webhook channel, "
                "worker and scheduler running"
            ),
            "fault": (
                "the monitors go down while the webhook returns 503, then the drill's own "
                "redis-server (no snapshots, no append-only file) gets SIGKILL, stays down "
                f"{redis_down_s} s and starts empty; quiet period {quiet_s} s"
            ),
            "queued_jobs_at_kill": len(queued),
            "queued_deliveries_at_kill": list(queued.values()).count("notifications.deliver"),
            "queued_jobs_after_restart": len(survived),
            "seconds_from_kill_to_last_notice": recovered_s,
            "incidents": len(incidents),
            "notifications_expected": 2 * monitor_count,
            "notifications_delivered": len(set(delivery_ids)),
            "raw_receives": len(delivery_ids),
            "distinct_delivery_ids": len(set(delivery_ids)),
            "outbox_undelivered": counts["undelivered"],
            "outbox_dropped": counts["dropped"],
        },
    )
    assert "notifications.deliver" in queued.values(), "the kill found no queued notice"
    assert survived == set(), "queued jobs survived the kill"
    for monitor_id in monitor_ids:
        assert per_monitor[(monitor_id, "down")] == 1, f"down notices of {monitor_id}"
        assert per_monitor[(monitor_id, "up")] == 1, f"up notices of {monitor_id}"
    assert len(delivery_ids) == 2 * monitor_count
    assert len(set(delivery_ids)) == 2 * monitor_count
    assert counts["total"] == 2 * monitor_count
    assert counts["undelivered"] == 0
    assert len(incidents) == monitor_count
