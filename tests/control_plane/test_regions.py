"""GET /regions counts only the agents that may check the caller's monitors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from mometrics_control.agents import registry
from tests.control_plane.conftest import sign_up
from tests.gateway.conftest import register_agent


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def _regions(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = await api.get("/regions", headers=headers)
    assert response.status_code == 200, response.text
    return {item["name"]: item for item in response.json()["items"]}


async def _own_agent(api: httpx.AsyncClient, headers: dict[str, str], region: str) -> str:
    created = await api.post("/agents", json={"name": region, "region": region}, headers=headers)
    assert created.status_code == 201, created.text
    agent_id: str = created.json()["id"]
    return agent_id


async def test_regions_ignore_other_organisations_agents(
    api: httpx.AsyncClient, redis: Redis, database_url: str
) -> None:
    # Given two organisations, each with a live agent of its own in a region
    # of its own, and a shared agent in eu-west that is not live
    alpha = await sign_up(api, "alpha@example.org")
    beta = await sign_up(api, "beta@example.org")
    alpha_agent = await _own_agent(api, alpha, "ap-south")
    beta_agent = await _own_agent(api, beta, "us-east")
    await register_agent(database_url, "eu-west")
    await registry.mark_live(redis, "ap-south", alpha_agent)
    await registry.mark_live(redis, "us-east", beta_agent)

    # When each lists its regions
    seen_by_alpha = await _regions(api, alpha)
    seen_by_beta = await _regions(api, beta)

    # Then each gets coverage only from its own agent, and the shared region
    assert set(seen_by_alpha) == {"ap-south", "eu-west"}
    assert seen_by_alpha["ap-south"]["has_coverage"] is True
    assert seen_by_alpha["ap-south"]["agents_live"] == 1
    assert seen_by_alpha["eu-west"]["has_coverage"] is False
    assert seen_by_alpha["eu-west"]["agents_total"] == 1
    assert set(seen_by_beta) == {"us-east", "eu-west"}
    assert seen_by_beta["us-east"]["has_coverage"] is True
    assert seen_by_beta["us-east"]["agents_live"] == 1


async def test_region_of_other_organisation_has_no_coverage(
    api: httpx.AsyncClient, redis: Redis, database_url: str
) -> None:
    # Given a region where one organisation has a live agent and another has
    # an agent that is not live
    alpha = await sign_up(api, "alpha@example.org")
    beta = await sign_up(api, "beta@example.org")
    alpha_agent = await _own_agent(api, alpha, "us-east")
    await _own_agent(api, beta, "us-east")
    await registry.mark_live(redis, "us-east", alpha_agent)

    # When the second lists its regions
    regions = await _regions(api, beta)

    # Then the first organisation's live agent does not cover it
    assert regions["us-east"]["has_coverage"] is False
    assert regions["us-east"]["agents_live"] == 0
    assert regions["us-east"]["agents_total"] == 1


async def test_shared_live_agent_covers_every_organisation(
    api: httpx.AsyncClient, redis: Redis, database_url: str
) -> None:
    alpha = await sign_up(api, "alpha@example.org")
    beta = await sign_up(api, "beta@example.org")
    shared_id, _ = await register_agent(database_url, "eu-west")
    await registry.mark_live(redis, "eu-west", shared_id)

    for headers in (alpha, beta):
        regions = await _regions(api, headers)
        assert regions["eu-west"]["has_coverage"] is True
        assert regions["eu-west"]["agents_live"] == 1
