"""The gRPC gateway: agent streams, assignment fan-out and result ingest."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import grpc
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics.probe.v1 import agent_pb2, agent_pb2_grpc
from mometrics_control.agents import registry
from mometrics_control.agents.service import InvalidAgentToken, authenticate_agent
from mometrics_control.alerting.state import Transition
from mometrics_control.config import Settings
from mometrics_control.gateway.assignment import (
    MonitorDef,
    assignments_for,
    load_monitor,
    load_monitors,
)
from mometrics_control.gateway.ingest import Ingestor, validate
from mometrics_control.gateway.session import AgentSession
from mometrics_control.models import Agent
from mometrics_control.monitors.service import MONITOR_CHANGES_CHANNEL

log = logging.getLogger("mometrics.gateway")

# Replicas announce new sessions here so that an older session of the same
# agent on another replica is closed.
SESSION_CHANNEL = "mometrics:agent-sessions"
HELLO_TIMEOUT_S = 10.0
FULL_RELOAD_INTERVAL_S = 30.0
TICK_INTERVAL_S = 2.0

TransitionSink = Callable[[list[Transition]], Awaitable[None]]


def default_gateway_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Gateway(agent_pb2_grpc.AgentServiceServicer):
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        pool: asyncpg.Pool,
        redis: Redis,
        on_transitions: TransitionSink | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.ingestor = Ingestor(pool)
        self.gateway_id = settings.gateway_id or default_gateway_id()
        self.sessions: dict[str, AgentSession] = {}
        self.monitors: dict[str, MonitorDef] = {}
        self.live: dict[str, list[str]] = {}
        self.on_transitions = on_transitions
        self.liveness_s = float(settings.heartbeat_interval_s * settings.liveness_heartbeats)
        self._tasks: list[asyncio.Task[None]] = []

    # Lifecycle

    async def start(self) -> None:
        self.monitors = await load_monitors(self.sessionmaker)
        self._tasks = [
            asyncio.create_task(self._listen(), name="gateway-listen"),
            asyncio.create_task(self._tick(), name="gateway-tick"),
        ]
        log.info(
            "gateway started",
            extra={"gateway_id": self.gateway_id, "monitors": len(self.monitors)},
        )

    async def drain(self) -> None:
        """Ask every agent to reconnect elsewhere and close their streams."""
        for session in list(self.sessions.values()):
            session.close("gateway shutting down")
            await registry.mark_gone(self.redis, session.region, session.agent_id)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        log.info("gateway drained", extra={"gateway_id": self.gateway_id})

    # Background work

    async def _listen(self) -> None:
        """Follow monitor changes and sessions opened on other replicas."""
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(
                    MONITOR_CHANGES_CHANNEL, SESSION_CHANNEL, registry.AGENT_CHANGES_CHANNEL
                )
                async for message in pubsub.listen():
                    if message["type"] != "message":
                        continue
                    await self._on_message(message["channel"].decode(), message["data"].decode())
            except asyncio.CancelledError:
                await pubsub.aclose()
                raise
            except Exception as err:  # noqa: BLE001 - keep listening after Redis errors
                log.warning("redis subscription failed; retrying", extra={"error": repr(err)})
                await pubsub.aclose()
                await asyncio.sleep(1.0)

    async def _on_message(self, channel: str, data: str) -> None:
        if channel == MONITOR_CHANGES_CHANNEL:
            monitor = await load_monitor(self.sessionmaker, data)
            if monitor is None:
                self.monitors.pop(data, None)
            else:
                self.monitors[data] = monitor
            self._rebalance()
        elif channel == SESSION_CHANNEL:
            agent_id, _, session_id = data.partition(" ")
            local = self.sessions.get(agent_id)
            if local is not None and local.session_id != session_id:
                log.info("session replaced on another replica", extra={"agent_id": agent_id})
                local.close("session replaced by a newer connection")
        elif channel == registry.AGENT_CHANGES_CHANNEL:
            await self._refresh_live()

    async def _tick(self) -> None:
        last_reload = time.monotonic()
        while True:
            await asyncio.sleep(TICK_INTERVAL_S)
            try:
                now = time.monotonic()
                for session in list(self.sessions.values()):
                    if now - session.last_message_at > self.liveness_s:
                        log.warning(
                            "agent silent; closing its stream",
                            extra={"agent_id": session.agent_id, "region": session.region},
                        )
                        session.close("no heartbeat received")
                if now - last_reload > FULL_RELOAD_INTERVAL_S:
                    self.monitors = await load_monitors(self.sessionmaker)
                    last_reload = now
                await self._refresh_live()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the loop must survive outages
                log.warning("gateway upkeep failed; retrying", extra={"error": repr(err)})

    async def _refresh_live(self) -> None:
        regions = {session.region for session in self.sessions.values()}
        changed = False
        for region in regions:
            await registry.prune(self.redis, region, self.liveness_s)
            agents = await registry.live_agents(self.redis, region, self.liveness_s)
            if self.live.get(region) != agents:
                self.live[region] = agents
                changed = True
        if changed:
            self._rebalance()

    def _rebalance(self) -> None:
        for session in list(self.sessions.values()):
            wanted = assignments_for(
                session.agent_id,
                session.region,
                self.live.get(session.region, []),
                self.monitors,
            )
            message = session.delta(wanted)
            if message is not None:
                session.send(message)
                log.debug(
                    "assignment delta sent",
                    extra={"agent_id": session.agent_id, "monitors": len(wanted)},
                )

    # The stream

    # The generated base class types Connect as returning an iterator; this
    # handler writes through context.write instead, which grpc.aio allows.
    async def Connect(  # type: ignore[override]  # noqa: N802 - name fixed by the protocol
        self,
        request_iterator: AsyncIterator[agent_pb2.AgentMessage],
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
    ) -> None:
        agent = await self._authenticate(context)
        hello = await self._read_hello(request_iterator, context, agent)
        session = AgentSession(agent_id=str(agent.id), region=agent.region)
        await self._open(session, hello)
        reader = asyncio.create_task(self._read(session, request_iterator))
        try:
            while True:
                message = await session.outbox.get()
                if message is None:
                    break
                await context.write(message)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            await self._close(session)

    async def _authenticate(self, context: grpc.aio.ServicerContext) -> Agent:  # type: ignore[type-arg]
        metadata = dict(context.invocation_metadata() or ())
        header = str(metadata.get("authorization", ""))
        token = header.removeprefix("Bearer ").strip()
        try:
            async with self.sessionmaker() as db:
                return await authenticate_agent(db, token)
        except InvalidAgentToken as err:
            log.warning("agent rejected", extra={"reason": str(err), "peer": context.peer()})
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, f"agent token rejected: {err}")
            raise  # unreachable: abort raises

    async def _read_hello(
        self,
        request_iterator: AsyncIterator[agent_pb2.AgentMessage],
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
        agent: Agent,
    ) -> agent_pb2.Hello:
        try:
            first = await asyncio.wait_for(anext(request_iterator), HELLO_TIMEOUT_S)
        except (TimeoutError, StopAsyncIteration):
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "expected Hello first")
            raise
        if first.WhichOneof("body") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be Hello")
        hello = first.hello
        if hello.agent_id != str(agent.id):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"Hello.agent_id {hello.agent_id!r} does not match the token",
            )
        if hello.region != agent.region:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"agent is registered in region {agent.region!r}, not {hello.region!r}",
            )
        if hello.protocol_version < 1:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, "protocol_version must be at least 1"
            )
        return hello

    async def _open(self, session: AgentSession, hello: agent_pb2.Hello) -> None:
        previous = self.sessions.get(session.agent_id)
        if previous is not None:
            log.info("session replaced", extra={"agent_id": session.agent_id})
            previous.close("session replaced by a newer connection")
        self.sessions[session.agent_id] = session
        await self.redis.publish(SESSION_CHANNEL, f"{session.agent_id} {session.session_id}")
        await registry.mark_live(self.redis, session.region, session.agent_id)
        await self.redis.publish(registry.AGENT_CHANGES_CHANNEL, session.region)
        self.live[session.region] = await registry.live_agents(
            self.redis, session.region, self.liveness_s
        )
        async with self.sessionmaker() as db:
            await db.execute(
                update(Agent)
                .where(Agent.id == uuid.UUID(session.agent_id))
                .values(last_seen_at=dt.datetime.now(dt.UTC), version=hello.version[:64])
            )
            await db.commit()
        session.send(
            agent_pb2.ControlMessage(
                welcome=agent_pb2.Welcome(
                    session_id=session.session_id,
                    gateway_id=self.gateway_id,
                    heartbeat_interval_s=self.settings.heartbeat_interval_s,
                    server_time_us=time.time_ns() // 1000,
                    max_batch_results=self.settings.max_batch_results,
                )
            )
        )
        wanted = assignments_for(
            session.agent_id, session.region, self.live[session.region], self.monitors
        )
        session.send(session.snapshot(wanted))
        self._rebalance()
        log.info(
            "agent connected",
            extra={
                "agent_id": session.agent_id,
                "region": session.region,
                "version": hello.version,
                "monitors": len(wanted),
            },
        )

    async def _close(self, session: AgentSession) -> None:
        session.closed.set()
        if self.sessions.get(session.agent_id) is session:
            del self.sessions[session.agent_id]
            with contextlib.suppress(Exception):
                await registry.mark_gone(self.redis, session.region, session.agent_id)
                await self.redis.publish(registry.AGENT_CHANGES_CHANNEL, session.region)
            await self._refresh_live_safely()
        log.info(
            "agent disconnected", extra={"agent_id": session.agent_id, "region": session.region}
        )

    async def _refresh_live_safely(self) -> None:
        try:
            await self._refresh_live()
        except Exception as err:  # noqa: BLE001 - upkeep retries on the next tick
            log.warning("live agent refresh failed", extra={"error": repr(err)})

    async def _read(
        self, session: AgentSession, request_iterator: AsyncIterator[agent_pb2.AgentMessage]
    ) -> None:
        try:
            async for message in request_iterator:
                session.last_message_at = time.monotonic()
                kind = message.WhichOneof("body")
                if kind == "batch":
                    await self._ingest(session, message.batch)
                elif kind == "heartbeat":
                    await self._heartbeat(session, message.heartbeat)
                else:
                    log.warning(
                        "unexpected message ignored",
                        extra={"agent_id": session.agent_id, "kind": kind},
                    )
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - a broken stream ends only its session
            log.info("agent stream ended", extra={"agent_id": session.agent_id, "error": repr(err)})
        finally:
            session.close()

    async def _heartbeat(self, session: AgentSession, heartbeat: agent_pb2.Heartbeat) -> None:
        await registry.mark_live(self.redis, session.region, session.agent_id)
        session.send(
            agent_pb2.ControlMessage(
                server_time=agent_pb2.ServerTime(
                    agent_sent_at_us=heartbeat.sent_at_us,
                    server_time_us=time.time_ns() // 1000,
                )
            )
        )
        async with self.sessionmaker() as db:
            await db.execute(
                update(Agent)
                .where(Agent.id == uuid.UUID(session.agent_id))
                .values(last_seen_at=dt.datetime.now(dt.UTC))
            )
            await db.commit()

    async def _ingest(self, session: AgentSession, batch: agent_pb2.ResultBatch) -> None:
        ack = agent_pb2.BatchAck(batch_id=batch.batch_id)
        if len(batch.results) > self.settings.max_batch_results:
            ack.outcome = agent_pb2.BatchAck.OUTCOME_REJECTED
            ack.reasons.append(
                f"batch of {len(batch.results)} results exceeds the limit of "
                f"{self.settings.max_batch_results}"
            )
            ack.rejected_count = len(batch.results)
            session.send(agent_pb2.ControlMessage(ack=ack))
            log.warning("oversize batch rejected", extra={"agent_id": session.agent_id})
            return
        accepted, reasons = validate(batch, session.region, self.monitors, dt.datetime.now(dt.UTC))
        try:
            stored, transitions = await self.ingestor.store(
                uuid.UUID(session.agent_id), session.region, accepted
            )
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as err:
            # No acknowledgement: the agent keeps the batch and sends it again.
            log.warning(
                "batch not stored; agent will resend",
                extra={
                    "agent_id": session.agent_id,
                    "batch_id": batch.batch_id,
                    "error": repr(err),
                },
            )
            return
        ack.outcome = agent_pb2.BatchAck.OUTCOME_STORED
        ack.stored_count = stored
        ack.rejected_count = len(batch.results) - len(accepted)
        ack.reasons.extend(reasons)
        session.send(agent_pb2.ControlMessage(ack=ack))
        if reasons:
            log.warning(
                "results rejected",
                extra={
                    "agent_id": session.agent_id,
                    "batch_id": batch.batch_id,
                    "rejected": ack.rejected_count,
                    "reason": reasons[0],
                },
            )
        if transitions and self.on_transitions is not None:
            await self.on_transitions(transitions)
