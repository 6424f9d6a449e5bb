"""Plain functions behind the rollup actors, callable directly from tests."""

from __future__ import annotations

import datetime as dt
import logging

import asyncpg

from mometrics_control.config import get_settings, to_libpq_url
from mometrics_control.rollups.compute import RefreshStats, refresh_rollups
from mometrics_control.rollups.queries import HOUR_RETENTION_DAYS, MINUTE_RETENTION_DAYS

log = logging.getLogger("mometrics.rollups")

# Daily partitions of rollup_minutes created ahead of time.
PARTITIONS_AHEAD_DAYS = 2


async def _connect() -> asyncpg.Connection:
    return await asyncpg.connect(to_libpq_url(get_settings().database_url))


async def refresh() -> RefreshStats:
    """Fold every result stored since the last run into the rollups."""
    connection = await _connect()
    try:
        return await refresh_rollups(connection)
    finally:
        await connection.close()


async def upkeep(connection: asyncpg.Connection, now: dt.datetime) -> list[str]:
    """Create minute partitions ahead, drop expired ones and old hour rows.

    Returns the names of the dropped partitions.
    """
    today = now.astimezone(dt.UTC).date()
    await connection.execute(
        "SELECT mometrics_ensure_rollup_partition($1::date + d) "
        "FROM generate_series(0, $2::integer) AS d",
        today,
        PARTITIONS_AHEAD_DAYS,
    )
    cutoff = today - dt.timedelta(days=MINUTE_RETENTION_DAYS)
    names = await connection.fetch(
        "SELECT c.relname FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE p.relname = 'rollup_minutes' AND c.relname ~ '^rollup_minutes_[0-9]{8}$'"
    )
    dropped = []
    for (name,) in names:
        day = dt.datetime.strptime(name.removeprefix("rollup_minutes_"), "%Y%m%d").date()
        if day < cutoff:
            await connection.execute(f'DROP TABLE IF EXISTS "{name}"')
            dropped.append(name)
            log.info("partition dropped", extra={"partition": name})
    deleted = await connection.execute(
        "DELETE FROM rollup_hours WHERE bucket < $1",
        now - dt.timedelta(days=HOUR_RETENTION_DAYS),
    )
    log.info("rollup upkeep done", extra={"hour_rows_deleted": deleted.rsplit(" ", 1)[-1]})
    return sorted(dropped)


async def upkeep_rollups() -> list[str]:
    connection = await _connect()
    try:
        return await upkeep(connection, dt.datetime.now(dt.UTC))
    finally:
        await connection.close()
