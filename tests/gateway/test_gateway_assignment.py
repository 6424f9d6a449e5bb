"""Assignments: rendezvous moves on join and leave, replicas, replaced sessions."""

from __future__ import annotations

import time
import uuid

import asyncpg
import pytest
from redis.asyncio import Redis

from mometrics_control.agents import registry
from mometrics_control.gateway.assignment import MonitorDef, RegionPlan, responsible_agent
from mometrics_control.gateway.session import MAX_ASSIGNMENTS_PER_MESSAGE, AgentSession
from tests.gateway.conftest import (
    Gateways,
    RawAgent,
    eventually,
    monitors,
    open_raw,
    publish_change,
    register_agent,
)

REGION = "eu-west"


def _plan(agents: dict[str, str | None], monitor_orgs: dict[str, str]) -> RegionPlan:
    plan = RegionPlan(REGION)
    for monitor_id, organization_id in monitor_orgs.items():
        plan.upsert(monitor_id, organization_id)
    plan.set_agents(agents)
    return plan


def _owners(plan: RegionPlan, monitor_ids: list[str]) -> dict[str, str | None]:
    return {monitor_id: plan.owner(monitor_id) for monitor_id in monitor_ids}


def test_plan_join_moves_one_in_n() -> None:
    # Given 10 shared agents and 20,000 monitors
    agents: dict[str, str | None] = {str(uuid.uuid4()): None for _ in range(10)}
    monitor_ids = [str(uuid.uuid4()) for _ in range(20_000)]
    plan = _plan(agents, dict.fromkeys(monitor_ids, "org"))
    before = _owners(plan, monitor_ids)

    # When an 11th agent joins
    newcomer = str(uuid.uuid4())
    moved = plan.set_agents({**agents, newcomer: None})

    # Then about 1/11 of the monitors move, all of them to the newcomer
    after = _owners(plan, monitor_ids)
    changed = {m for m in monitor_ids if before[m] != after[m]}
    assert changed == moved
    assert all(after[m] == newcomer for m in changed)
    assert 0.7 / 11 < len(changed) / len(monitor_ids) < 1.3 / 11
    # and every owner is the one a full recomputation picks
    for monitor_id in monitor_ids[:2000]:
        assert after[monitor_id] == responsible_agent(monitor_id, [*agents, newcomer])

    # When it leaves again, exactly those monitors go back
    moved_back = plan.set_agents(agents)
    assert moved_back == changed
    assert _owners(plan, monitor_ids) == before


def test_plan_organisation_agent_checks_only_its_monitors() -> None:
    shared = str(uuid.uuid4())
    private = str(uuid.uuid4())
    own = [str(uuid.uuid4()) for _ in range(200)]
    foreign = [str(uuid.uuid4()) for _ in range(200)]
    monitor_orgs = {**dict.fromkeys(own, "org-a"), **dict.fromkeys(foreign, "org-b")}
    plan = _plan({shared: None, private: "org-a"}, monitor_orgs)

    assert plan.owned_by(private)
    assert plan.owned_by(private) <= set(own)
    assert all(plan.owner(m) == shared for m in foreign)
    # Without the shared agent, other organisations' monitors have no owner
    plan.set_agents({private: "org-a"})
    assert all(plan.owner(m) is None for m in foreign)
    assert all(plan.owner(m) == private for m in own)


def test_plans_built_in_any_order_agree() -> None:
    agents: dict[str, str | None] = {str(uuid.uuid4()): None for _ in range(5)}
    monitor_ids = [str(uuid.uuid4()) for _ in range(3000)]
    built_at_once = _plan(agents, dict.fromkeys(monitor_ids, "org"))
    grown = RegionPlan(REGION)
    for index, _agent_id in enumerate(agents):
        grown.set_agents(dict(list(agents.items())[: index + 1]))
        if index == 2:
            for monitor_id in monitor_ids:
                grown.upsert(monitor_id, "org")
    assert _owners(grown, monitor_ids) == _owners(built_at_once, monitor_ids)


