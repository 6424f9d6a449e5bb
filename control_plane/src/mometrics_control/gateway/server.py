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
from collections.abc import AsyncIterator, Iterable

import asyncpg
import grpc
from google.protobuf.message import DecodeError
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics.probe.v1 import agent_pb2, agent_pb2_grpc
from mometrics_control.agents import registry
from mometrics_control.agents.service import InvalidAgentToken, authenticate_agent
from mometrics_control.alerting.state import MonitorRules
from mometrics_control.config import Settings
from mometrics_control.gateway.assignment import (
    MonitorDef,
    RegionPlan,
    load_monitor,
    load_monitors,
    load_versions,
)
from mometrics_control.gateway.batches import BatchHandler, TransitionDispatcher, TransitionSink
from mometrics_control.gateway.ingest import Ingestor
from mometrics_control.gateway.metrics import FleetView, GatewayMetrics
from mometrics_control.gateway.session import AgentSession
from mometrics_control.gateway.testnow import CheckRelay
from mometrics_control.models import Agent
from mometrics_control.monitors.service import MONITOR_CHANGES_CHANNEL
from mometrics_control.monitors.testnow import CHECK_REQUESTS_CHANNEL

log = logging.getLogger("mometrics.gateway")

# Replicas announce new sessions here so that an older session of the same
# agent on another replica is closed.
SESSION_CHANNEL = "mometrics:agent-sessions"
HELLO_TIMEOUT_S = 10.0
# Monitor versions are compared with the database this often, in case a
# change notice on Redis was missed.
FULL_RELOAD_INTERVAL_S = 30.0
TICK_INTERVAL_S = 2.0
PUBSUB_CLOSE_TIMEOUT_S = 1.0
LISTEN_POLL_S = 1.0
# How long drain() waits for the background tasks to end once cancelled.
DRAIN_TASKS_TIMEOUT_S = 5.0

__all__ = ["SESSION_CHANNEL", "Gateway", "TransitionSink"]


