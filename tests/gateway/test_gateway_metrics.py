"""The gateway's Prometheus metrics, scraped over HTTP from a real gateway."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from mometrics.probe.v1 import agent_pb2
from mometrics_control.gateway.main import GatewayServer
from tests.gateway.conftest import (
    Gateways,
    RawAgent,
    RawStream,
    eventually,
    free_port,
    monitors,
    open_raw,
    register_agent,
)
from tests.rollups.conftest import result

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(server: GatewayServer) -> Samples:
    """Return every sample of /metrics, keyed by name and sorted labels."""
    port = server.settings.gateway_metrics_port
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200, response.text
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_batches_and_acks(
    gateways: Gateways, pool: asyncpg.Pool, raw_agents: list[RawAgent], database_url: str
) -> None:
    # Given a connected agent and a monitor it checks
    (monitor_id,) = await monitors(pool, 1, ["eu-west"])
    metered = await gateways.start(gateway_metrics_port=free_port())
    agent_id, token = await register_agent(database_url, "eu-west")
    agent = await open_raw(raw_agents, metered.port, agent_id, token, "eu-west")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    batch = agent_pb2.ResultBatch(
        batch_id=uuid.uuid4().hex,
        results=[
            result(uuid.UUID(monitor_id), now, True, 12.0),
            result(uuid.UUID(monitor_id), now - dt.timedelta(minutes=1), False, 30.0),
            result(uuid.uuid4(), now, True, 5.0),
        ],
    )

    # When it sends a batch with one unknown monitor, then the same batch again
    first = await agent.send(batch)
    again = await agent.send(batch)
    samples = await scrape(metered)

    # Then the counters match the acknowledgements
    assert (first.stored_count, again.stored_count) == (2, 0)
    assert value(samples, "mometrics_gateway_results_received_total") == 6
    assert value(samples, "mometrics_gateway_results_stored_total") == 2
    assert value(samples, "mometrics_gateway_results_duplicate_total") == 2
    rejected = "mometrics_gateway_results_rejected_total"
    assert value(samples, rejected, reason="unknown_monitor") == 2
    assert value(samples, rejected, reason="too_old") == 0
    assert value(samples, "mometrics_gateway_acks_total", outcome="stored") == 2
    assert value(samples, "mometrics_gateway_batch_commit_seconds_count") == 2
    assert value(samples, "mometrics_gateway_batches_failed_total") == 0
    snapshots = value(samples, "mometrics_gateway_assignment_messages_total", kind="snapshot")
    assert snapshots == 1
    assert value(samples, "mometrics_gateway_connected_agents", region="eu-west") == 1


async def test_metrics_show_oversize_batch_and_deltas(
    gateways: Gateways, pool: asyncpg.Pool, raw_agents: list[RawAgent], database_url: str
) -> None:
    # Given a gateway that accepts two results per batch, and a connected
    # agent with 20 monitors, of which a second agent takes about half
    monitor_id, *_ = await monitors(pool, 20, ["eu-west"])
    server = await gateways.start(gateway_metrics_port=free_port(), max_batch_results=2)
    agent_id, token = await register_agent(database_url, "eu-west")
    agent = await open_raw(raw_agents, server.port, agent_id, token, "eu-west")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    results = [
        result(uuid.UUID(monitor_id), now - dt.timedelta(minutes=k), True, 9.0) for k in range(3)
    ]

    # When it sends three results at once, and a second agent joins the region
    ack = await agent.send(agent_pb2.ResultBatch(batch_id="big", results=results))
    other_id, other_token = await register_agent(database_url, "eu-west")
    await open_raw(raw_agents, server.port, other_id, other_token, "eu-west")
    samples = await scrape(server)

    # Then the rejection is counted by reason and the join sent deltas
    assert ack.outcome == agent_pb2.BatchAck.OUTCOME_REJECTED
    rejected = "mometrics_gateway_results_rejected_total"
    assert value(samples, rejected, reason="oversize_batch") == 3
    assert value(samples, "mometrics_gateway_acks_total", outcome="rejected") == 1
    assert value(samples, "mometrics_gateway_assignment_messages_total", kind="snapshot") == 2
    assert value(samples, "mometrics_gateway_assignment_messages_total", kind="delta") >= 1
    assert value(samples, "mometrics_gateway_connected_agents", region="eu-west") == 2


async def test_metrics_flag_regions_without_coverage(
    gateways: Gateways, pool: asyncpg.Pool, raw_agents: list[RawAgent], database_url: str
) -> None:
    # Given monitors in eu-west and us-east, and an organisation's own agent
    # in us-east that may not check the other organisation's monitor there
    await monitors(pool, 1, ["eu-west", "us-east"])
    server = await gateways.start(gateway_metrics_port=free_port())
    async with pool.acquire() as connection:
        other_org = await connection.fetchval(
            "INSERT INTO organizations (id, name) VALUES (gen_random_uuid(), 'other') RETURNING id"
        )
    private_id, private_token = await register_agent(database_url, "us-east", other_org)
    shared_id, shared_token = await register_agent(database_url, "eu-west")

    # When the shared agent connects in eu-west and the private one in us-east
    await open_raw(raw_agents, server.port, shared_id, shared_token, "eu-west")
    await open_raw(raw_agents, server.port, private_id, private_token, "us-east")

    # Then us-east counts as uncovered and eu-west as covered
    async def us_east_uncovered() -> bool:
        samples = await scrape(server)
        live = value(samples, "mometrics_gateway_live_agents", region="us-east")
        return live == 1

    await eventually(us_east_uncovered, 10, "the fleet view to see the us-east agent")
    samples = await scrape(server)
    without = "mometrics_gateway_region_without_coverage"
    assert value(samples, without, region="us-east") == 1
    assert value(samples, without, region="eu-west") == 0
    assert value(samples, "mometrics_gateway_uncovered_monitors", region="us-east") == 1
    assert value(samples, "mometrics_gateway_uncovered_monitors", region="eu-west") == 0


async def test_metrics_count_protocol_violations(gateways: Gateways, database_url: str) -> None:
    metered = await gateways.start(gateway_metrics_port=free_port())
    agent_id, token = await register_agent(database_url, "eu-west")
    stream = RawStream(metered.port, token)
    try:
        await stream.hello(agent_id, "eu-west")
        await stream.write(b"\xff\xff not a message")
        await stream.outcome()
    finally:
        await stream.close()

    samples = await scrape(metered)

    assert value(samples, "mometrics_gateway_protocol_violations_total") == 1
