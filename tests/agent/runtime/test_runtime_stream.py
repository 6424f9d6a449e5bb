"""The agent's stream against a real gateway: restarts, drains, batches, TLS.

Each test seeds monitors in its own database, starts the real gateway on a
loopback port and runs an in-process agent against local HTTP targets.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

import trustme
from redis.asyncio import Redis

from mometrics.probe.v1 import agent_pb2
from mometrics_agent import metrics
from mometrics_agent.scheduler import phase_us
from mometrics_control.gateway.server import SESSION_CHANNEL
from tests.agent.runtime.harness import (
    InProcessAgent,
    InProcessGateway,
    Target,
    agent_settings,
    seed,
    spooled_slots,
    stored_results,
    stored_slots,
    wait_until,
)

INTERVAL_US = 1_000_000


def assert_contiguous(slots: list[tuple[str, int]], monitor_ids: list[str]) -> None:
    """Assert each monitor has one result per grid slot from its first to its last."""
    per_monitor: dict[str, list[int]] = defaultdict(list)
    for monitor_id, slot in slots:
        per_monitor[monitor_id].append(slot)
    assert sorted(per_monitor) == sorted(monitor_ids)
    for monitor_id, values in per_monitor.items():
        values.sort()
        assert (values[0] - phase_us(monitor_id, 1)) % INTERVAL_US == 0
        gaps = [later - earlier for earlier, later in itertools.pairwise(values)]
        assert gaps == [INTERVAL_US] * (len(values) - 1), f"monitor {monitor_id}: {values}"


async def test_gateway_restart_replays_spool(
    gateway: InProcessGateway, target: Target, database_url: str, tmp_path: Path
) -> None:
    token, monitor_ids = await seed([(target.url(), 1, 2.0), (target.url(), 1, 2.0)])
    await gateway.start()
    spool_path = tmp_path / "spool.sqlite3"
    agent = InProcessAgent(agent_settings(gateway, token, spool_path))
    client = agent.agent.client
    agent.start()

    async def both_monitors_stored() -> bool:
        return {row["monitor_id"] for row in await stored_results(database_url)} == set(monitor_ids)

    await wait_until(both_monitors_stored, 15, "results of both monitors")
    version_before = client.assignment_version
    assert version_before > 0
    assert client.sessions_opened == 1

    # Given the gateway goes away while the agent keeps checking
    await gateway.stop()

    async def spool_has_backlog() -> bool:
        return len(spooled_slots(spool_path)) >= 6

    await wait_until(spool_has_backlog, 15, "results to pile up in the spool")
    backlog = spooled_slots(spool_path)

    # When it comes back on the same port
    await gateway.start()

    async def backlog_stored() -> bool:
        stored = set(stored_slots(await stored_results(database_url)))
        return backlog <= stored and agent.agent.spool.size == 0

    await wait_until(backlog_stored, 20, "the spooled results to reach check_results")

    # Then the agent announced the version it held and got a new snapshot
    assert client.sessions_opened >= 2
    assert client.hello_assignment_version == version_before
    assert client.assignment_version > version_before
    assert sorted(agent.agent.scheduler.monitor_ids) == sorted(monitor_ids)
    assert await agent.stop() == 0

    # And nothing was lost or stored twice
    slots = stored_slots(await stored_results(database_url))
    assert len(slots) == len(set(slots))
    assert_contiguous(slots, monitor_ids)


async def test_drain_makes_agent_reconnect(
    gateway: InProcessGateway, target: Target, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    token, monitor_ids = await seed([(target.url(), 1, 2.0)])
    await gateway.start()
    agent = InProcessAgent(agent_settings(gateway, token, tmp_path / "spool.sqlite3"))
    client = agent.agent.client
    agent.start()

    async def connected() -> bool:
        return client.connected and client.assignment_version > 0

    await wait_until(connected, 15, "the agent to connect")
    first_version = client.assignment_version

    # When another replica announces a newer session of this agent, the
    # gateway sends Drain on the old stream.
    redis = Redis.from_url(redis_url)
    await redis.publish(SESSION_CHANNEL, f"{client.agent_id} {uuid.uuid4().hex}")
    await redis.aclose()

    async def reconnected() -> bool:
        return client.sessions_opened >= 2 and client.connected

    await wait_until(reconnected, 15, "the agent to reconnect after Drain")
    assert client.hello_assignment_version == first_version
    assert sorted(agent.agent.scheduler.monitor_ids) == monitor_ids

    async def results_after_reconnect() -> bool:
        rows = await stored_results(database_url)
        return len(rows) >= 3

    await wait_until(results_after_reconnect, 15, "results after the reconnect")
    assert await agent.stop() == 0
    slots = stored_slots(await stored_results(database_url))
    assert_contiguous(slots, monitor_ids)


async def test_batches_split_at_gateway_limit(
    control_env: dict[str, str], target: Target, database_url: str, tmp_path: Path
) -> None:
    # An hourly monitor, so the scheduler itself adds at most one result.
    token, [monitor_id] = await seed([(target.url(), 3600, 2.0)])
    gateway = InProcessGateway(max_batch_results=5)
    await gateway.start()
    agent = InProcessAgent(agent_settings(gateway, token, tmp_path / "spool.sqlite3"))
    agent.start()
    try:
        await wait_until(_connected(agent), 15, "the agent to connect")
        batches_before = metrics.BATCHES_SENT._value.get()
        now_us = time.time_ns() // 1000

        # When 23 results arrive at once
        for index in range(23):
            agent.agent.spool.add(made_up_result(monitor_id, now_us - (index + 1) * 1_000_000))

        async def all_stored() -> bool:
            return len(await stored_results(database_url)) >= 23

        await wait_until(all_stored, 15, "23 results stored")
        # Then they go out in batches of at most 5 results
        assert metrics.BATCHES_SENT._value.get() - batches_before >= 5

        # And a single result goes out on the periodic flush, without
        # waiting for a full batch.
        agent.agent.spool.add(made_up_result(monitor_id, now_us - 60_000_000))

        async def single_stored() -> bool:
            return len(await stored_results(database_url)) >= 24

        await wait_until(single_stored, 10, "the single result stored")
    finally:
        assert await agent.stop() == 0
        await gateway.stop()


async def test_tls_with_custom_ca_and_client_cert(
    control_env: dict[str, str], target: Target, database_url: str, tmp_path: Path
) -> None:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("agent.test")
    server_cert.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    server_cert.cert_chain_pems[0].write_to_path(str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    client_cert.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    client_cert.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    other_ca = trustme.CA()
    other_ca.cert_pem.write_to_path(str(tmp_path / "other-ca.pem"))

    token, monitor_ids = await seed([(target.url(), 1, 2.0)])
    gateway = InProcessGateway(
        gateway_tls_cert=str(tmp_path / "server.pem"),
        gateway_tls_key=str(tmp_path / "server.key"),
    )
    await gateway.start()
    # An agent that trusts another CA never gets a session.
    untrusting = InProcessAgent(
        agent_settings(
            gateway,
            token,
            tmp_path / "untrusting.sqlite3",
            agent_tls=True,
            agent_tls_ca=str(tmp_path / "other-ca.pem"),
        )
    )
    agent = InProcessAgent(
        agent_settings(
            gateway,
            token,
            tmp_path / "spool.sqlite3",
            agent_tls=True,
            agent_tls_ca=str(tmp_path / "ca.pem"),
            agent_tls_cert=str(tmp_path / "client.pem"),
            agent_tls_key=str(tmp_path / "client.key"),
        )
    )
    try:
        untrusting.start()
        agent.start()

        async def stored() -> bool:
            return len(await stored_results(database_url)) >= 2

        await wait_until(stored, 15, "results over TLS")
        assert agent.agent.client.connected
        assert untrusting.agent.client.sessions_opened == 0
        assert not untrusting.agent.client.connected
    finally:
        assert await untrusting.stop() == 0
        assert await agent.stop() == 0
        await gateway.stop()
    assert {row["monitor_id"] for row in await stored_results(database_url)} == set(monitor_ids)


def _connected(agent: InProcessAgent) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return agent.agent.client.connected

    return check


def made_up_result(monitor_id: str, scheduled_at_us: int) -> agent_pb2.CheckResult:
    """Return an up result for a past slot, as the scheduler would produce it."""
    return agent_pb2.CheckResult(
        monitor_id=monitor_id,
        scheduled_at_us=scheduled_at_us,
        started_at_us=scheduled_at_us + 1000,
        status=agent_pb2.CHECK_STATUS_UP,
        latency_ms=1.5,
        monitor_version=1,
    )
