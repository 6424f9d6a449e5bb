"""Shared fixtures: real PostgreSQL and Redis for every test that needs them.

The suite uses the servers listening on 127.0.0.1:5432 and :6379 when they
answer, and otherwise starts embedded ones in a temporary folder. Each test
gets its own database, copied from a template that the Alembic migrations
built once per run, and its own Redis database index, flushed before use.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis

from mometrics_control.devstack.embedded import local_service_available, resolve_services

REDIS_TEST_DB = 9
_TEMPLATE = f"mometrics_template_{os.getpid()}"


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Return (admin PostgreSQL URL, Redis base URL) of real servers."""
    database_url = os.environ.get("MOMETRICS_TEST_DATABASE_URL", "")
    redis_url = os.environ.get("MOMETRICS_TEST_REDIS_URL", "")
    if not database_url and local_service_available("127.0.0.1", 5432):
        database_url = "postgresql://postgres@127.0.0.1:5432/postgres"
    if not redis_url and local_service_available("127.0.0.1", 6379):
        redis_url = "redis://127.0.0.1:6379"
    stop = None
    if not database_url or not redis_url:
        data_dir = Path("/tmp") / f"mometrics-test-{os.getpid()}"
        data_dir.mkdir(mode=0o755, exist_ok=True)
        saved = {
            k: os.environ.pop(k, None) for k in ("MOMETRICS_DATABASE_URL", "MOMETRICS_REDIS_URL")
        }
        if database_url:
            os.environ["MOMETRICS_DATABASE_URL"] = database_url
        if redis_url:
            os.environ["MOMETRICS_REDIS_URL"] = redis_url
        database_url, redis_url, stop = resolve_services(
            data_dir, postgres_port=None, redis_port=None
        )
        for key, value in saved.items():
            if value is not None:
                os.environ[key] = value
        redis_url = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
    yield database_url, redis_url
    if stop is not None:
        stop()


def _with_database(url: str, name: str) -> str:
    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def template_database(service_urls: tuple[str, str]) -> Iterator[str]:
    """Build a database with every migration applied, used as a template."""
    admin_url, _ = service_urls

    async def create() -> None:
        connection = await asyncpg.connect(admin_url)
        await connection.execute(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"')
        await connection.execute(f'CREATE DATABASE "{_TEMPLATE}"')
        await connection.close()

    asyncio.run(create())
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "mometrics_control:migrations")
    config.set_main_option("sqlalchemy.url", _with_database(admin_url, _TEMPLATE))
    command.upgrade(config, "head")
    yield _TEMPLATE

    async def drop() -> None:
        connection = await asyncpg.connect(admin_url)
        await connection.execute(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)')
        await connection.close()

    asyncio.run(drop())


@pytest.fixture
async def database_url(service_urls: tuple[str, str], template_database: str) -> AsyncIterator[str]:
    """Return the URL of a fresh migrated database for this test alone."""
    admin_url, _ = service_urls
    name = f"mometrics_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin_url)
    await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    await connection.close()
    yield _with_database(admin_url, name)
    connection = await asyncpg.connect(admin_url)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


@pytest.fixture
async def redis_url(service_urls: tuple[str, str]) -> AsyncIterator[str]:
    """Return the URL of an emptied Redis database index for this test."""
    _, base = service_urls
    url = f"{base}/{REDIS_TEST_DB}"
    client = Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    yield url


@pytest.fixture
def control_env(
    database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Set the control plane's settings for this test's database and Redis."""
    env = {
        "MOMETRICS_ENV": "development",
        "MOMETRICS_DATABASE_URL": database_url,
        "MOMETRICS_REDIS_URL": redis_url,
        "MOMETRICS_ALLOW_PRIVATE_TARGETS": "true",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from mometrics_control.config import get_settings

    get_settings.cache_clear()
    return env
