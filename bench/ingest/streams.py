"""Protocol-level agent streams that push pre-serialised result batches.

Each stream authenticates like an agent, takes its assignment snapshot, and
then writes ResultBatch messages that were serialised before the clock
starts, keeping at most `window` batches unacknowledged, as the agent does.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import grpc

from mometrics.probe.v1 import agent_pb2

CONNECT = "/mometrics.probe.v1.AgentService/Connect"


class BenchStream:
    def __init__(self, address: str, agent_id: str, token: str, region: str) -> None:
        self.address = address
        self.agent_id = agent_id
        self.token = token
        self.region = region
        self.assigned: list[str] = []
        self.snapshot_received = asyncio.Event()
        self.acked: dict[str, int] = {}
        self.last_ack_at = 0.0
        self._ack_arrived = asyncio.Event()

    async def connect(self) -> None:
        self.channel = grpc.aio.insecure_channel(
            self.address, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        )
        connect = self.channel.stream_stream(
            CONNECT,
            request_serializer=_identity,
            response_deserializer=agent_pb2.ControlMessage.FromString,
        )
        self.call = connect(metadata=(("authorization", f"Bearer {self.token}"),))
        hello = agent_pb2.AgentMessage(
            hello=agent_pb2.Hello(
                agent_id=self.agent_id,
                region=self.region,
                version="bench",
                protocol_version=1,
                sent_at_us=time.time_ns() // 1000,
            )
        )
        await self.call.write(hello.SerializeToString())
        self.reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self.snapshot_received.wait(), 60)

    async def _read(self) -> None:
        assigned: set[str] = set()
        async for message in self.call:
            kind = message.WhichOneof("body")
            if kind == "snapshot":
                assigned = {a.monitor_id for a in message.snapshot.assignments}
                self.assigned = sorted(assigned)
                self.snapshot_received.set()
            elif kind == "delta":
                assigned |= {a.monitor_id for a in message.delta.upserts}
                assigned -= set(message.delta.removed_monitor_ids)
                self.assigned = sorted(assigned)
            elif kind == "ack":
                self.acked[message.ack.batch_id] = message.ack.stored_count
                self.last_ack_at = time.perf_counter()
                self._ack_arrived.set()

    async def heartbeat(self) -> None:
        message = agent_pb2.AgentMessage(
            heartbeat=agent_pb2.Heartbeat(sent_at_us=time.time_ns() // 1000)
        )
        await self.call.write(message.SerializeToString())

    async def push(self, batches: list[tuple[str, bytes]], window: int) -> None:
        """Send every batch, keeping at most `window` unacknowledged."""
        in_flight: set[str] = set()
        last_heartbeat = time.monotonic()
        for batch_id, payload in batches:
            while len(in_flight) >= window:
                self._ack_arrived.clear()
                in_flight -= self.acked.keys()
                if len(in_flight) >= window:
                    await self._ack_arrived.wait()
            await self.call.write(payload)
            in_flight.add(batch_id)
            if time.monotonic() - last_heartbeat > 1.0:
                await self.heartbeat()
                last_heartbeat = time.monotonic()
        while in_flight - self.acked.keys():
            self._ack_arrived.clear()
            if in_flight - self.acked.keys():
                await self._ack_arrived.wait()

    async def close(self) -> None:
        self.call.cancel()
        self.reader.cancel()
        await self.channel.close()


def _identity(payload: bytes) -> bytes:
    return payload


def serialised_batches(
    monitor_ids: list[str],
    runs_per_monitor: int,
    first_run_at: float,
    batch_size: int,
    make_result: Callable[[str, float, int], agent_pb2.CheckResult],
) -> tuple[list[tuple[str, bytes]], list[agent_pb2.CheckResult]]:
    """Return (batch id, AgentMessage bytes) pairs and the results they carry.

    Runs go one minute apart from `first_run_at` (Unix seconds), every
    monitor's run k before any monitor's run k + 1, as a fleet sends them.
    """
    results = [
        make_result(monitor_id, first_run_at + 60 * run, run)
        for run in range(runs_per_monitor)
        for monitor_id in monitor_ids
    ]
    batches = []
    for offset in range(0, len(results), batch_size):
        batch_id = uuid.uuid4().hex
        message = agent_pb2.AgentMessage(
            batch=agent_pb2.ResultBatch(
                batch_id=batch_id, results=results[offset : offset + batch_size]
            )
        )
        batches.append((batch_id, message.SerializeToString()))
    return batches, results
