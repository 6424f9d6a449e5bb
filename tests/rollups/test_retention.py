"""Partition upkeep: daily partitions are created ahead and dropped past retention."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest

from mometrics_control.config import get_settings
from mometrics_control.jobs import runtime, tasks
from mometrics_control.rollups import jobs
from mometrics_control.rollups.queries import HOUR_RETENTION_DAYS, MINUTE_RETENTION_DAYS
from tests.rollups.conftest import create_monitor


@pytest.fixture
async def job_runtime(
    control_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    """Point the jobs' cached settings and engine at this test's database."""
    monkeypatch.setenv("MOMETRICS_RETENTION_DAYS", "3")
    get_settings.cache_clear()
    runtime.sessionmaker.cache_clear()
    yield
    await runtime.sessionmaker().kw["bind"].dispose()
    runtime.sessionmaker.cache_clear()
    get_settings.cache_clear()


async def _partitions(connection: asyncpg.Connection, parent: str) -> set[str]:
    rows = await connection.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1",
        parent,
    )
    return {row["relname"] for row in rows}


def _name(prefix: str, day: dt.date) -> str:
    return f"{prefix}_{day:%Y%m%d}"


async def test_result_partitions_created_ahead_and_dropped(
    job_runtime: None, pool: asyncpg.Pool
) -> None:
    # Given partitions 4 and 10 days old holding results, with 3 days' retention
    today = dt.datetime.now(dt.UTC).date()
    async with pool.acquire() as connection:
        monitor_id = await create_monitor(connection, ["eu-west"])
        for age in (3, 4, 10):
            day = today - dt.timedelta(days=age)
            await connection.execute("SELECT mometrics_ensure_partition($1)", day)
            await connection.execute(
                "INSERT INTO check_results (scheduled_at, monitor_id, region, started_at, "
                "status, latency_ms) VALUES ($1, $2, 'eu-west', $1, 1, 5)",
                dt.datetime.combine(day, dt.time(12), dt.UTC),
                monitor_id,
            )
        await connection.execute(
            "DROP TABLE IF EXISTS " + _name("check_results", today + dt.timedelta(days=7))
        )

    # When the upkeep job runs
    await tasks.upkeep_partitions()

    # Then the next seven days have partitions and those past retention are gone
    async with pool.acquire() as connection:
        names = await _partitions(connection, "check_results")
        kept = await connection.fetchval("SELECT count(*) FROM check_results")
    for ahead in range(8):
        assert _name("check_results", today + dt.timedelta(days=ahead)) in names
    assert _name("check_results", today - dt.timedelta(days=3)) in names
    assert _name("check_results", today - dt.timedelta(days=4)) not in names
    assert _name("check_results", today - dt.timedelta(days=10)) not in names
    assert kept == 1


async def test_rollup_upkeep_keeps_minutes_and_hours_bounded(pool: asyncpg.Pool) -> None:
    # Given minute partitions at and past retention, and an expired hour row
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    oldest_kept = today - dt.timedelta(days=MINUTE_RETENTION_DAYS)
    expired = oldest_kept - dt.timedelta(days=1)
    async with pool.acquire() as connection:
        monitor_id = await create_monitor(connection, ["eu-west"])
        for day in (oldest_kept, expired):
            await connection.execute("SELECT mometrics_ensure_rollup_partition($1)", day)
        for age_days in (HOUR_RETENTION_DAYS + 1, 2):
            await connection.execute(
                "INSERT INTO rollup_hours VALUES ($1, 'eu-west', $2, 1, 1, 60, 60, 5, 5, 5, NULL)",
                monitor_id,
                now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=age_days),
            )

        # When the rollup upkeep runs
        dropped = await jobs.upkeep(connection, now)
        names = await _partitions(connection, "rollup_minutes")
        hours = await connection.fetchval("SELECT count(*) FROM rollup_hours")

    # Then expired minute partitions and hour rows are gone, and partitions
    # exist for the days ahead
    assert _name("rollup_minutes", expired) in dropped
    assert _name("rollup_minutes", expired) not in names
    assert _name("rollup_minutes", oldest_kept) in names
    for ahead in range(jobs.PARTITIONS_AHEAD_DAYS + 1):
        assert _name("rollup_minutes", today + dt.timedelta(days=ahead)) in names
    assert hours == 1


async def test_deleting_monitor_deletes_its_rollups(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        monitor_id = await create_monitor(connection, ["eu-west"])
        bucket = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for table in ("rollup_hours", "rollup_days"):
            await connection.execute(
                f"INSERT INTO {table} VALUES ($1, 'eu-west', $2, 1, 1, 60, 60, 5, 5, 5, NULL)",
                monitor_id,
                bucket,
            )
        await connection.execute("DELETE FROM monitors WHERE id = $1", monitor_id)
        left = await connection.fetchval(
            "SELECT (SELECT count(*) FROM rollup_hours) + (SELECT count(*) FROM rollup_days)"
        )
    assert left == 0