async def _close_pubsub(pubsub: PubSub) -> None:
    # PubSub.aclose() (redis-py 8.2) was seen to wait forever after the
    # listening task was cancelled, and that hung shutdown. So this waits a
    # second at most and leaves the rest of the teardown in the background.
    with contextlib.suppress(TimeoutError, RedisError, OSError):
        await asyncio.wait_for(asyncio.shield(pubsub.aclose()), PUBSUB_CLOSE_TIMEOUT_S)


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
        self.rules = MonitorRules()
        self.ingestor = Ingestor(pool, self.rules)
        self.metrics = GatewayMetrics()
        self.metrics.watch_fleet(self._fleet_view)
        self.transitions = TransitionDispatcher(on_transitions) if on_transitions else None
        self.batches = BatchHandler(
            self.ingestor, self.metrics, settings.max_batch_results, self.transitions
        )
        self.gateway_id = settings.gateway_id or default_gateway_id()
        self.sessions: dict[str, AgentSession] = {}
        self.monitors: dict[str, MonitorDef] = {}
        # Owners of monitors, for the regions that have a session here.
        self.plans: dict[str, RegionPlan] = {}
        # Organisation of each agent seen, None for shared agents.
        self.agent_orgs: dict[str, str | None] = {}
        # Live agents of the whole fleet per region, refreshed every tick.
        self.fleet: dict[str, dict[str, str | None]] = {}
        self.check_relay = CheckRelay(redis)
        self.liveness_s = float(settings.heartbeat_interval_s * settings.liveness_heartbeats)
        self._tasks: list[asyncio.Task[None]] = []
        self._is_stopping = False

    # Lifecycle

    async def start(self) -> None:
        self.monitors = await load_monitors(self.sessionmaker)
        self._tasks = [
            asyncio.create_task(self._listen(), name="gateway-listen"),
            asyncio.create_task(self._tick(), name="gateway-tick"),
        ]
        if self.transitions is not None:
            self.transitions.start()
        log.info(
            "gateway started",
            extra={"gateway_id": self.gateway_id, "monitors": len(self.monitors)},
        )

    async def drain(self) -> None:
        """Ask every agent to reconnect elsewhere and close their streams."""
        self._is_stopping = True
        for session in list(self.sessions.values()):
            session.close("gateway shutting down")
            await registry.mark_gone(self.redis, session.region, session.agent_id)
        for task in self._tasks:
            task.cancel()
        pending: set[asyncio.Task[None]] = set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=DRAIN_TASKS_TIMEOUT_S)
        if pending:
            log.warning(
                "background tasks did not stop",
                extra={
                    "gateway_id": self.gateway_id,
                    "tasks": ",".join(sorted(task.get_name() for task in pending)),
                },
            )
        log.info("gateway drained", extra={"gateway_id": self.gateway_id})

    # Background work

    async def _listen(self) -> None:
        """Follow monitor changes and sessions opened on other replicas."""
        # Polling with a timeout, rather than PubSub.listen(), lets the loop
        # check _is_stopping, because redis-py 8.2 was seen to swallow the
        # task's cancellation inside listen() and then retry forever.
        while not self._is_stopping:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(
                    MONITOR_CHANGES_CHANNEL,
                    SESSION_CHANNEL,
                    registry.AGENT_CHANGES_CHANNEL,
                    CHECK_REQUESTS_CHANNEL,
                )
                while not self._is_stopping:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=LISTEN_POLL_S
                    )
                    if message is not None:
                        await self._on_message(
                            message["channel"].decode(), message["data"].decode()
                        )
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - keep listening after Redis errors
                if self._is_stopping:
                    break
                log.warning("redis subscription failed; retrying", extra={"error": repr(err)})
                await asyncio.sleep(1.0)
            finally:
                await _close_pubsub(pubsub)

    async def _on_message(self, channel: str, data: str) -> None:
        if channel == MONITOR_CHANGES_CHANNEL:
            monitor = await load_monitor(self.sessionmaker, data)
            self._update_monitors({data: monitor})
        elif channel == SESSION_CHANNEL:
            agent_id, _, session_id = data.partition(" ")
            local = self.sessions.get(agent_id)
            if local is not None and local.session_id != session_id:
                log.info("session replaced on another replica", extra={"agent_id": agent_id})
                local.is_replaced = True
                local.close("session replaced by a newer connection")
        elif channel == registry.AGENT_CHANGES_CHANNEL:
            await self._refresh_live()
        elif channel == CHECK_REQUESTS_CHANNEL:
            self.check_relay.forward(self.sessions, data)

    async def _tick(self) -> None:
        last_reload = time.monotonic()
        while not self._is_stopping:
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
                    await self._sync_monitors()
                    last_reload = now
                await self._close_revoked()
                await self._refresh_live()
                await self._refresh_fleet()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the loop must survive outages
                log.warning("gateway upkeep failed; retrying", extra={"error": repr(err)})

    async def _close_revoked(self) -> None:
        """End the streams of agents whose registration was revoked."""
        if not self.sessions:
            return
        async with self.sessionmaker() as db:
            revoked = await db.scalars(
                select(Agent.id).where(
                    Agent.id.in_([uuid.UUID(a) for a in self.sessions]),
                    Agent.revoked_at.is_not(None),
                )
            )
            for agent_id in revoked:
                session = self.sessions.get(str(agent_id))
                if session is not None:
                    log.info("agent revoked; closing its stream", extra={"agent_id": str(agent_id)})
                    session.close("agent revoked")

    async def _sync_monitors(self) -> None:
        """Reload the monitors whose version differs from the database's."""
        versions = await load_versions(self.sessionmaker)
        stale = [
            monitor_id
            for monitor_id, version in versions.items()
            if monitor_id not in self.monitors or self.monitors[monitor_id].version != version
        ]
        changes: dict[str, MonitorDef | None] = {
            monitor_id: None for monitor_id in self.monitors if monitor_id not in versions
        }
        if stale:
            loaded = await load_monitors(self.sessionmaker, stale)
            changes.update({monitor_id: loaded.get(monitor_id) for monitor_id in stale})
        if changes:
            log.info("monitors resynchronised", extra={"monitors": len(changes)})
            self._update_monitors(changes)

    def _update_monitors(self, changes: dict[str, MonitorDef | None]) -> None:
        """Apply changed (or, as None, removed) monitors to plans and sessions."""
        self.rules.forget(changes)
        for monitor_id, monitor in changes.items():
            if monitor is None:
                self.monitors.pop(monitor_id, None)
            else:
                self.monitors[monitor_id] = monitor
        for region, plan in self.plans.items():
            for monitor_id, monitor in changes.items():
                if monitor is not None and region in monitor.regions:
                    plan.upsert(monitor_id, monitor.organization_id)
                else:
                    plan.remove(monitor_id)
            self._apply(region, changes.keys())

    def _plan(self, region: str) -> RegionPlan:
        plan = self.plans.get(region)
        if plan is None:
            plan = RegionPlan(region)
            for monitor in self.monitors.values():
                if region in monitor.regions:
                    plan.upsert(monitor.id, monitor.organization_id)
            self.plans[region] = plan
        return plan

    async def _refresh_live(self) -> None:
        regions = {session.region for session in self.sessions.values()}
        for region in regions:
            await registry.prune(self.redis, region, self.liveness_s)
            live = set(await registry.live_agents(self.redis, region, self.liveness_s))
            # Agents streaming here are live even before Redis shows it.
            live |= {s.agent_id for s in self.sessions.values() if s.region == region}
            agents = await self._with_orgs(live)
            plan = self._plan(region)
            if plan.agents != agents:
                self._apply(region, plan.set_agents(agents))
        for region in set(self.plans) - regions:
            del self.plans[region]

    async def _refresh_fleet(self) -> None:
        """Read the live agents of every region, for the coverage gauges."""
        live = await registry.live_by_region(self.redis, self.liveness_s)
        orgs = await self._with_orgs({agent_id for ids in live.values() for agent_id in ids})
        self.fleet = {
            region: {agent_id: orgs[agent_id] for agent_id in ids if agent_id in orgs}
            for region, ids in live.items()
        }

    def _fleet_view(self) -> FleetView:
        connected: dict[str, int] = {}
        for session in self.sessions.values():
            connected[session.region] = connected.get(session.region, 0) + 1
        return FleetView(connected, self.fleet, self.monitors)

    async def _with_orgs(self, agent_ids: set[str]) -> dict[str, str | None]:
        """Map agent ids to their organisation (None for shared agents)."""
        unknown = [uuid.UUID(a) for a in agent_ids if a not in self.agent_orgs]
        if unknown:
            async with self.sessionmaker() as db:
                rows = await db.execute(
                    select(Agent.id, Agent.organization_id).where(Agent.id.in_(unknown))
                )
                for agent_id, organization_id in rows:
                    org = str(organization_id) if organization_id is not None else None
                    self.agent_orgs[str(agent_id)] = org
        # An id the database does not know (a deleted agent) checks nothing.
        return {a: self.agent_orgs[a] for a in agent_ids if a in self.agent_orgs}

    def _apply(self, region: str, monitor_ids: Iterable[str]) -> None:
        """Send each session of `region` the changes among `monitor_ids`."""
        plan = self.plans[region]
        monitor_ids = list(monitor_ids)
        for session in list(self.sessions.values()):
            if session.region != region:
                continue
            upserts = []
            removed = []
            for monitor_id in monitor_ids:
                monitor = self.monitors.get(monitor_id)
                if monitor is not None and plan.owner(monitor_id) == session.agent_id:
                    upserts.append(monitor)
                else:
                    removed.append(monitor_id)
            messages = session.change(upserts, removed)
            for message in messages:
                session.send(message)
            self.metrics.assignment_messages.labels(kind="delta").inc(len(messages))
            if messages:
                log.debug(
                    "assignment delta sent",
                    extra={"agent_id": session.agent_id, "monitors": len(session.assigned)},
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
        organization_id = str(agent.organization_id) if agent.organization_id else None
        session = AgentSession(
            agent_id=str(agent.id), region=agent.region, organization_id=organization_id
        )
        self.agent_orgs[session.agent_id] = organization_id
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
            # grpc.aio cancels this handler when the peer goes away, which can
            # land while _close awaits Redis. The shield lets the cleanup finish,
            # so the agent's monitors move to another agent at once.
            await asyncio.shield(self._close(session))
        if session.violation is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, session.violation)

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
        agent_id = str(agent.id)
        try:
            first = await asyncio.wait_for(anext(request_iterator), HELLO_TIMEOUT_S)
        except (TimeoutError, StopAsyncIteration):
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "expected Hello first")
            raise
        except DecodeError as err:
            reason = f"the first message is not a valid AgentMessage: {err}"
            self._count_violation(agent_id, reason)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, reason)
            raise
        kind = first.WhichOneof("body")
        if kind != "hello":
            reason = f"the first message must be Hello, not {kind or 'an empty message'}"
            self._count_violation(agent_id, reason)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, reason)
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
            previous.is_replaced = True
            previous.close("session replaced by a newer connection")
        await self.redis.publish(SESSION_CHANNEL, f"{session.agent_id} {session.session_id}")
        await registry.mark_live(self.redis, session.region, session.agent_id)
        await self.redis.publish(registry.AGENT_CHANGES_CHANNEL, session.region)
        await self._touch(session.agent_id, hello.version[:64])
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
        plan = self._plan(session.region)
        moved = plan.set_agents({**plan.agents, session.agent_id: session.organization_id})
        owned = [self.monitors[m] for m in plan.owned_by(session.agent_id) if m in self.monitors]
        for message in session.snapshot(owned):
            session.send(message)
            self.metrics.assignment_messages.labels(kind=message.WhichOneof("body")).inc()
        self.sessions[session.agent_id] = session
        self._apply(session.region, moved)
        log.info(
            "agent connected",
            extra={
                "agent_id": session.agent_id,
                "region": session.region,
                "version": hello.version,
                "monitors": len(owned),
            },
        )

    async def _touch(self, agent_id: str, version: str | None = None) -> None:
        """Record that the agent was seen; a database outage only logs."""
        values: dict[str, object] = {"last_seen_at": dt.datetime.now(dt.UTC)}
        if version is not None:
            values["version"] = version
        try:
            async with self.sessionmaker() as db:
                await db.execute(
                    update(Agent).where(Agent.id == uuid.UUID(agent_id)).values(**values)
                )
                await db.commit()
        except (SQLAlchemyError, OSError) as err:
            log.warning(
                "agent last_seen_at not updated", extra={"agent_id": agent_id, "error": repr(err)}
            )

    async def _close(self, session: AgentSession) -> None:
        session.closed.set()
        if self.sessions.get(session.agent_id) is session:
            del self.sessions[session.agent_id]
            if not session.is_replaced:
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
                    await self.batches.handle(session, message.batch, self.monitors)
                elif kind == "heartbeat":
                    await self._heartbeat(session, message.heartbeat)
                elif kind == "check_report":
                    await self.check_relay.publish(session, message.check_report)
                elif kind == "hello":
                    self._end_for_violation(
                        session, "Hello was sent twice, but only the first message may be Hello"
                    )
                    return
                elif kind not in session.ignored_kinds:
                    # An empty body is a message type newer than this
                    # gateway. The protocol only grows, so it is skipped.
                    session.ignored_kinds.add(kind)
                    log.warning(
                        "unexpected message ignored",
                        extra={"agent_id": session.agent_id, "kind": kind},
                    )
        except asyncio.CancelledError:
            raise
        except DecodeError as err:
            reason = f"a message on the stream is not a valid AgentMessage: {err}"
            self._end_for_violation(session, reason)
        except Exception as err:  # noqa: BLE001 - a broken stream ends only its session
            log.info("agent stream ended", extra={"agent_id": session.agent_id, "error": repr(err)})
        finally:
            session.close()

    def _count_violation(self, agent_id: str, reason: str) -> None:
        self.metrics.protocol_violations.inc()
        log.warning("agent broke the protocol", extra={"agent_id": agent_id, "reason": reason})

    def _end_for_violation(self, session: AgentSession, reason: str) -> None:
        """End the stream, which Connect then aborts with INVALID_ARGUMENT and `reason`."""
        self._count_violation(session.agent_id, reason)
        session.violation = reason
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
        await self._touch(session.agent_id)

    async def finish(self) -> None:
        """Hand pending transitions to alerting. Call it once no stream is left."""
        if self.transitions is not None:
            await self.transitions.stop()
