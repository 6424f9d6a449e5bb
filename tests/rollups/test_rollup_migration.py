"""Migration 0002 can be reverted and applied again."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import command
from alembic.config import Config

ROLLUP_TABLES = {"rollup_minutes", "rollup_hours", "rollup_days", "rollup_dirty"}


async def _tables(database_url: str) -> set[str]:
    connection = await asyncpg.connect(database_url)
    rows = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'rollup_%'"
    )
    functions = await connection.fetchval(
        "SELECT count(*) FROM pg_proc WHERE proname LIKE 'mometrics_histogram%'"
    )
    await connection.close()
    return {row["tablename"] for row in rows if "_20" not in row["tablename"]} | (
        {"functions"} if functions else set()
    )


async def test_rollup_migration_reverts_and_reapplies(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", "mometrics_control:migrations")
    config.set_main_option("sqlalchemy.url", database_url)

    await asyncio.to_thread(command.downgrade, config, "0001")
    assert await _tables(database_url) == set()

    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _tables(database_url) == ROLLUP_TABLES | {"functions"}