def test_large_snapshot_split_into_deltas() -> None:
    session = AgentSession(agent_id="agent", region=REGION)
    count = 2 * MAX_ASSIGNMENTS_PER_MESSAGE + 10
    defs = [
        MonitorDef(str(i), "org", "tcp", f"h{i}:1", 60, 5.0, frozenset([REGION]), "{}", 1)
        for i in range(count)
    ]
    messages = session.snapshot(defs)
    assert [m.WhichOneof("body") for m in messages] == ["snapshot", "delta", "delta"]
    version = messages[0].snapshot.assignment_version
    total = len(messages[0].snapshot.assignments)
    for message in messages[1:]:
        assert message.delta.base_version == version
        version = message.delta.assignment_version
        total += len(message.delta.upserts)
    assert total == count
    assert session.version == version


async def test_rebalance_on_join_and_leave(
    pool: asyncpg.Pool, gateways: Gateways, raw_agents: list[RawAgent], database_url: str
) -> None:
    # Given 90 monitors and two agents of the region on one gateway
    monitor_ids = set(await monitors(pool, 90, [REGION]))
    server = await gateways.start()
    first = await open_raw(
        raw_agents, server.port, *await register_agent(database_url, REGION), REGION
    )
    second = await open_raw(
        raw_agents, server.port, *await register_agent(database_url, REGION), REGION
    )
    await eventually(
        lambda: set(first.assigned) | set(second.assigned) == monitor_ids, 5, "full coverage"
    )
    assert not set(first.assigned) & set(second.assigned)
    before = {first.agent_id: set(first.assigned), second.agent_id: set(second.assigned)}

    # When a third agent joins
    third = await open_raw(
        raw_agents, server.port, *await register_agent(database_url, REGION), REGION
    )
    await eventually(
        lambda: len(first.assigned) + len(second.assigned) + len(third.assigned) == 90,
        5,
        "monitors handed over",
    )

    # Then only the monitors the newcomer took moved, about a third
    taken = set(third.assigned)
    assert set(first.assigned) == before[first.agent_id] - taken
    assert set(second.assigned) == before[second.agent_id] - taken
    assert 10 <= len(taken) <= 50

    # When it leaves, its monitors return to their earlier owners
    await third.close()
    await eventually(
        lambda: set(first.assigned) | set(second.assigned) == monitor_ids, 5, "coverage after leave"
    )
    assert set(first.assigned) == before[first.agent_id]
    assert set(second.assigned) == before[second.agent_id]


async def test_second_connection_replaces_first(
    pool: asyncpg.Pool,
    gateways: Gateways,
    raw_agents: list[RawAgent],
    database_url: str,
    redis: Redis,
) -> None:
    # Given an agent streaming to a gateway
    monitor_ids = set(await monitors(pool, 5, [REGION]))
    server = await gateways.start()
    agent_id, token = await register_agent(database_url, REGION)
    old = await open_raw(raw_agents, server.port, agent_id, token, REGION)

    # When the same agent connects again
    new = await open_raw(raw_agents, server.port, agent_id, token, REGION)

    # Then the old stream is drained and ends, the new one owns everything
    await eventually(old.ended.is_set, 5, "old stream to end")
    assert old.drained is not None
    assert "replaced" in old.drained.reason
    assert set(new.assigned) == monitor_ids
    assert not new.ended.is_set()
    # and the agent stays live: closing the old stream did not mark it gone
    assert agent_id in await registry.live_agents(redis, REGION, 3.0)
    await eventually(lambda: len(new.messages) > 4, 5, "server time replies on the new stream")


