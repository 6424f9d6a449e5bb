"""Result batches over a real stream: stored once, rejected with a reason."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest
from redis.asyncio import Redis

from mometrics.probe.v1 import agent_pb2
from tests.gateway.conftest import (
    Gateways,
    RawAgent,
    eventually,
    monitors,
    open_raw,
    publish_change,
    register_agent,
)
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


async def region_state(pool: asyncpg.Pool, monitor_id: str, region: str) -> asyncpg.Record:
    async with pool.acquire() as connection:
        row: asyncpg.Record = await connection.fetchrow(
            "SELECT * FROM region_states WHERE monitor_id = $1 AND region = $2",
            uuid.UUID(monitor_id),
            region,
        )
        return row


async def test_partly_resent_batch_counts_new_results_once(
    pool: asyncpg.Pool, gateways: Gateways, raw_agents: list[RawAgent], database_url: str
) -> None:
    # Given five results stored
    (monitor_id,) = await monitors(pool, 1, ["eu-west"])
    server = await gateways.start()
    agent_id, token = await register_agent(database_url, "eu-west")
    agent = await open_raw(raw_agents, server.port, agent_id, token, "eu-west")
    newest = dt.datetime.now(dt.UTC).replace(microsecond=0)
    first = batch_of(monitor_id, 7, newest)
    stored = agent_pb2.ResultBatch(batch_id=uuid.uuid4().hex, results=first.results[2:])
    assert (await agent.send(stored)).stored_count == 5

    # When a batch repeats three of them and adds the two newest
    mixed = agent_pb2.ResultBatch(batch_id=uuid.uuid4().hex, results=first.results[:5])
    ack = await agent.send(mixed)

    # Then only the two new results count, in the table and in the region state
    assert ack.outcome == STORED
    assert ack.stored_count == 2
    assert ack.rejected_count == 0
    assert await stored_count(pool, monitor_id) == 7
    state = await region_state(pool, monitor_id, "eu-west")
    assert state["consecutive_successes"] == 7
    assert state["last_scheduled_at"] == newest


async def test_result_twice_in_batch_stored_once(
    pool: asyncpg.Pool, gateways: Gateways, raw_agents: list[RawAgent], database_url: str
) -> None:
    (monitor_id,) = await monitors(pool, 1, ["eu-west"])
    server = await gateways.start()
    agent_id, token = await register_agent(database_url, "eu-west")
    agent = await open_raw(raw_agents, server.port, agent_id, token, "eu-west")
    single = batch_of(monitor_id, 1)
    twice = agent_pb2.ResultBatch(
        batch_id=uuid.uuid4().hex, results=[single.results[0], single.results[0]]
    )

    ack = await agent.send(twice)

    assert ack.outcome == STORED
    assert ack.stored_count == 1
    assert await stored_count(pool, monitor_id) == 1
    state = await region_state(pool, monitor_id, "eu-west")
    assert state["consecutive_successes"] == 1


async def test_error_text_cleaned_before_storing(
    pool: asyncpg.Pool, gateways: Gateways, raw_agents: list[RawAgent], database_url: str
) -> None:
    # Given a failure whose message contains NUL characters and exceeds the limit
    (monitor_id,) = await monitors(pool, 1, ["eu-west"])
    server = await gateways.start()
    agent_id, token = await register_agent(database_url, "eu-west")
    agent = await open_raw(raw_agents, server.port, agent_id, token, "eu-west")
    failure = result(uuid.UUID(monitor_id), dt.datetime.now(dt.UTC), False, 7.0)
    failure.error_class = "conn\x00ect"
    failure.error_message = "refused\x00" + "x" * 1500
    failure.cert_expires_at_us = 1_900_000_000_000_000

    # When it is sent
    ack = await agent.send(agent_pb2.ResultBatch(batch_id="nul", results=[failure]))

    # Then it is stored without the NULs, cut to 1000 characters
    assert ack.stored_count == 1
    async with pool.acquire() as connection:
        row = await connection.fetchrow(
            "SELECT error_class, error_message, status_code FROM check_results "
            "WHERE monitor_id = $1",
            uuid.UUID(monitor_id),
        )
    assert row["error_class"] == "connect"
    assert row["error_message"] == ("refused" + "x" * 1500)[:1000]
    assert row["status_code"] is None
    # and the region state keeps the same message and the certificate expiry
    state = await region_state(pool, monitor_id, "eu-west")
    assert state["last_error"] == row["error_message"]
    assert state["cert_expires_at"] == dt.datetime.fromtimestamp(1_900_000_000, dt.UTC)


def _nan_phase(bad: agent_pb2.CheckResult) -> None:
    bad.phases.dns_ms = float("nan")


def _huge_phase(bad: agent_pb2.CheckResult) -> None:
    bad.phases.transfer_ms = 1e300


def _infinite_loop_lag(bad: agent_pb2.CheckResult) -> None:
    bad.loop_lag_ms = float("inf")


def _started_before_1970(bad: agent_pb2.CheckResult) -> None:
    bad.started_at_us = -5


def _cert_before_1970(bad: agent_pb2.CheckResult) -> None:
    bad.cert_expires_at_us = -1


@pytest.mark.parametrize(
    ("spoil", "field"),
    [
        (_nan_phase, "dns_ms nan"),
        (_huge_phase, "transfer_ms 1e+300"),
        (_infinite_loop_lag, "loop_lag_ms inf"),
        (_started_before_1970, "started_at_us -5"),
        (_cert_before_1970, "cert_expires_at_us -1"),
    ],
    ids=["nan-phase", "huge-phase", "infinite-loop-lag", "started-1969", "cert-1969"],
)
async def test_value_database_refuses_rejected(
    pool: asyncpg.Pool,
    gateways: Gateways,
    raw_agents: list[RawAgent],
    database_url: str,
    spoil: object,
    field: str,
) -> None:
    # Given a batch with one good result and one whose value PostgreSQL refuses
    (monitor_id,) = await monitors(pool, 1, ["eu-west"])
    server = await gateways.start()
    agent_id, token = await register_agent(database_url, "eu-west")
    agent = await open_raw(raw_agents, server.port, agent_id, token, "eu-west")
    batch = batch_of(monitor_id, 2)
    spoil(batch.results[1])  # type: ignore[operator]

    # When it is sent
    ack = await agent.send(batch)

    # Then the good one is stored and the other rejected, naming the field
    assert ack.outcome == STORED
    assert ack.stored_count == 1
    assert ack.rejected_count == 1
    assert ack.reasons[0].endswith(f"has {field}")
    assert await stored_count(pool, monitor_id) == 1


async def test_alert_rule_change_reaches_ingest(
    pool: asyncpg.Pool,
    gateways: Gateways,
    raw_agents: list[RawAgent],
    database_url: str,
    redis: Redis,
) -> None:
    # Given a monitor that turns down after five failures, and one failure in
    (monitor_id,) = await monitors(pool, 1, ["eu-west"])
    async with pool.acquire() as connection:
        await connection.execute(
            "UPDATE monitors SET alert_settings = '{\"down_after\": 5}' WHERE id = $1",
            uuid.UUID(monitor_id),
        )
    server = await gateways.start()
    agent_id, token = await register_agent(database_url, "eu-west")
    agent = await open_raw(raw_agents, server.port, agent_id, token, "eu-west")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    failure = result(uuid.UUID(monitor_id), now - dt.timedelta(minutes=1), False, 7.0)
    await agent.send(agent_pb2.ResultBatch(batch_id="one", results=[failure]))
    assert (await region_state(pool, monitor_id, "eu-west"))["status"] == "no_data"

    # When the rule changes to two failures, as the API publishes it
    async with pool.acquire() as connection:
        await connection.execute(
            "UPDATE monitors SET alert_settings = '{\"down_after\": 2}', version = 2 WHERE id = $1",
            uuid.UUID(monitor_id),
        )
    await publish_change(redis, monitor_id)
    await eventually(
        lambda: server.gateway.monitors[monitor_id].version == 2, 5, "the monitor change"
    )
    second = result(uuid.UUID(monitor_id), now, False, 7.0)
    await agent.send(agent_pb2.ResultBatch(batch_id="two", results=[second]))

    # Then the second failure turns the region down under the new rule
    assert (await region_state(pool, monitor_id, "eu-west"))["status"] == "down"
