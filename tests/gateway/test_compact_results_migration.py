"""Migration 0008 can be reverted and applied again."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import command
from alembic.config import Config

DROPPED = {"received_at", "cert_expires_at", "loop_lag_ms"}


async def _layout(database_url: str) -> tuple[set[str], set[str], str | None, bool]:
    """Return check_results and region_states columns, the fillfactor option
    of region_states and whether the canary index exists."""
    connection = await asyncpg.connect(database_url)
    results = await connection.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'check_results'"
    )
    states = await connection.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'region_states'"
    )
    options = await connection.fetchval(
        "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'region_states'"
    )
    has_index = await connection.fetchval(
        "SELECT count(*) = 1 FROM pg_indexes WHERE indexname = 'monitors_canaries'"
    )
    await connection.close()
    return (
        {row[0] for row in results},
        {row[0] for row in states},
        options,
        has_index,
    )


async def test_compact_results_migration_reverts_and_reapplies(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", "mometrics_control:migrations")
    config.set_main_option("sqlalchemy.url", database_url)

    result_columns, state_columns, options, has_index = await _layout(database_url)
    assert not DROPPED & result_columns
    assert "cert_expires_at" in state_columns
    assert options == "fillfactor=50"
    assert has_index

    await asyncio.to_thread(command.downgrade, config, "0005")
    result_columns, state_columns, options, has_index = await _layout(database_url)
    assert DROPPED <= result_columns
    assert "cert_expires_at" not in state_columns
    assert not options
    assert not has_index

    await asyncio.to_thread(command.upgrade, config, "head")
    result_columns, state_columns, options, has_index = await _layout(database_url)
    assert not DROPPED & result_columns
    assert "cert_expires_at" in state_columns
    assert options == "fillfactor=50"
    assert has_index
