"""Push (heartbeat) monitors: pings from cron jobs, and verdicts on missed pings.

A push monitor expects a ping every `interval_seconds`. When none arrives
within the interval plus `options.grace_seconds` after the latest result, a
down result (error class `timeout`) is stored, and one more each interval
while the pings stay away. Results go to `check_results` under region
"push" and update region states in the same transaction, as agent results
do. The timer lives in `push_monitors`, so a restart does not reset it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Literal

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics_control.alerting.state import Transition, update_region_states
from mometrics_control.auth.tokens import hash_secret, new_secret
from mometrics_control.errors import Conflict, NotFound
from mometrics_control.models import Monitor
from mometrics_control.monitors.schemas import PUSH_REGION
from mometrics_control.push.models import PushMonitor
from mometrics_control.push.schemas import PushOptions

log = logging.getLogger("mometrics.push")

TransitionSink = Callable[[list[Transition]], Awaitable[None]]

MAX_MESSAGE_CHARS = 1000


def grace_of(monitor: Monitor) -> dt.timedelta:
    return dt.timedelta(seconds=PushOptions.model_validate(monitor.options).grace_seconds)


async def issue_token(session: AsyncSession, monitor: Monitor) -> str:
    """Create or replace the monitor's push token and return it; the old one stops working."""
    if monitor.kind != "push":
        raise Conflict(f"monitor {monitor.id} is {monitor.kind}, not push")
    token = new_secret()
    row = await session.get(PushMonitor, monitor.id)
    if row is None:
        session.add(PushMonitor(monitor_id=monitor.id, token_hash=hash_secret(token)))
    else:
        row.token_hash = hash_secret(token)
    await session.commit()
    log.info("push token issued", extra={"monitor_id": str(monitor.id)})
    return token


async def _raw_connection(session: AsyncSession) -> asyncpg.Connection:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    return driver


async def _store_result(
    session: AsyncSession,
    monitor_id: uuid.UUID,
    at: dt.datetime,
    is_up: bool,
    latency_ms: float,
    error_class: str | None,
    message: str | None,
) -> list[Transition]:
    connection = await _raw_connection(session)
    await connection.execute("SELECT mometrics_ensure_partition($1)", at.date())
    inserted = await connection.fetch(
        """
        INSERT INTO check_results (scheduled_at, monitor_id, region, agent_id, started_at,
            status, latency_ms, error_class, error_message)
        VALUES ($1, $2, $3, NULL, $1, $4, $5, $6, $7)
        ON CONFLICT DO NOTHING
        RETURNING monitor_id, region, scheduled_at, status, latency_ms, error_message
        """,
        at,
        monitor_id,
        PUSH_REGION,
        1 if is_up else 2,
        latency_ms,
        error_class,
        message.replace("\x00", "")[:MAX_MESSAGE_CHARS] if message else None,
    )
    return await update_region_states(connection, list(inserted))


async def record_ping(
    session: AsyncSession,
    token: str,
    status: Literal["up", "down"],
    message: str | None,
    latency_ms: float | None,
    now: dt.datetime | None = None,
) -> tuple[uuid.UUID, list[Transition]]:
    """Store one ping as a result; return the monitor id and any state changes."""
    now = now or dt.datetime.now(dt.UTC)
    found = (
        await session.execute(
            select(PushMonitor, Monitor)
            .join(Monitor, Monitor.id == PushMonitor.monitor_id)
            .where(PushMonitor.token_hash == hash_secret(token))
            .with_for_update(of=PushMonitor)
        )
    ).first()
    if found is None:
        raise NotFound("unknown push token; copy the push URL of the monitor again")
    push, monitor = found
    if monitor.paused:
        raise Conflict("the monitor is paused; resume it to accept pings")
    is_up = status == "up"
    transitions = await _store_result(
        session,
        monitor.id,
        now,
        is_up,
        latency_ms or 0.0,
        None if is_up else "assertion",
        message if message else (None if is_up else "the job reported down"),
    )
    push.last_ping_at = now
    push.last_result_at = now
    await session.commit()
    return monitor.id, transitions


async def check_overdue_push_monitors(
    sessionmaker: async_sessionmaker[AsyncSession],
    now: dt.datetime | None = None,
    on_transitions: TransitionSink | None = None,
) -> int:
    """Store a down result for every push monitor whose ping is overdue.

    Meant to run every few seconds from the scheduler; several replicas may
    run it at once because each monitor's row is locked with SKIP LOCKED.
    State changes go to `on_transitions` after the commit. Returns how many
    down results were stored.
    """
    now = now or dt.datetime.now(dt.UTC)
    stored = 0
    transitions: list[Transition] = []
    async with sessionmaker() as session:
        rows = await session.execute(
            select(PushMonitor, Monitor)
            .join(Monitor, Monitor.id == PushMonitor.monitor_id)
            .where(Monitor.paused.is_(False), Monitor.kind == "push")
            .with_for_update(of=PushMonitor, skip_locked=True)
        )
        for push, monitor in rows:
            changes = await _record_miss(session, push, monitor, now)
            if changes is not None:
                stored += 1
                transitions += changes
        await session.commit()
    if transitions and on_transitions is not None:
        await on_transitions(transitions)
    if stored:
        log.info("missed pings recorded", extra={"count": stored})
    return stored


async def _record_miss(
    session: AsyncSession, push: PushMonitor, monitor: Monitor, now: dt.datetime
) -> list[Transition] | None:
    """Store the latest missed-ping verdict that is due; return None when none is.

    After a long stop of the scheduler only the latest due verdict is stored,
    so the time before it shows as a gap in the data, not as many rows.
    """
    interval = dt.timedelta(seconds=monitor.interval_seconds)
    grace = grace_of(monitor)
    is_after_ping = push.last_result_at == push.last_ping_at
    latest = push.last_result_at or push.created_at
    due = latest + interval + (grace if is_after_ping else dt.timedelta())
    if due > now:
        return None
    due += ((now - due) // interval) * interval
    message = (
        f"no ping within {monitor.interval_seconds} s plus {int(grace.total_seconds())} s grace"
    )
    transitions = await _store_result(session, monitor.id, due, False, 0.0, "timeout", message)
    push.last_result_at = due
    log.info("push monitor missed its ping", extra={"monitor_id": str(monitor.id)})
    return transitions


def status_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/api/v1/push/{token}"
