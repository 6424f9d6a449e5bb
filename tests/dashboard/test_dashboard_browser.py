"""The dashboard in headless Chromium against the real api, gateway and agents.

Given a fresh build of the dashboard served by the api, a gateway, agents in
three regions and an HTTP target served by this test, dashboard/e2e/
dashboard.e2e.mjs signs up, logs in, creates and edits a monitor through the
form, sees every region turn up, stops the target through a control address
and sees every region turn down. It also reloads deep links, renews an
invalid access token, checks a 390-px-wide phone layout and fails on any
console error. Screenshots go to a temporary folder, or to docs/screenshots
when MOMETRICS_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp import web

from tests.e2e.stack import free_port, running_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"
SCRIPT = DASHBOARD / "e2e" / "dashboard.e2e.mjs"
CHROMIUM = Path(os.environ.get("MOMETRICS_CHROMIUM", "/usr/bin/chromium"))
REGIONS = ["ap-south", "eu-west", "us-east"]
SCRIPT_TIMEOUT_S = 360


class StoppableTarget:
    """An HTTP target on a loopback port, stopped by a POST to a second port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.control_port = free_port()
        self.runner: web.AppRunner | None = None
        self.control_runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    @property
    def stop_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}/stop"

    async def start(self) -> None:
        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="all good")

        async def stop(request: web.Request) -> web.Response:
            await self.stop_target()
            return web.Response(text="stopped")

        app = web.Application()
        app.router.add_get("/health", ok)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

        control = web.Application()
        control.router.add_post("/stop", stop)
        self.control_runner = web.AppRunner(control)
        await self.control_runner.setup()
        await web.TCPSite(self.control_runner, "127.0.0.1", self.control_port).start()

    async def stop_target(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def close(self) -> None:
        await self.stop_target()
        if self.control_runner is not None:
            await self.control_runner.cleanup()
            self.control_runner = None


def build_dashboard(out_dir: Path) -> None:
    """Build the current sources, so the test never runs a stale dashboard/dist."""
    vite = DASHBOARD / "node_modules" / ".bin" / "vite"
    if not vite.exists():
        pytest.fail("dashboard/node_modules is missing; run `cd dashboard && npm ci` first")
    result = subprocess.run(
        [str(vite), "build", "--outDir", str(out_dir), "--emptyOutDir", "--logLevel", "warn"],
        cwd=DASHBOARD,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"vite build failed:\n{result.stdout}\n{result.stderr}"


def screenshot_dir(tmp_path: Path) -> Path:
    if os.environ.get("MOMETRICS_UPDATE_SCREENSHOTS") == "1":
        return ROOT / "docs" / "screenshots"
    return tmp_path / "screenshots"


async def run_script(env: dict[str, str], log_path: Path) -> tuple[int, str]:
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            shutil.which("node") or "node",
            str(SCRIPT),
            cwd=DASHBOARD,
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            returncode = await asyncio.wait_for(process.wait(), SCRIPT_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            returncode = -1
    return returncode, await asyncio.to_thread(log_path.read_text, errors="replace")


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} not found; install it with `apt-get update && apt-get install -y chromium`",
)
async def test_dashboard_in_chromium(control_env: dict[str, str], tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build_dashboard(dist)
    target = StoppableTarget()
    await target.start()
    try:
        with running_stack(
            {**control_env, "MOMETRICS_DASHBOARD_DIR": str(dist)}, tmp_path
        ) as stack:
            stack.start_control_plane()
            for region in REGIONS:
                stack.start_agent(region, stack.create_agent(region))

            env = {
                **os.environ,
                "MOMETRICS_E2E_BASE_URL": f"http://127.0.0.1:{stack.api_port}",
                "MOMETRICS_E2E_TARGET_URL": target.url,
                "MOMETRICS_E2E_TARGET_STOP_URL": target.stop_url,
                "MOMETRICS_E2E_REGIONS": ",".join(REGIONS),
                "MOMETRICS_E2E_SCREENSHOT_DIR": str(screenshot_dir(tmp_path)),
            }
            returncode, output = await run_script(env, tmp_path / "browser.log")
            if returncode != 0:
                pytest.fail(
                    f"browser script exited with {returncode}:\n{output[-6000:]}\n"
                    f"--- api log ---\n{stack.log('api')}"
                )
            assert "[e2e] all checks passed" in output
            stack.assert_running()
    finally:
        await target.close()
