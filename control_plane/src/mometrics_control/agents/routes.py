from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, or_, select

from mometrics_control.agents import registry, service
from mometrics_control.api.deps import CallerDep, RedisDep, SessionDep, SettingsDep
from mometrics_control.api.pagination import (
    DEFAULT_LIMIT,
    CursorQuery,
    LimitQuery,
    paginate,
    parse_sort,
    split_page,
)
from mometrics_control.auth.tokens import hash_secret, new_secret
from mometrics_control.errors import Forbidden, InvalidInput, NotFound
from mometrics_control.models import Agent
from mometrics_control.monitors.schemas import PUSH_REGION, REGION_PATTERN

log = logging.getLogger("mometrics.agents")

router = APIRouter(tags=["agents"])


class AgentCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    region: str = Field(pattern=REGION_PATTERN)


class AgentRead(BaseModel):
    id: uuid.UUID
    name: str
    region: str
    status: Literal["connected", "disconnected", "revoked"]
    # True for agents the operator registered; they check every organisation's monitors.
    is_shared: bool
    last_seen_at: dt.datetime | None
    version: str | None
    created_at: dt.datetime


class AgentCreated(AgentRead):
    # Shown once; only its hash is stored.
    token: str


class AgentPage(BaseModel):
    items: list[AgentRead]
    next_cursor: str | None = None


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
        is_shared=agent.organization_id is None,
        last_seen_at=agent.last_seen_at,
        version=agent.version,
        created_at=agent.created_at,
    )


def _liveness_s(settings: SettingsDep) -> float:
    return float(settings.heartbeat_interval_s * settings.liveness_heartbeats)


_SORTS = {"name": Agent.name, "region": Agent.region, "created_at": Agent.created_at}


def _visible_to(organization_id: uuid.UUID) -> ColumnElement[bool]:
    # Operator-registered agents (no organisation) serve everyone and are
    # listed for everyone; an organisation's own agents only for it.
    return or_(Agent.organization_id == organization_id, Agent.organization_id.is_(None))


@router.get("/agents")
async def list_agents(
    caller: CallerDep,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    region: Annotated[str | None, Query(max_length=64)] = None,
    sort: str = "name",
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> AgentPage:
    """Agents of the organisation and the operator's shared agents."""
    sorting = parse_sort(sort, _SORTS)
    query = select(Agent).where(_visible_to(caller.organization_id))
    if region is not None:
        query = query.where(Agent.region == region)
    rows = list(await session.scalars(paginate(query, sorting, Agent.id, cursor, limit)))
    agents, next_cursor = split_page(rows, sorting, limit)
    live_map = await registry.live_by_region(redis, _liveness_s(settings))
    live = {agent_id for agents in live_map.values() for agent_id in agents}
    return AgentPage(items=[_read(a, live) for a in agents], next_cursor=next_cursor)


@router.post("/agents", status_code=status.HTTP_201_CREATED)
async def create_agent(body: AgentCreate, caller: CallerDep, session: SessionDep) -> AgentCreated:
    """Register an agent; the response carries its token, shown only this once."""
    caller.require("admin")
    if body.region == PUSH_REGION:
        raise InvalidInput.for_field("region", f"{PUSH_REGION} is reserved for push monitors")
    secret = new_secret()
    agent = Agent(
        id=uuid.uuid4(),
        organization_id=caller.organization_id,
        name=body.name,
        region=body.region,
        token_hash=hash_secret(secret),
    )
    session.add(agent)
    await session.commit()
    await session.refresh(agent)
    log.info(
        "agent registered",
        extra={"agent_id": str(agent.id), "organization_id": str(caller.organization_id)},
    )
    return AgentCreated(
        **_read(agent, set()).model_dump(), token=service.format_token(agent.id, secret)
    )


@router.delete("/agents/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_agent(agent_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> Response:
    caller.require("admin")
    agent = await session.get(Agent, agent_id)
    if agent is None or agent.organization_id not in (caller.organization_id, None):
        raise NotFound(f"agent {agent_id} not found")
    if agent.organization_id is None:
        raise Forbidden("the operator registered this shared agent; only the operator revokes it")
    if agent.revoked_at is None:
        agent.revoked_at = dt.datetime.now(dt.UTC)
        await session.commit()
        log.info("agent revoked", extra={"agent_id": str(agent_id)})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/regions")
async def list_regions(
    caller: CallerDep, session: SessionDep, redis: RedisDep, settings: SettingsDep
) -> RegionPage:
    """List the regions of the caller's agents and of the shared agents.

    has_coverage is false while none of those agents is live there.

    Another organisation's agents never check the caller's monitors, so they
    count nowhere here and their regions are not listed.
    """
    live_map = await registry.live_by_region(redis, _liveness_s(settings))
    live_ids = {agent_id for agents in live_map.values() for agent_id in agents}
    totals: dict[str, int] = {}
    live: dict[str, int] = {}
    visible = await session.scalars(
        select(Agent).where(_visible_to(caller.organization_id), Agent.revoked_at.is_(None))
    )
    for agent in visible:
        totals[agent.region] = totals.get(agent.region, 0) + 1
        if str(agent.id) in live_ids:
            live[agent.region] = live.get(agent.region, 0) + 1
    return RegionPage(
        items=[
            RegionRead(
                name=name,
                agents_live=live.get(name, 0),
                agents_total=totals[name],
                has_coverage=live.get(name, 0) > 0,
            )
            for name in sorted(totals)
        ]
    )
