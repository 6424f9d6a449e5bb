"""Database and Redis handles shared by the actors of one worker process."""

from __future__ import annotations

import functools

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics_control.config import get_settings
from mometrics_control.db import create_engine, create_sessionmaker


@functools.cache
def sessionmaker() -> async_sessionmaker[AsyncSession]:
    # Dramatiq's AsyncIO middleware runs every actor on one event loop per
    # worker process, so one engine per process is safe.
    return create_sessionmaker(create_engine(get_settings().database_url, pool_size=5))


@functools.cache
def redis() -> Redis:
    return Redis.from_url(get_settings().redis_url)
