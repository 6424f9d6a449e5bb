"""Which agent checks which monitor: rendezvous hashing over live agents.

For each monitor and region, every live agent of the region gets a score
from a hash of (agent id, monitor id) and the highest score wins. Adding or
removing one of N agents therefore moves about 1/N of the region's monitors
and nothing else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics.probe.v1 import agent_pb2
from mometrics_control.models import Monitor


@dataclasses.dataclass(frozen=True, slots=True)
class MonitorDef:
    """What the gateway needs of a monitor to assign and validate."""

    id: str
    kind: str
    target: str
    interval_s: int
    timeout_s: float
    regions: frozenset[str]
    options_json: str
    version: int

    def to_assignment(self) -> agent_pb2.Assignment:
        return agent_pb2.Assignment(
            monitor_id=self.id,
            kind=self.kind,
            target=self.target,
            interval_s=self.interval_s,
            timeout_s=self.timeout_s,
            options_json=self.options_json,
            monitor_version=self.version,
        )


def _score(agent_id: str, monitor_id: str) -> int:
    digest = hashlib.blake2b(f"{agent_id}/{monitor_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def responsible_agent(monitor_id: str, agents: list[str]) -> str | None:
    """Return the agent that wins the monitor among `agents`, or None if empty."""
    if not agents:
        return None
    return max(agents, key=lambda agent_id: _score(agent_id, monitor_id))


def assignments_for(
    agent_id: str,
    region: str,
    region_agents: list[str],
    monitors: dict[str, MonitorDef],
) -> dict[str, MonitorDef]:
    """Return the monitors that `agent_id` is responsible for in its region."""
    candidates = region_agents if agent_id in region_agents else [*region_agents, agent_id]
    return {
        monitor_id: monitor
        for monitor_id, monitor in monitors.items()
        if region in monitor.regions and responsible_agent(monitor_id, candidates) == agent_id
    }


async def load_monitors(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> dict[str, MonitorDef]:
    """Load every monitor that agents must check (all but paused ones)."""
    async with sessionmaker() as session:
        rows = await session.scalars(select(Monitor).where(Monitor.paused.is_(False)))
        return {str(row.id): to_def(row) for row in rows}


async def load_monitor(
    sessionmaker: async_sessionmaker[AsyncSession], monitor_id: str
) -> MonitorDef | None:
    async with sessionmaker() as session:
        row = await session.get(Monitor, uuid.UUID(monitor_id))
        if row is None or row.paused:
            return None
        return to_def(row)


def to_def(row: Monitor) -> MonitorDef:
    return MonitorDef(
        id=str(row.id),
        kind=row.kind,
        target=row.target,
        interval_s=row.interval_seconds,
        timeout_s=row.timeout_seconds,
        regions=frozenset(row.regions),
        options_json=json.dumps(row.options, separators=(",", ":"), sort_keys=True),
        version=row.version,
    )
