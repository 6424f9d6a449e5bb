"""Which agent checks which monitor: rendezvous hashing over live agents.

For each monitor and region, every live agent of the region that may check
the monitor gets a score from a hash of (agent id, monitor id) and the
highest score wins. Every gateway replica computes the same owners from the
same live agents, and adding or removing one of N agents moves about 1/N of
the region's monitors and nothing else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics.probe.v1 import agent_pb2
from mometrics_control.models import Monitor


@dataclasses.dataclass(frozen=True, slots=True)
class MonitorDef:
    """The fields of a monitor that the gateway needs to assign it and validate results."""

    id: str
    organization_id: str
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


def responsible_agent(monitor_id: str, agents: Iterable[str]) -> str | None:
    """Return the agent that wins the monitor among `agents`, or None if empty."""
    best = _best(monitor_id, agents)
    return best[1] if best else None


def _best(monitor_id: str, agents: Iterable[str]) -> tuple[int, str] | None:
    return max(((_score(agent_id, monitor_id), agent_id) for agent_id in agents), default=None)


class RegionPlan:
    """Owners of one region's monitors among its live agents, kept up to date.

    An agent that an organisation registered checks only that organisation's
    monitors; an agent the operator registered (organisation None) checks
    anyone's. A full build scores every eligible (agent, monitor) pair once.
    After that, an agent that joins is scored only against each monitor's
    current best score, and only the monitors of an agent that leaves are
    scored again. A join or leave therefore costs about one hash per monitor
    of the region instead of one per pair.
    """

    def __init__(self, region: str) -> None:
        self.region = region
        # agent id -> organisation id, None for a shared agent
        self.agents: dict[str, str | None] = {}
        self._monitor_orgs: dict[str, str] = {}
        self._monitors_by_org: dict[str, set[str]] = {}
        # monitor id -> (best score, owning agent id)
        self._owners: dict[str, tuple[int, str]] = {}
        self._unowned: set[str] = set()
        self._by_agent: dict[str, set[str]] = {}

    def owner(self, monitor_id: str) -> str | None:
        entry = self._owners.get(monitor_id)
        return entry[1] if entry else None

    def owned_by(self, agent_id: str) -> set[str]:
        return set(self._by_agent.get(agent_id, ()))

    def _eligible(self, monitor_id: str) -> list[str]:
        organization_id = self._monitor_orgs[monitor_id]
        return [
            agent_id
            for agent_id, agent_org in self.agents.items()
            if agent_org is None or agent_org == organization_id
        ]

    def _assign(self, monitor_id: str, entry: tuple[int, str] | None) -> None:
        previous = self._owners.pop(monitor_id, None)
        if previous is not None:
            self._by_agent[previous[1]].discard(monitor_id)
        if entry is None:
            self._unowned.add(monitor_id)
            return
        self._unowned.discard(monitor_id)
        self._owners[monitor_id] = entry
        self._by_agent.setdefault(entry[1], set()).add(monitor_id)

    def set_agents(self, agents: dict[str, str | None]) -> set[str]:
        """Replace the live agents (id -> organisation); return monitors that moved."""
        joined = [agent_id for agent_id in agents if agent_id not in self.agents]
        left = [agent_id for agent_id in self.agents if agent_id not in agents]
        self.agents = dict(agents)
        moved: set[str] = set()
        for agent_id in left:
            for monitor_id in self._by_agent.pop(agent_id, set()):
                del self._owners[monitor_id]
                self._unowned.add(monitor_id)
                moved.add(monitor_id)
        for monitor_id in list(self._unowned):
            self._assign(monitor_id, _best(monitor_id, self._eligible(monitor_id)))
            if monitor_id not in self._unowned:
                moved.add(monitor_id)
        for agent_id in joined:
            organization_id = self.agents[agent_id]
            if organization_id is None:
                candidates: Iterable[str] = list(self._owners)
            else:
                candidates = self._monitors_by_org.get(organization_id, set()) - self._unowned
            for monitor_id in candidates:
                score = _score(agent_id, monitor_id)
                if score > self._owners[monitor_id][0]:
                    self._assign(monitor_id, (score, agent_id))
                    moved.add(monitor_id)
        return moved

    def upsert(self, monitor_id: str, organization_id: str) -> None:
        """Add a monitor checked in this region; an unchanged one keeps its owner."""
        if self._monitor_orgs.get(monitor_id) == organization_id:
            return
        self.remove(monitor_id)
        self._monitor_orgs[monitor_id] = organization_id
        self._monitors_by_org.setdefault(organization_id, set()).add(monitor_id)
        self._assign(monitor_id, _best(monitor_id, self._eligible(monitor_id)))

    def remove(self, monitor_id: str) -> None:
        organization_id = self._monitor_orgs.pop(monitor_id, None)
        if organization_id is None:
            return
        self._monitors_by_org[organization_id].discard(monitor_id)
        self._assign(monitor_id, None)
        self._unowned.discard(monitor_id)


async def load_monitors(
    sessionmaker: async_sessionmaker[AsyncSession],
    monitor_ids: Iterable[str] | None = None,
) -> dict[str, MonitorDef]:
    """Load the monitors that agents must check (all but paused ones).

    With `monitor_ids`, load only those; the ones that are missing or paused
    are left out of the result.
    """
    # Push monitors are fed by pings to the API, never by agents.
    query = select(Monitor).where(Monitor.paused.is_(False), Monitor.kind != "push")
    if monitor_ids is not None:
        query = query.where(Monitor.id.in_([uuid.UUID(m) for m in monitor_ids]))
    async with sessionmaker() as session:
        return {str(row.id): to_def(row) for row in await session.scalars(query)}


async def load_versions(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Return the version of every monitor that agents must check."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Monitor.id, Monitor.version).where(
                Monitor.paused.is_(False), Monitor.kind != "push"
            )
        )
        return {str(monitor_id): version for monitor_id, version in rows}


async def load_monitor(
    sessionmaker: async_sessionmaker[AsyncSession], monitor_id: str
) -> MonitorDef | None:
    async with sessionmaker() as session:
        row = await session.get(Monitor, uuid.UUID(monitor_id))
        if row is None or row.paused or row.kind == "push":
            return None
        return to_def(row)


def to_def(row: Monitor) -> MonitorDef:
    return MonitorDef(
        id=str(row.id),
        organization_id=str(row.organization_id),
        kind=row.kind,
        target=row.target,
        interval_s=row.interval_seconds,
        timeout_s=row.timeout_seconds,
        regions=frozenset(row.regions),
        options_json=json.dumps(row.options, separators=(",", ":"), sort_keys=True),
        version=row.version,
    )
