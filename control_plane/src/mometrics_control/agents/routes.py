from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from mometrics_control.agents import registry, service
from mometrics_control.api.deps import CallerDep, RedisDep, SessionDep, SettingsDep
from mometrics_control.errors import NotFound
from mometrics_control.models import Agent
from mometrics_control.monitors.schemas import REGION_PATTERN

router = APIRouter(tags=["agents"])


class AgentCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    region: str = Field(pattern=REGION_PATTERN)


class AgentRead(BaseModel):
    id: uuid.UUID
    name: str
    region: str
    status: Literal["connected", "disconnected", "revoked"]
    last_seen_at: dt.datetime | None
    version: str | None
    created_at: dt.datetime


class AgentCreated(AgentRead):
    # Shown once; only its hash is stored.
    token: str


class AgentPage(BaseModel):
    items: list[AgentRead]


class RegionRead(BaseModel):
    name: str
    agents_live: int
    agents_total: int
    has_coverage: bool


class RegionPage(BaseModel):
    items: list[RegionRead]


def _read(agent: Agent, live: set[str]) -> AgentRead:
    if agent.revoked_at is not None:
        state: Literal["connected", "disconnected", "revoked"] = "revoked"
    elif str(agent.id) in live:
        state = "connected"
    else:
        state = "disconnected"
    return AgentRead(
        id=agent.id,
        name=agent.name,
        region=agent.region,
        status=state,
        last_seen_at=agent.last_seen_at,
        version=agent.version,
        created_at=agent.created_at,
    )


def _liveness_s(settings: SettingsDep) -> float:
    return float(settings.heartbeat_interval_s * settings.liveness_heartbeats)


@router.get("/agents")
async def list_agents(
    caller: CallerDep, session: SessionDep, redis: RedisDep, settings: SettingsDep
) -> AgentPage:
    live_map = await registry.live_by_region(redis, _liveness_s(settings))
    live = {agent_id for agents in live_map.values() for agent_id in agents}
    return AgentPage(items=[_read(a, live) for a in await service.list_agents(session)])


@router.post("/agents", status_code=status.HTTP_201_CREATED)
async def create_agent(body: AgentCreate, caller: CallerDep, session: SessionDep) -> AgentCreated:
    """Register an agent; the response carries its token, shown only this once."""
    caller.require("admin")
    agent, token = await service.create_agent(session, body.name, body.region)
    return AgentCreated(**_read(agent, set()).model_dump(), token=token)


@router.delete("/agents/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_agent(agent_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> Response:
    caller.require("admin")
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    if agent.revoked_at is None:
        agent.revoked_at = dt.datetime.now(dt.UTC)
        await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/regions")
async def list_regions(
    caller: CallerDep, session: SessionDep, redis: RedisDep, settings: SettingsDep
) -> RegionPage:
    """Regions with registered or live agents; has_coverage is false with none live."""
    live_map = await registry.live_by_region(redis, _liveness_s(settings))
    totals: dict[str, int] = {}
    for agent in await service.list_agents(session):
        if agent.revoked_at is None:
            totals[agent.region] = totals.get(agent.region, 0) + 1
    names = sorted(set(totals) | set(live_map))
    return RegionPage(
        items=[
            RegionRead(
                name=name,
                agents_live=len(live_map.get(name, [])),
                agents_total=totals.get(name, 0),
                has_coverage=bool(live_map.get(name)),
            )
            for name in names
        ]
    )
