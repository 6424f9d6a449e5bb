"""Regions without a live agent are reported as having no coverage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from mometrics_control.agents import registry
from mometrics_control.api.app import create_app
from mometrics_control.config import load_settings
from tests.control_plane.conftest import sign_up
from tests.gateway.conftest import Gateways, RawAgent, eventually, open_raw, register_agent


@pytest.fixture
async def api(control_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(load_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
            yield client


async def _regions(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = await api.get("/regions", headers=headers)
    assert response.status_code == 200, response.text
    return {item["name"]: item for item in response.json()["items"]}


async def test_region_without_live_agent_has_no_coverage(
    api: httpx.AsyncClient, gateways: Gateways, raw_agents: list[RawAgent]
) -> None:
    # Given agents registered in two regions and a monitor in both
    headers = await sign_up(api, "coverage@example.org")
    tokens = {}
    for region in ("eu-west", "us-east"):
        created = await api.post(
            "/agents", json={"name": region, "region": region}, headers=headers
        )
        assert created.status_code == 201, created.text
        tokens[region] = (created.json()["id"], created.json()["token"])
    monitor = await api.post(
        "/monitors",
        json={"name": "m", "url": "http://127.0.0.1:9/", "regions": ["eu-west", "us-east"]},
        headers=headers,
    )
    assert monitor.status_code == 201, monitor.text

    # When only the eu-west agent connects
    server = await gateways.start()
    agent = await open_raw(raw_agents, server.port, *tokens["eu-west"], "eu-west")
    assert monitor.json()["id"] in agent.assigned

    # Then the API reports us-east without coverage
    regions = await _regions(api, headers)
    assert regions["eu-west"]["has_coverage"] is True
    assert regions["eu-west"]["agents_live"] == 1
    assert regions["us-east"]["has_coverage"] is False
    assert regions["us-east"]["agents_total"] == 1
    uptime = await api.get(f"/monitors/{monitor.json()['id']}/uptime", headers=headers)
    assert uptime.status_code == 200, uptime.text
    statuses = {r["region"]: r["status"] for r in uptime.json()["regions"]}
    assert statuses == {"eu-west": "no_data", "us-east": "no_coverage"}

    # When the eu-west agent disconnects, that region loses coverage too
    await agent.close()
    await eventually(
        lambda: _has_coverage(api, headers, "eu-west", False), 5, "eu-west to lose coverage"
    )


async def _has_coverage(
    api: httpx.AsyncClient, headers: dict[str, str], region: str, expected: bool
) -> bool:
    return bool((await _regions(api, headers))[region]["has_coverage"] is expected)


async def test_other_organisations_agent_gives_no_coverage(
    api: httpx.AsyncClient, redis: Redis, database_url: str
) -> None:
    # Given a monitor in us-east and a live agent there that another
    # organisation registered
    headers = await sign_up(api, "owner@example.org")
    monitor = await api.post(
        "/monitors",
        json={"name": "m", "url": "http://127.0.0.1:9/", "regions": ["us-east"]},
        headers=headers,
    )
    assert monitor.status_code == 201, monitor.text
    other_headers = await sign_up(api, "other@example.org")
    other = await api.post(
        "/agents", json={"name": "private", "region": "us-east"}, headers=other_headers
    )
    assert other.status_code == 201, other.text
    await registry.mark_live(redis, "us-east", other.json()["id"])

    # Then the monitor's region has no coverage
    uptime = await api.get(f"/monitors/{monitor.json()['id']}/uptime", headers=headers)
    assert uptime.json()["regions"][0]["status"] == "no_coverage"

    # When a shared agent of the operator is live there, it is covered
    shared_id, _ = await register_agent(database_url, "us-east")
    await registry.mark_live(redis, "us-east", shared_id)
    uptime = await api.get(f"/monitors/{monitor.json()['id']}/uptime", headers=headers)
    assert uptime.json()["regions"][0]["status"] == "no_data"
