"""The agent's stream to the gateway: hello, assignments, batches, heartbeats.

Transient failures (the gateway restarting, a dropped connection, a server
error) reconnect with jittered exponential backoff capped at 30 s, reset
after a session that stayed up. A rejected token or an incompatible
protocol stops the agent with one clear line: retrying cannot fix them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
import uuid

import grpc

from mometrics.probe.v1 import agent_pb2, agent_pb2_grpc
from mometrics_agent import PROTOCOL_VERSION, __version__, metrics
from mometrics_agent.config import AgentSettings
from mometrics_agent.scheduler import CheckScheduler
from mometrics_agent.spool import AsyncSpool

log = logging.getLogger("mometrics.agent.client")

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
# A session that lasted this long resets the backoff.
STABLE_SESSION_S = 30.0
BATCH_INTERVAL_S = 1.0
BATCH_MAX_RESULTS = 500
# A batch unacknowledged for this long is sent again.
ACK_TIMEOUT_S = 15.0
CAPABILITIES = ["http", "tcp", "dns", "tls", "grpc"]
# Maximum one-off checks (RunCheck) running at once. Further requests are
# dropped, and the control plane reports their regions as timed out.
MAX_CHECK_RUNS = 16

_FATAL_CODES = {
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.FAILED_PRECONDITION,
}

CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    # Keep pinging while the stream is idle; the gateway accepts a ping every
    # 5 s without data, so 20 s stays well inside its limit.
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
]


class FatalStreamError(Exception):
    """The gateway rejected the agent in a way that retrying cannot fix."""


def agent_id_from_token(token: str) -> str:
    """Return the agent id carried in a token `mma_<32 hex>_<secret>`."""
    body = token.removeprefix("mma_")
    try:
        return str(uuid.UUID(hex=body.split("_", 1)[0]))
    except ValueError:
        raise FatalStreamError(
            "MOMETRICS_AGENT_TOKEN is malformed: expected the mma_... token printed at registration"
        ) from None


class StreamClient:
    def __init__(
        self, settings: AgentSettings, scheduler: CheckScheduler, spool: AsyncSpool
    ) -> None:
        self.settings = settings
        self.scheduler = scheduler
        self.spool = spool
        self.token = settings.agent_token.get_secret_value()
        self.agent_id = agent_id_from_token(self.token)
        self.assignment_version = 0
        self.clock_offset_ms = 0.0
        self.connected = False
        self._wake = asyncio.Event()
        self._in_flight: dict[str, float] = {}
        self._max_batch = BATCH_MAX_RESULTS
        self._heartbeat_s = 10.0
        # Assignment version announced in the most recent Hello.
        self.hello_assignment_version = 0
        self.sessions_opened = 0
        # Set when the gateway sent Drain: how long to wait before reconnecting.
        self._drain_delay_s: float | None = None
        # One-off checks of this stream, and their reports waiting to be sent.
        self._check_runs: set[asyncio.Task[None]] = set()
        self._reports: list[agent_pb2.CheckReport] = []

    def notify(self) -> None:
        """Tell the sender that new results are in the spool."""
        if self.spool.unbatched_count() >= self._max_batch:
            self._wake.set()

    def _channel(self) -> grpc.aio.Channel:
        address = self.settings.gateway_address
        if not self.settings.agent_tls:
            return grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
        ca = _read(self.settings.agent_tls_ca)
        cert = _read(self.settings.agent_tls_cert)
        key = _read(self.settings.agent_tls_key)
        credentials = grpc.ssl_channel_credentials(ca, key, cert)
        return grpc.aio.secure_channel(address, credentials, options=CHANNEL_OPTIONS)

    async def run(self, stop: asyncio.Event) -> None:
        """Keep a stream open until `stop` is set; raise FatalStreamError."""
        attempt = 0
        while not stop.is_set():
            started = time.monotonic()
            self._drain_delay_s = None
            try:
                await self._session(stop)
            except grpc.aio.AioRpcError as err:
                if err.code() in _FATAL_CODES:
                    raise FatalStreamError(
                        f"gateway rejected the agent: {err.details()} ({err.code().name})"
                    ) from None
                log.warning(
                    "stream failed",
                    extra={"code": err.code().name, "details": err.details(), "attempt": attempt},
                )
            except (TimeoutError, OSError) as err:
                log.warning("stream failed", extra={"error": repr(err), "attempt": attempt})
            except Exception as err:  # noqa: BLE001 - an unexpected error must not stop the agent
                log.error(
                    "stream failed unexpectedly", extra={"error": repr(err), "attempt": attempt}
                )
            finally:
                self.connected = False
                metrics.STREAM_CONNECTED.set(0)
            if stop.is_set():
                break
            if time.monotonic() - started > STABLE_SESSION_S:
                attempt = 0
            if self._drain_delay_s is not None:
                # The gateway asked for the reconnect: it is not a failure.
                attempt = 0
                delay = self._drain_delay_s + random.uniform(0, BACKOFF_INITIAL_S)
            else:
                delay = min(BACKOFF_MAX_S, BACKOFF_INITIAL_S * 2**attempt)
                delay = random.uniform(delay / 2, delay)
                attempt += 1
            metrics.RECONNECTS.inc()
            log.info("reconnecting", extra={"delay_s": round(delay, 2), "attempt": attempt})
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _session(self, stop: asyncio.Event) -> None:
        async with self._channel() as channel:
            stub = agent_pb2_grpc.AgentServiceStub(channel)
            call = stub.Connect(metadata=(("authorization", f"Bearer {self.token}"),))
            self.hello_assignment_version = self.assignment_version
            await call.write(
                agent_pb2.AgentMessage(
                    hello=agent_pb2.Hello(
                        agent_id=self.agent_id,
                        region=self.settings.agent_region,
                        version=__version__,
                        protocol_version=PROTOCOL_VERSION,
                        capabilities=CAPABILITIES,
                        assignment_version=self.assignment_version,
                        sent_at_us=time.time_ns() // 1000,
                    )
                )
            )
            # Batches sent before a reconnect were never acknowledged here:
            # send them again on the new stream.
            self._in_flight.clear()
            # A report belongs to the stream that carried its request.
            self._reports.clear()
            sender = asyncio.create_task(self._send_loop(call, stop))
            stopper = asyncio.create_task(stop.wait())
            reader = asyncio.create_task(self._read_loop(call))
            try:
                done, _ = await asyncio.wait(
                    {reader, sender, stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                if stopper in done:
                    await self._flush(call)
                for task in done:
                    if task is not stopper and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
            finally:
                for task in (reader, sender, stopper, *self._check_runs):
                    task.cancel()
                call.cancel()

    async def _read_loop(self, call: grpc.aio.StreamStreamCall) -> None:  # type: ignore[type-arg]
        async for message in call:
            kind = message.WhichOneof("body")
            if kind == "welcome":
                self._on_welcome(message.welcome)
            elif kind == "snapshot":
                self.scheduler.replace_all(list(message.snapshot.assignments))
                self.assignment_version = message.snapshot.assignment_version
                log.info(
                    "assignments received",
                    extra={"monitors": len(message.snapshot.assignments)},
                )
            elif kind == "delta":
                self._on_delta(message.delta)
            elif kind == "ack":
                await self._on_ack(message.ack)
            elif kind == "server_time":
                now_us = time.time_ns() // 1000
                sent = message.server_time.agent_sent_at_us
                midpoint = sent + (now_us - sent) / 2
                self.clock_offset_ms = (midpoint - message.server_time.server_time_us) / 1000
            elif kind == "run_check":
                self._start_check_run(message.run_check)
            elif kind == "drain":
                self._drain_delay_s = message.drain.reconnect_after_ms / 1000
                log.info(
                    "gateway asked to reconnect",
                    extra={
                        "reason": message.drain.reason,
                        "reconnect_after_ms": message.drain.reconnect_after_ms,
                    },
                )
                return

    def _on_welcome(self, welcome: agent_pb2.Welcome) -> None:
        self.connected = True
        self.sessions_opened += 1
        metrics.STREAM_CONNECTED.set(1)
        self._heartbeat_s = float(welcome.heartbeat_interval_s or 10)
        self._max_batch = min(BATCH_MAX_RESULTS, welcome.max_batch_results or BATCH_MAX_RESULTS)
        log.info(
            "stream connected",
            extra={
                "gateway_id": welcome.gateway_id,
                "session_id": welcome.session_id,
                "assignment_version": self.hello_assignment_version,
            },
        )

    def _on_delta(self, delta: agent_pb2.AssignmentDelta) -> None:
        if self.assignment_version and delta.base_version != self.assignment_version:
            log.warning(
                "assignment delta out of order; applying it and expecting a snapshot later",
                extra={"base": delta.base_version, "held": self.assignment_version},
            )
        for assignment in delta.upserts:
            self.scheduler.upsert(assignment)
        for monitor_id in delta.removed_monitor_ids:
            self.scheduler.remove(monitor_id)
        self.assignment_version = delta.assignment_version

    async def _on_ack(self, ack: agent_pb2.BatchAck) -> None:
        self._in_flight.pop(ack.batch_id, None)
        if ack.outcome == agent_pb2.BatchAck.OUTCOME_UNSPECIFIED:
            return
        await self.spool.acknowledge(ack.batch_id)
        if ack.outcome == agent_pb2.BatchAck.OUTCOME_REJECTED or ack.rejected_count:
            log.warning(
                "gateway rejected results",
                extra={
                    "batch_id": ack.batch_id,
                    "rejected": ack.rejected_count,
                    "reason": ack.reasons[0] if ack.reasons else "",
                },
            )

    def _start_check_run(self, run_check: agent_pb2.RunCheck) -> None:
        if len(self._check_runs) >= MAX_CHECK_RUNS:
            log.warning(
                "check request dropped; too many running",
                extra={"request_id": run_check.request_id, "running": len(self._check_runs)},
            )
            return
        task = asyncio.create_task(self._run_check(run_check), name="check-run")
        self._check_runs.add(task)
        task.add_done_callback(self._check_runs.discard)

    async def _run_check(self, run_check: agent_pb2.RunCheck) -> None:
        """Run a one-off check and queue its report for the sender, never for the spool."""
        log.info(
            "check request received",
            extra={
                "request_id": run_check.request_id,
                "monitor_id": run_check.check.monitor_id or None,
                "kind": run_check.check.kind,
            },
        )
        result = await self.scheduler.run_once(run_check.check)
        self._reports.append(agent_pb2.CheckReport(request_id=run_check.request_id, result=result))
        self._wake.set()

    async def _send_loop(self, call: grpc.aio.StreamStreamCall, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
        last_heartbeat = 0.0
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), BATCH_INTERVAL_S)
            self._wake.clear()
            # Reports go first: an API request is waiting for each of them.
            while self._reports:
                report = self._reports.pop(0)
                await call.write(agent_pb2.AgentMessage(check_report=report))
            await self._send_batches(call)
            if time.monotonic() - last_heartbeat >= self._heartbeat_s:
                await call.write(agent_pb2.AgentMessage(heartbeat=self._heartbeat()))
                last_heartbeat = time.monotonic()

    async def _send_batches(self, call: grpc.aio.StreamStreamCall) -> None:  # type: ignore[type-arg]
        formed = await self.spool.pending_batches()
        now = time.monotonic()
        due = [
            batch_id
            for batch_id in formed
            if now - self._in_flight.get(batch_id, -ACK_TIMEOUT_S) >= ACK_TIMEOUT_S
        ]
        while self.spool.unbatched_count() and len(self._in_flight) + len(due) < 64:
            batch_id = await self.spool.form_batch(self._max_batch)
            if batch_id is None:
                break
            due.append(batch_id)
        for batch_id in due:
            batch = await self.spool.load_batch(batch_id)
            if not batch.results:
                # Acknowledged meanwhile, or its results were evicted.
                continue
            await call.write(agent_pb2.AgentMessage(batch=batch))
            self._in_flight[batch_id] = time.monotonic()
            metrics.BATCHES_SENT.inc()
            metrics.RESULTS_SENT.inc(len(batch.results))

    async def _flush(self, call: grpc.aio.StreamStreamCall) -> None:  # type: ignore[type-arg]
        """Send what is spooled and wait briefly for acknowledgements."""
        with contextlib.suppress(Exception):
            await self._send_batches(call)
            deadline = time.monotonic() + 3.0
            # Acks arrive on the reader task; poll for them until the deadline.
            while self._in_flight and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    def _heartbeat(self) -> agent_pb2.Heartbeat:
        metrics.SPOOL_SIZE.set(self.spool.size)
        return agent_pb2.Heartbeat(
            sent_at_us=time.time_ns() // 1000,
            queue_depth=self.scheduler.queue_depth,
            spool_size=self.spool.size,
            spool_evicted=self.spool.evicted,
            clock_offset_ms=self.clock_offset_ms,
            load=os.getloadavg()[0],
            overruns=self.scheduler.overruns,
            assignment_version=self.assignment_version,
        )


def _read(path: str) -> bytes | None:
    if not path:
        return None
    with open(path, "rb") as handle:
        return handle.read()
