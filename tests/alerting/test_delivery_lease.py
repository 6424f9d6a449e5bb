"""Outbox leases: a crash between the send and its record, and expired leases."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy import select

from mometrics_control.alerting.models import OutboxEntry
from mometrics_control.config import to_libpq_url
from mometrics_control.jobs import tasks
from mometrics_control.notifications import outbox
from mometrics_control.notifications.delivery import Outcome

# The delivery task of one worker, alone in a child process.
DELIVER_ONCE = """
import asyncio, sys
from mometrics_control.jobs import tasks
asyncio.run(tasks.deliver_notification(sys.argv[1]))
"""

# A backend waiting for a lock that this connection's transaction holds.
BLOCKED_BY_ME = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND pg_backend_pid() = ANY(pg_blocking_pids(pid))
"""


async def wait_for(check: Callable[[], Awaitable[object]], description: str) -> object:
    """Await `check()` until it returns a truthy value; a guard against hangs only."""
    deadline = asyncio.get_running_loop().time() + 60
    while not (value := await check()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {description}"
        await asyncio.sleep(0.05)
    return value


async def down_notice(world, receiver) -> str:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url + "/hook", secret="s3cret")
    monitor = await world.monitor(["eu"], [channel])
    await world.feed(monitor, "eu", "dd")
    (outbox_id,) = await world.evaluate(monitor)
    return str(outbox_id)


async def stored(world, outbox_id: str) -> OutboxEntry:  # type: ignore[no-untyped-def]
    async with world.sessions() as session:
        entry = await session.scalar(
            select(OutboxEntry).where(OutboxEntry.id == uuid.UUID(outbox_id))
        )
        assert entry is not None
        return entry


async def test_kill_after_send_resends_same_key(world, receiver, alert_env) -> None:  # type: ignore[no-untyped-def]
    outbox_id = await down_notice(world, receiver)
    receiver.gate = asyncio.Event()
    database = await asyncpg.connect(to_libpq_url(alert_env["MOMETRICS_DATABASE_URL"]))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        DELIVER_ONCE,
        outbox_id,
        env={**os.environ, "MOMETRICS_NOTIFICATION_LEASE_S": "1"},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Given a worker whose send reached the receiver
        await wait_for(lambda: _true(len(receiver.requests) == 1), "the first send")

        # And whose record of it waits on a row lock once the receiver responds
        lock = database.transaction()
        await lock.start()
        await database.execute(
            "SELECT id FROM notification_outbox WHERE id = $1 FOR UPDATE", uuid.UUID(outbox_id)
        )
        receiver.gate.set()
        waiter_pid = await wait_for(lambda: database.fetchval(BLOCKED_BY_ME), "the record")

        # When the worker is killed with SIGKILL before the record commits
        os.killpg(child.pid, signal.SIGKILL)
        await child.wait()
        await lock.rollback()
        await wait_for(
            lambda: _none(
                database.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", waiter_pid)
            ),
            "the killed worker's connection to close",
        )
    finally:
        if child.returncode is None:
            os.killpg(child.pid, signal.SIGKILL)
            await child.wait()
        await database.close()

    # Then the row is still undelivered, with the lease of the dead attempt
    crashed = await stored(world, outbox_id)
    assert crashed.delivered_at is None
    assert crashed.attempts == 1
    assert crashed.attempt_id is not None

    # And once the lease has expired, the requeue job finds it again
    async def lease_expired() -> bool:
        leased_until = (await stored(world, outbox_id)).claimed_until
        return leased_until is not None and leased_until < dt.datetime.now(dt.UTC)

    await wait_for(lease_expired, "the lease to expire")
    async with world.sessions() as session:
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        assert await outbox.due_ids(session, later) == [uuid.UUID(outbox_id)]
        await session.commit()

    # When a new worker delivers it, the receiver gets the same keys twice
    assert await tasks.deliver_notification(outbox_id) == Outcome.DELIVERED
    assert await tasks.deliver_notification(outbox_id) == Outcome.SKIPPED
    first, second = receiver.requests
    for name in ("X-Mometrics-Delivery", "Idempotency-Key"):
        assert first.headers[name] == outbox_id
        assert second.headers[name] == outbox_id
    assert first.body == second.body
    assert len({r.headers["Idempotency-Key"] for r in receiver.requests}) == 1

    # And the outbox row ends delivered, once, by the second attempt
    delivered = await stored(world, outbox_id)
    assert delivered.delivered_at is not None
    assert delivered.attempts == 2
    assert delivered.attempt_id != crashed.attempt_id
    assert len(await world.outbox()) == 1


async def test_leased_row_is_skipped(world, receiver) -> None:  # type: ignore[no-untyped-def]
    outbox_id = await down_notice(world, receiver)
    async with world.sessions() as session:
        claimed = await outbox.claim(
            session, uuid.UUID(outbox_id), dt.datetime.now(dt.UTC), lease_s=3600
        )
        assert claimed is not None
        await session.commit()

    assert await tasks.deliver_notification(outbox_id) == Outcome.SKIPPED
    assert receiver.requests == []


async def test_stale_failure_keeps_newer_lease(world, receiver) -> None:  # type: ignore[no-untyped-def]
    outbox_id = await down_notice(world, receiver)
    receiver.gate = asyncio.Event()
    receiver.statuses = [503]

    # Given a first attempt whose send hangs past its lease
    first = asyncio.create_task(tasks.deliver_notification(outbox_id))
    await wait_for(lambda: _true(len(receiver.requests) == 1), "the first send")
    async with world.sessions() as session:
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        claimed = await outbox.claim(session, uuid.UUID(outbox_id), later, lease_s=60)
        assert claimed is not None
        _, second_attempt = claimed
        await session.commit()

    # When the first send then fails
    receiver.gate.set()

    # Then it records nothing, because the second attempt holds the lease now
    assert await first == Outcome.SKIPPED
    entry = await stored(world, outbox_id)
    assert entry.attempt_id == second_attempt
    assert entry.claimed_until == later + dt.timedelta(seconds=60)
    assert entry.last_error is None
    assert entry.delivered_at is None


async def _true(value: bool) -> bool:
    return value


async def _none(result: Awaitable[object]) -> bool:
    return await result is None
