"""One agent's stream: its identity, outgoing queue and current assignments."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

from mometrics.probe.v1 import agent_pb2
from mometrics_control.gateway.assignment import MonitorDef


def new_version() -> int:
    """Return an assignment version that grows across sessions and replicas."""
    return time.time_ns() // 1000


@dataclasses.dataclass(eq=False)
class AgentSession:
    agent_id: str
    region: str
    session_id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    outbox: asyncio.Queue[agent_pb2.ControlMessage | None] = dataclasses.field(
        default_factory=asyncio.Queue
    )
    assigned: dict[str, MonitorDef] = dataclasses.field(default_factory=dict)
    version: int = 0
    last_message_at: float = dataclasses.field(default_factory=time.monotonic)
    closed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def send(self, message: agent_pb2.ControlMessage) -> None:
        self.outbox.put_nowait(message)

    def close(self, reason: str = "") -> None:
        """Ask the stream to end; a Drain tells the agent to reconnect."""
        if self.closed.is_set():
            return
        if reason:
            self.send(agent_pb2.ControlMessage(drain=agent_pb2.Drain(reason=reason)))
        self.outbox.put_nowait(None)
        self.closed.set()

    def snapshot(self, monitors: dict[str, MonitorDef]) -> agent_pb2.ControlMessage:
        self.assigned = dict(monitors)
        self.version = new_version()
        return agent_pb2.ControlMessage(
            snapshot=agent_pb2.AssignmentSnapshot(
                assignment_version=self.version,
                assignments=[m.to_assignment() for m in monitors.values()],
            )
        )

    def delta(self, monitors: dict[str, MonitorDef]) -> agent_pb2.ControlMessage | None:
        """Return the delta from the current assignments to `monitors`, if any."""
        upserts = [
            monitor.to_assignment()
            for monitor_id, monitor in monitors.items()
            if self.assigned.get(monitor_id) != monitor
        ]
        removed = [monitor_id for monitor_id in self.assigned if monitor_id not in monitors]
        if not upserts and not removed:
            return None
        base = self.version
        self.assigned = dict(monitors)
        self.version = max(new_version(), base + 1)
        return agent_pb2.ControlMessage(
            delta=agent_pb2.AssignmentDelta(
                base_version=base,
                assignment_version=self.version,
                upserts=upserts,
                removed_monitor_ids=removed,
            )
        )
