"""Fixtures for rollup tests: a pool on the test database and result makers."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from mometrics.probe.v1 import agent_pb2
from mometrics_control.gateway.ingest import Ingestor

AGENT_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


async def create_monitor(
    connection: asyncpg.Connection,
    regions: list[str],
    interval_s: int = 60,
    quorum: int = 0,
) -> uuid.UUID:
    """Insert an organisation and an HTTP monitor; return the monitor id."""
    organization_id = uuid.uuid4()
    monitor_id = uuid.uuid4()
    await connection.execute(
        "INSERT INTO organizations (id, name) VALUES ($1, 'rollup tests')", organization_id
    )
    await connection.execute(
        "INSERT INTO monitors (id, organization_id, name, kind, target, interval_seconds, "
        "timeout_seconds, regions, options, quorum) "
        "VALUES ($1, $2, 'target', 'http', 'http://127.0.0.1/', $3, 5, $4, $5::jsonb, $6)",
        monitor_id,
        organization_id,
        interval_s,
        regions,
        json.dumps({}),
        quorum,
    )
    return monitor_id


def result(
    monitor_id: uuid.UUID, at: dt.datetime, is_up: bool, latency_ms: float
) -> agent_pb2.CheckResult:
    us = round(at.timestamp() * 1_000_000)
    return agent_pb2.CheckResult(
        monitor_id=str(monitor_id),
        scheduled_at_us=us,
        started_at_us=us,
        status=agent_pb2.CHECK_STATUS_UP if is_up else agent_pb2.CHECK_STATUS_DOWN,
        latency_ms=latency_ms,
        error_class="" if is_up else "connect",
        error_message="" if is_up else "connection refused",
    )


async def ingest(pool: asyncpg.Pool, region: str, results: list[agent_pb2.CheckResult]) -> int:
    """Store results through the gateway's ingest path; return how many were new."""
    stored, _ = await Ingestor(pool).store(AGENT_ID, region, results)
    return stored
