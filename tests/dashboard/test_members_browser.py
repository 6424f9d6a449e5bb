"""Members and invitations in headless Chromium against the real api.

The api serves a fresh build of the dashboard and has no mail server, so
invitations come back as links. An owner is registered through the API. Then
dashboard/e2e/members.e2e.mjs invites an address as admin through the members
page and revokes a second invitation. It signs out, opens the accept link,
signs up with the invited address and lands in the organisation as admin. It
also checks the 403, 404 and 410 responses on the accept page, a role change
and a removal, a 390-px-wide phone layout and the console for errors.
Screenshots go to a temporary folder, or to docs/screenshots when
MOMETRICS_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import httpx
import pytest

from tests.dashboard.test_dashboard_browser import (
    CHROMIUM,
    DASHBOARD,
    build_dashboard,
    screenshot_dir,
)
from tests.e2e.stack import running_stack

pytestmark = pytest.mark.e2e

SCRIPT = DASHBOARD / "e2e" / "members.e2e.mjs"
SCRIPT_TIMEOUT_S = 180
OWNER_EMAIL = "owner@example.org"
OWNER_PASSWORD = "owner-e2e-password"
ORGANIZATION = "Invite test org"


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
async def test_invite_and_join_in_chromium(control_env: dict[str, str], tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build_dashboard(dist)
    # Without SMTP the API returns the accept link, which the script reads from the dialog.
    env = {
        **control_env,
        "MOMETRICS_DASHBOARD_DIR": str(dist),
        "MOMETRICS_SMTP_HOST": "",
        "MOMETRICS_PUBLIC_URL": "",
    }
    with running_stack(env, tmp_path) as stack:
        stack.start_control_plane()
        async with httpx.AsyncClient(base_url=stack.api_url) as client:
            registered = await client.post(
                "/auth/register",
                json={
                    "email": OWNER_EMAIL,
                    "password": OWNER_PASSWORD,
                    "organization_name": ORGANIZATION,
                },
            )
        assert registered.status_code == 201, registered.text

        script_env = {
            **os.environ,
            "MOMETRICS_E2E_BASE_URL": f"http://127.0.0.1:{stack.api_port}",
            "MOMETRICS_E2E_OWNER_EMAIL": OWNER_EMAIL,
            "MOMETRICS_E2E_OWNER_PASSWORD": OWNER_PASSWORD,
            "MOMETRICS_E2E_ORGANIZATION": ORGANIZATION,
            "MOMETRICS_E2E_SCREENSHOT_DIR": str(screenshot_dir(tmp_path)),
        }
        returncode, output = await run_script(script_env, tmp_path / "browser.log")
        if returncode != 0:
            pytest.fail(
                f"browser script exited with {returncode}:\n{output[-6000:]}\n"
                f"--- api log ---\n{stack.log('api')}"
            )
        assert "[e2e] all checks passed" in output
        stack.assert_running()
