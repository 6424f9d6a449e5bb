"""Result batches over a real stream: stored once, rejected with a reason."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from mometrics.probe.v1 import agent_pb2
from tests.gateway.conftest import Gateways, RawAgent, monitors, open_raw, register_agent
from tests.rollups.conftest import result

STORED = agent_pb2.BatchAck.OUTCOME_STORED
REJECTED = agent_pb2.BatchAck.OUTCOME_REJECTED


def batch_of(
    monitor_id: str, count: int, newest: dt.datetime | None = None
) -> agent_pb2.ResultBatch:
    newest = newest or dt.datetime.now(dt.UTC).replace(microsecond=0)
    results = [
        result(uuid.UUID(monitor_id), newest - dt.timedelta(minutes=k), True, 20.0 + k)
        for k in range(count)
    ]
    return agent_pb2.ResultBatch(batch_id=uuid.uuid4().hex, results=results)


async def stored_count(pool: asyncpg.Pool, monitor_id: str) -> int:
    async with pool.acquire() as connection:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM check_results WHERE monitor_id = $1", uuid.UUID(monitor_id)
        )
        return count


async def test_duplicate_batch_stored_once(
    pool: asyncpg.Pool, gateways: Gateways, raw_agents: list[RawAgent], database_url: str
) -> None:
    # Given an agent streaming to a gateway
    (monitor_id,) = await monitors(pool, 1, ["eu-west"])
    server = await gateways.start()
    agent_id, token = await register_agent(database_url, "eu-west")
    agent = await open_raw(raw_agents, server.port, agent_id, token, "eu-west")
    batch = batch_of(monitor_id, 10)

    # When it sends a batch, and the same batch again as after a lost ack
    first = await agent.send(batch)
    again = await agent.send(batch)

    # Then both are acknowledged but the results are stored once
    assert first.outcome == STORED
    assert first.stored_count == 10
    assert again.outcome == STORED
    assert again.stored_count == 0
    assert again.rejected_count == 0
    assert await stored_count(pool, monitor_id) == 10


def _unknown(monitor_id: str, other_region_id: str) -> agent_pb2.CheckResult:
    return result(uuid.uuid4(), dt.datetime.now(dt.UTC), True, 5.0)


def _wrong_region(monitor_id: str, other_region_id: str) -> agent_pb2.CheckResult:
    return result(uuid.UUID(other_region_id), dt.datetime.now(dt.UTC), True, 5.0)


def _future(monitor_id: str, other_region_id: str) -> agent_pb2.CheckResult:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    return result(uuid.UUID(monitor_id), moment, True, 5.0)


def _past(monitor_id: str, other_region_id: str) -> agent_pb2.CheckResult:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    return result(uuid.UUID(monitor_id), moment, True, 5.0)


def _no_status(monitor_id: str, other_region_id: str) -> agent_pb2.CheckResult:
    bad = result(uuid.UUID(monitor_id), dt.datetime.now(dt.UTC), True, 5.0)
    bad.status = agent_pb2.CHECK_STATUS_UNSPECIFIED
    return bad


@pytest.mark.parametrize(
    ("make_invalid", "reason"),
    [
        (_unknown, "unknown or paused monitor"),
        (_wrong_region, "is not checked in region eu-west"),
        (_future, "is in the future"),
        (_past, "is older than 7 days"),
        (_no_status, "has no status"),
    ],
    ids=["unknown-monitor", "wrong-region", "far-future", "far-past", "no-status"],
)
async def test_invalid_result_rejected_with_reason(
    pool: asyncpg.Pool,
    gateways: Gateways,
    raw_agents: list[RawAgent],
    database_url: str,
    make_invalid: object,
    reason: str,
) -> None:
    # Given a monitor in eu-west and one only in us-east
    (monitor_id,) = await monitors(pool, 1, ["eu-west"])
    (other_region_id,) = await monitors(pool, 1, ["us-east"])
    server = await gateways.start()
    agent_id, token = await register_agent(database_url, "eu-west")
    agent = await open_raw(raw_agents, server.port, agent_id, token, "eu-west")

    # When a batch mixes one valid result with one invalid result
    batch = batch_of(monitor_id, 1)
    batch.results.append(make_invalid(monitor_id, other_region_id))  # type: ignore[operator]
    ack = await agent.send(batch)

    # Then the valid one is stored and the other rejected with its reason
    assert ack.outcome == STORED
    assert ack.stored_count == 1
    assert ack.rejected_count == 1
    assert len(ack.reasons) == 1
    assert reason in ack.reasons[0]

    # and the stream goes on working
    later = await agent.send(
        batch_of(monitor_id, 1, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    )
    assert later.stored_count == 1
    assert not agent.ended.is_set()
    assert await stored_count(pool, monitor_id) == 2


async def test_oversize_batch_rejected_whole(
    pool: asyncpg.Pool, gateways: Gateways, raw_agents: list[RawAgent], database_url: str
) -> None:
    (monitor_id,) = await monitors(pool, 1, ["eu-west"])
    server = await gateways.start(max_batch_results=100)
    agent_id, token = await register_agent(database_url, "eu-west")
    agent = await open_raw(raw_agents, server.port, agent_id, token, "eu-west")

    ack = await agent.send(batch_of(monitor_id, 101))

    assert ack.outcome == REJECTED
    assert ack.rejected_count == 101
    assert "exceeds the limit of 100" in ack.reasons[0]
    assert await stored_count(pool, monitor_id) == 0
    later = await agent.send(batch_of(monitor_id, 100))
    assert later.outcome == STORED
    assert later.stored_count == 100
