"""A real gateway on an ephemeral loopback port, and agents that talk to it.

`RawAgent` speaks the protocol message by message, so tests can send exact
batches and watch every acknowledgement and assignment change. `run_agent`
runs the real probe agent (scheduler, spool, stream client) in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
from redis.asyncio import Redis

from mometrics.probe.v1 import agent_pb2, agent_pb2_grpc
from mometrics_agent.app import Agent as ProbeAgent
from mometrics_agent.config import AgentSettings
from mometrics_control.agents.service import create_agent
from mometrics_control.config import Settings, to_asyncpg_url
from mometrics_control.db import create_engine, create_sessionmaker
from mometrics_control.gateway.main import MAX_MESSAGE_BYTES, GatewayServer
from mometrics_control.monitors.service import MONITOR_CHANGES_CHANNEL
from tests.rollups.conftest import create_monitor

HEARTBEAT_S = 1
CONNECT = "/mometrics.probe.v1.AgentService/Connect"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def gateway_settings(database_url: str, redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "development",
        "database_url": to_asyncpg_url(database_url),
        "redis_url": redis_url,
        "gateway_listen": "127.0.0.1:0",
        "heartbeat_interval_s": HEARTBEAT_S,
        "liveness_heartbeats": 3,
        "max_batch_results": 100,
        **overrides,
    }
    return Settings(**values)


class Gateways:
    """Starts gateway replicas for one test and stops them all at its end."""

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.running: list[GatewayServer] = []

    async def start(self, port: int = 0, **overrides: Any) -> GatewayServer:
        overrides.setdefault("database_url", self.database_url)
        settings = gateway_settings(
            redis_url=self.redis_url,
            gateway_listen=f"127.0.0.1:{port}",
            gateway_id=f"test-gateway-{len(self.running)}",
            **overrides,
        )
        server = GatewayServer(settings, on_transitions=None)
        await server.start()
        self.running.append(server)
        return server

    async def stop(self, server: GatewayServer) -> None:
        self.running.remove(server)
        await server.stop(grace_s=1.0)

    async def stop_all(self) -> None:
        for server in list(self.running):
            await self.stop(server)


@pytest.fixture
async def gateways(database_url: str, redis_url: str) -> AsyncIterator[Gateways]:
    started = Gateways(database_url, redis_url)
    yield started
    await started.stop_all()


async def register_agent(
    database_url: str, region: str, organization_id: uuid.UUID | None = None
) -> tuple[str, str]:
    """Register an agent; return its id and token."""
    engine = create_engine(to_asyncpg_url(database_url), pool_size=1)
    async with create_sessionmaker(engine)() as session:
        agent, token = await create_agent(session, f"agent-{region}", region)
        if organization_id is not None:
            agent.organization_id = organization_id
            await session.commit()
    await engine.dispose()
    return str(agent.id), token


async def monitors(
    pool: asyncpg.Pool, count: int, regions: list[str], interval_s: int = 60
) -> list[str]:
    async with pool.acquire() as connection:
        return [str(await create_monitor(connection, regions, interval_s)) for _ in range(count)]


async def publish_change(redis: Redis, monitor_id: str) -> None:
    await redis.publish(MONITOR_CHANGES_CHANNEL, monitor_id)


async def eventually(
    condition: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        await asyncio.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


class RawAgent:
    """One protocol-level agent stream, recording what the gateway sends."""

    def __init__(self, port: int, agent_id: str, token: str, region: str) -> None:
        self.port = port
        self.agent_id = agent_id
        self.token = token
        self.region = region
        self.assigned: dict[str, agent_pb2.Assignment] = {}
        self.version = 0
        self.messages: list[agent_pb2.ControlMessage] = []
        self.acks: dict[str, agent_pb2.BatchAck] = {}
        self.drained: agent_pb2.Drain | None = None
        self.ended = asyncio.Event()
        self.changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> RawAgent:
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")
        stub = agent_pb2_grpc.AgentServiceStub(self.channel)
        self.call = stub.Connect(metadata=(("authorization", f"Bearer {self.token}"),))
        await self.call.write(
            agent_pb2.AgentMessage(
                hello=agent_pb2.Hello(
                    agent_id=self.agent_id,
                    region=self.region,
                    version="raw-test",
                    protocol_version=1,
                    sent_at_us=time.time_ns() // 1000,
                )
            )
        )
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._beat())]
        await eventually(lambda: self.version > 0, 10, f"snapshot for {self.agent_id}")
        return self

    async def _read(self) -> None:
        try:
            async for message in self.call:
                self.messages.append(message)
                kind = message.WhichOneof("body")
                if kind == "snapshot":
                    self.assigned = {a.monitor_id: a for a in message.snapshot.assignments}
                    self.version = message.snapshot.assignment_version
                elif kind == "delta":
                    assert message.delta.base_version == self.version, "delta out of order"
                    for assignment in message.delta.upserts:
                        self.assigned[assignment.monitor_id] = assignment
                    for monitor_id in message.delta.removed_monitor_ids:
                        self.assigned.pop(monitor_id, None)
                    self.version = message.delta.assignment_version
                elif kind == "ack":
                    self.acks[message.ack.batch_id] = message.ack
                elif kind == "drain":
                    self.drained = message.drain
                self.changed.set()
        except grpc.aio.AioRpcError:
            pass
        finally:
            self.ended.set()

    async def _beat(self) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            while not self.ended.is_set():
                heartbeat = agent_pb2.Heartbeat(sent_at_us=time.time_ns() // 1000)
                await self.call.write(agent_pb2.AgentMessage(heartbeat=heartbeat))
                await asyncio.sleep(HEARTBEAT_S / 2)

    async def send(self, batch: agent_pb2.ResultBatch, timeout_s: float = 10) -> agent_pb2.BatchAck:
        """Send a batch and return its acknowledgement."""
        self.acks.pop(batch.batch_id, None)
        await self.call.write(agent_pb2.AgentMessage(batch=batch))
        await eventually(lambda: batch.batch_id in self.acks, timeout_s, "batch ack")
        return self.acks[batch.batch_id]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.call.cancel()
        await self.channel.close()


@pytest.fixture
async def raw_agents() -> AsyncIterator[list[RawAgent]]:
    opened: list[RawAgent] = []
    yield opened
    for agent in opened:
        await agent.close()


async def open_raw(
    opened: list[RawAgent], port: int, agent_id: str, token: str, region: str
) -> RawAgent:
    agent = RawAgent(port, agent_id, token, region)
    opened.append(agent)
    return await agent.connect()


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hello_bytes(agent_id: str, region: str) -> bytes:
    message = agent_pb2.AgentMessage(
        hello=agent_pb2.Hello(
            agent_id=agent_id,
            region=region,
            version="raw-test",
            protocol_version=1,
            sent_at_us=time.time_ns() // 1000,
        )
    )
    return message.SerializeToString()


def _identity(payload: bytes) -> bytes:
    return payload


class RawStream:
    """A Connect call whose requests are raw bytes, written as given."""

    def __init__(self, port: int, token: str) -> None:
        self.channel = grpc.aio.insecure_channel(
            f"127.0.0.1:{port}",
            options=[("grpc.max_send_message_length", 2 * MAX_MESSAGE_BYTES)],
        )
        connect = self.channel.stream_stream(
            CONNECT,
            request_serializer=_identity,
            response_deserializer=agent_pb2.ControlMessage.FromString,
        )
        self.call = connect(metadata=(("authorization", f"Bearer {token}"),))
        self.received: list[agent_pb2.ControlMessage] = []

    async def write(self, payload: bytes) -> None:
        await self.call.write(payload)

    async def hello(self, agent_id: str, region: str) -> None:
        """Send Hello and wait for Welcome."""
        await self.write(hello_bytes(agent_id, region))
        first = await asyncio.wait_for(anext(self.call.__aiter__()), 10)
        assert first.WhichOneof("body") == "welcome"

    async def outcome(self, timeout_s: float = 10.0) -> tuple[grpc.StatusCode, str]:
        """Read until the stream ends; return its status code and details."""

        async def drain() -> None:
            async for message in self.call:
                self.received.append(message)

        try:
            await asyncio.wait_for(drain(), timeout_s)
        except grpc.aio.AioRpcError as err:
            return err.code(), err.details() or ""
        code = await self.call.code()
        return code, await self.call.details() or ""

    async def close(self) -> None:
        self.call.cancel()
        await self.channel.close()


class ProbeAgentRun:
    """The real probe agent running in this process until `stop`."""

    def __init__(self, settings: AgentSettings) -> None:
        self.agent = ProbeAgent(settings)
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(self.agent.run(self.stop_event))

    async def stop(self) -> None:
        self.stop_event.set()
        await asyncio.wait_for(self.task, 20)


@pytest.fixture
async def probe_agents(tmp_path: Path) -> AsyncIterator[Callable[..., ProbeAgentRun]]:
    running: list[ProbeAgentRun] = []

    def start(port: int, token: str, region: str) -> ProbeAgentRun:
        settings = AgentSettings(
            gateway_address=f"127.0.0.1:{port}",
            agent_token=token,
            agent_region=region,
            agent_spool_path=tmp_path / f"spool-{len(running)}.sqlite3",
            agent_metrics_port=0,
            allow_private_targets=True,
            agent_shutdown_grace_s=1.0,
        )
        run = ProbeAgentRun(settings)
        running.append(run)
        return run

    yield start
    for run in running:
        if not run.task.done():
            await run.stop()