async def test_replicas_agree_and_forward_changes(
    pool: asyncpg.Pool,
    gateways: Gateways,
    raw_agents: list[RawAgent],
    database_url: str,
    redis: Redis,
) -> None:
    # Given two gateway replicas on one database and Redis, one agent on each
    monitor_ids = set(await monitors(pool, 40, [REGION]))
    one = await gateways.start()
    two = await gateways.start()
    first = await open_raw(
        raw_agents, one.port, *await register_agent(database_url, REGION), REGION
    )
    second = await open_raw(
        raw_agents, two.port, *await register_agent(database_url, REGION), REGION
    )

    # Then the replicas split the monitors without overlap or gap, once each
    # has heard of the other's agent (a moment's overlap is harmless, since a
    # result of the same run is stored once)
    await eventually(
        lambda: (
            set(first.assigned) | set(second.assigned) == monitor_ids
            and not set(first.assigned) & set(second.assigned)
        ),
        2,
        "split",
    )

    # When a monitor that the second replica's agent checks changes
    monitor_id = next(iter(second.assigned))
    async with pool.acquire() as connection:
        await connection.execute(
            "UPDATE monitors SET target = 'http://127.0.0.1:9/changed', version = version + 1 "
            "WHERE id = $1",
            uuid.UUID(monitor_id),
        )
    started = time.monotonic()
    await publish_change(redis, monitor_id)

    # Then that agent has the new definition within a second
    await eventually(
        lambda: second.assigned[monitor_id].target == "http://127.0.0.1:9/changed", 1.0, "change"
    )
    assert time.monotonic() - started < 1.0

    # When a monitor is added, exactly one of the agents gets it within a second
    (added,) = await monitors(pool, 1, [REGION])
    await publish_change(redis, added)
    await eventually(
        lambda: (added in first.assigned) != (added in second.assigned), 1.0, "new monitor"
    )

    # When a monitor is deleted, its agent drops it
    async with pool.acquire() as connection:
        await connection.execute("DELETE FROM monitors WHERE id = $1", uuid.UUID(monitor_id))
    await publish_change(redis, monitor_id)
    await eventually(lambda: monitor_id not in second.assigned, 1.0, "removal")


@pytest.mark.parametrize("owner", ["own", "shared"])
async def test_organisation_agent_gets_only_its_monitors(
    pool: asyncpg.Pool,
    gateways: Gateways,
    raw_agents: list[RawAgent],
    database_url: str,
    owner: str,
) -> None:
    # Given monitors of two organisations and an agent registered by one of them
    own = await monitors(pool, 10, [REGION])
    foreign = set(await monitors(pool, 10, [REGION]))
    async with pool.acquire() as connection:
        organization_id = await connection.fetchval(
            "SELECT organization_id FROM monitors WHERE id = $1", uuid.UUID(own[0])
        )
        await connection.execute(
            "UPDATE monitors SET organization_id = $1 WHERE id = ANY($2::uuid[])",
            organization_id,
            [uuid.UUID(m) for m in own],
        )
    server = await gateways.start()
    agent_org = organization_id if owner == "own" else None
    agent = await open_raw(
        raw_agents,
        server.port,
        *await register_agent(database_url, REGION, agent_org),
        REGION,
    )

    # Then a private agent checks only its organisation's monitors
    if owner == "own":
        assert set(agent.assigned) == set(own)
    else:
        assert set(agent.assigned) == set(own) | foreign


async def test_revoked_agent_stream_closed(
    pool: asyncpg.Pool, gateways: Gateways, raw_agents: list[RawAgent], database_url: str
) -> None:
    server = await gateways.start()
    agent_id, token = await register_agent(database_url, REGION)
    agent = await open_raw(raw_agents, server.port, agent_id, token, REGION)

    async with pool.acquire() as connection:
        await connection.execute(
            "UPDATE agents SET revoked_at = now() WHERE id = $1", uuid.UUID(agent_id)
        )

    await eventually(agent.ended.is_set, 5, "revoked agent's stream to end")
    assert agent.drained is not None
    assert agent.drained.reason == "agent revoked"
