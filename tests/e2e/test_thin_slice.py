"""The whole slice with real processes: sign up, monitor, three regions, outage.

Given an api, a gateway and agents in three regions as separate processes,
and an HTTP target served by this test, a monitor created through REST is
checked in every region, results flow back and uptime is reported. Stopping
the target turns every region down; starting it again brings them back up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.e2e.stack import free_port, running_stack

pytestmark = pytest.mark.e2e

REGIONS = ["ap-south", "eu-west", "us-east"]
INTERVAL_S = 10


class Target:
    """An aiohttp server on a fixed loopback port that can stop and start."""

    def __init__(self) -> None:
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="all good")

        app = web.Application()
        app.router.add_get("/health", ok)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


async def wait_for(
    fetch: Callable[[], Any], condition: Callable[[Any], bool], timeout_s: float, what: str
) -> Any:
    import asyncio

    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = await fetch()
        if condition(value):
            return value
        await asyncio.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what}; last value: {value}")


async def test_three_regions_detect_outage_and_recovery(
    control_env: dict[str, str], tmp_path: Path
) -> None:
    target = Target()
    await target.start()
    with running_stack(control_env, tmp_path) as stack:
        stack.start_control_plane()
        for region in REGIONS:
            stack.start_agent(region, stack.create_agent(region))
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as api:
            # Given a signed-up user and an HTTP monitor in three regions
            await api.post(
                "/auth/register", json={"email": "e2e@example.org", "password": "e2e-password"}
            )
            login = await api.post(
                "/auth/login", json={"email": "e2e@example.org", "password": "e2e-password"}
            )
            api.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            created = await api.post(
                "/monitors",
                json={
                    "name": "local target",
                    "url": f"http://127.0.0.1:{target.port}/health",
                    "interval_seconds": INTERVAL_S,
                    "timeout_seconds": 2,
                    "regions": REGIONS,
                },
            )
            assert created.status_code == 201, created.text
            monitor_id = created.json()["id"]

            async def uptime() -> dict[str, Any]:
                response = await api.get(f"/monitors/{monitor_id}/uptime?window=24h")
                assert response.status_code == 200, response.text
                return dict(response.json())

            def region_statuses(body: dict[str, Any]) -> list[str]:
                return [region["status"] for region in body["regions"]]

            # When the agents check it, every region reports up
            body = await wait_for(
                uptime,
                lambda b: region_statuses(b) == ["up"] * 3,
                3 * INTERVAL_S,
                "three regions up",
            )
            assert body["status"] == "up"
            assert body["uptime"] == 1.0
            for region in body["regions"]:
                assert region["uptime"] == 1.0
                assert region["checks"] >= 1
                assert region["latency_ms"]["p50"] > 0
            results = (await api.get(f"/monitors/{monitor_id}/results")).json()["items"]
            assert {r["region"] for r in results} == set(REGIONS)
            assert all(r["status"] == "up" for r in results)
            stack.assert_running()

            # When the target stops, every region turns down with a reason
            await target.stop()
            body = await wait_for(
                uptime,
                lambda b: region_statuses(b) == ["down"] * 3,
                4 * INTERVAL_S,
                "three regions down",
            )
            assert body["status"] == "down"
            assert body["uptime"] < 1.0
            failures = (await api.get(f"/monitors/{monitor_id}/results?status=down")).json()
            assert failures["items"][0]["error_class"] == "connect"

            # When it starts again, every region recovers
            await target.start()
            body = await wait_for(
                uptime,
                lambda b: region_statuses(b) == ["up"] * 3,
                3 * INTERVAL_S,
                "three regions up again",
            )
            assert body["status"] == "up"
            stack.assert_running()
    await target.stop()
