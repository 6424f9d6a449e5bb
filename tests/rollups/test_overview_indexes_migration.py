"""Migration 0005 adds the covering indexes of "*" rollup rows and removes them again."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import command
from alembic.config import Config

INDEXES = {"rollup_minutes_overall", "rollup_hours_overall", "rollup_days_overall"}


async def _overall_indexes(database_url: str) -> set[str]:
    connection = await asyncpg.connect(database_url)
    rows = await connection.fetch(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
        "AND indexname = ANY($1::text[])",
        sorted(INDEXES),
    )
    partition_indexes = await connection.fetchval(
        "SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'rollup_minutes_20%' "
        "AND indexdef LIKE '%WHERE (region = ''*''::text)%'"
    )
    await connection.close()
    return {row["indexname"] for row in rows} | ({"partitions"} if partition_indexes else set())


async def test_overview_indexes_revert_and_reapply(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", "mometrics_control:migrations")
    config.set_main_option("sqlalchemy.url", database_url)
    assert await _overall_indexes(database_url) == INDEXES | {"partitions"}

    await asyncio.to_thread(command.downgrade, config, "0005-1")
    assert await _overall_indexes(database_url) == set()

    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _overall_indexes(database_url) == INDEXES | {"partitions"}
