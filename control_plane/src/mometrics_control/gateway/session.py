"""One agent's stream: its identity, outgoing queue and current assignments."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Iterable

from mometrics.probe.v1 import agent_pb2
from mometrics_control.gateway.assignment import MonitorDef

# Assignments per snapshot or delta message. A large set goes out as one
# snapshot followed by deltas, so no message nears the 16 MiB limit (an
# assignment is a few hundred bytes).
MAX_ASSIGNMENTS_PER_MESSAGE = 5000


def new_version() -> int:
    """Return an assignment version that grows across sessions and replicas."""
    return time.time_ns() // 1000


def _chunks(items: list[agent_pb2.Assignment]) -> list[list[agent_pb2.Assignment]]:
    size = MAX_ASSIGNMENTS_PER_MESSAGE
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


@dataclasses.dataclass(eq=False)
class AgentSession:
    agent_id: str
    region: str
    # Organisation that registered the agent, None for a shared agent.
    organization_id: str | None = None
    session_id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    outbox: asyncio.Queue[agent_pb2.ControlMessage | None] = dataclasses.field(
        default_factory=asyncio.Queue
    )
    assigned: dict[str, MonitorDef] = dataclasses.field(default_factory=dict)
    version: int = 0
    last_message_at: float = dataclasses.field(default_factory=time.monotonic)
    closed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    # Set when a newer session of the same agent opened. The agent is then
    # still live, so closing this session must not mark it gone.
    is_replaced: bool = False
    # Why the agent's stream ends with INVALID_ARGUMENT, once it broke the
    # protocol.
    violation: str | None = None
    # Message kinds skipped and logged once. None is a message with no body.
    ignored_kinds: set[str | None] = dataclasses.field(default_factory=set)

    def send(self, message: agent_pb2.ControlMessage) -> None:
        self.outbox.put_nowait(message)

    def close(self, reason: str = "") -> None:
        """Ask the stream to end; a Drain asks the agent to reconnect."""
        if self.closed.is_set():
            return
        if reason:
            self.send(agent_pb2.ControlMessage(drain=agent_pb2.Drain(reason=reason)))
        self.outbox.put_nowait(None)
        self.closed.set()

    def _next_version(self) -> int:
        self.version = max(new_version(), self.version + 1)
        return self.version

    def snapshot(self, monitors: Iterable[MonitorDef]) -> list[agent_pb2.ControlMessage]:
        """Replace the assignments; return a snapshot and, past the size limit, deltas."""
        self.assigned = {monitor.id: monitor for monitor in monitors}
        first, *rest = _chunks([m.to_assignment() for m in self.assigned.values()])
        messages = [
            agent_pb2.ControlMessage(
                snapshot=agent_pb2.AssignmentSnapshot(
                    assignment_version=self._next_version(), assignments=first
                )
            )
        ]
        for chunk in rest:
            base = self.version
            messages.append(
                agent_pb2.ControlMessage(
                    delta=agent_pb2.AssignmentDelta(
                        base_version=base,
                        assignment_version=self._next_version(),
                        upserts=chunk,
                    )
                )
            )
        return messages

    def change(
        self, upserts: Iterable[MonitorDef], removed: Iterable[str]
    ) -> list[agent_pb2.ControlMessage]:
        """Apply upserts and removals; return the deltas that carry the real changes."""
        changed = [m for m in upserts if self.assigned.get(m.id) != m]
        removed_ids = [monitor_id for monitor_id in removed if monitor_id in self.assigned]
        for monitor in changed:
            self.assigned[monitor.id] = monitor
        for monitor_id in removed_ids:
            del self.assigned[monitor_id]
        if not changed and not removed_ids:
            return []
        messages = []
        chunks = _chunks([m.to_assignment() for m in changed])
        for index, chunk in enumerate(chunks):
            base = self.version
            messages.append(
                agent_pb2.ControlMessage(
                    delta=agent_pb2.AssignmentDelta(
                        base_version=base,
                        assignment_version=self._next_version(),
                        upserts=chunk,
                        removed_monitor_ids=removed_ids if index == len(chunks) - 1 else [],
                    )
                )
            )
        return messages
