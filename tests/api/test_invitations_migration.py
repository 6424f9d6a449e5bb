"""Migration 0007 (invitations) can be reverted and applied again."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


async def _index_names(database_url: str) -> set[str]:
    connection = await asyncpg.connect(database_url)
    rows = await connection.fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'invitations'"
    )
    await connection.close()
    return {row["indexname"] for row in rows}


async def test_invitations_migration_round_trip(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", "mometrics_control:migrations")
    config.set_main_option("sqlalchemy.url", database_url)
    previous = ScriptDirectory.from_config(config).get_revision("0007").down_revision
    assert isinstance(previous, str)

    await asyncio.to_thread(command.downgrade, config, previous)
    assert await _index_names(database_url) == set()

    await asyncio.to_thread(command.upgrade, config, "head")
    assert "uq_invitations_open_email" in await _index_names(database_url)
