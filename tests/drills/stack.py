"""The control plane and agents of one drill, each a process the drill can kill.

It follows tests/e2e/stack.py, with what the fault drills add: several
gateway replicas, per-process settings (a database or gateway address that
goes through a proxy), the worker and the scheduler, and `kill -9`.
Every process runs in its own session, so stopping it also stops its
children (the Dramatiq worker forks).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.stack import BIN, free_port

CONTROL = str(BIN / "mometrics-control")
AGENT = str(BIN / "mometrics-agent")
STOP_GRACE_S = 15


class DrillStack:
    """Processes of one drill, by name; all stopped when the drill ends."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.workdir = workdir
        self.api_port = free_port()
        self.env = {
            **os.environ,
            **env,
            "MOMETRICS_API_PORT": str(self.api_port),
            "MOMETRICS_HEARTBEAT_INTERVAL_S": "1",
            "MOMETRICS_LOG_LEVEL": os.environ.get("MOMETRICS_DRILL_LOG_LEVEL", "INFO"),
        }
        self.api_url = f"http://127.0.0.1:{self.api_port}/api/v1"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.gateway_ports: dict[str, int] = {}
        self.agent_env: dict[str, dict[str, str]] = {}

    # Processes

    def start(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> None:
        with open(self.workdir / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                args,
                env={**self.env, **(extra_env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill9(self, name: str) -> None:
        """Send SIGKILL to the process and its children, as `kill -9` does."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes[name]
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for name in list(self.processes):
            try:
                self.processes[name].wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.kill9(name)

    def assert_running(self, *names: str) -> None:
        for name in names or tuple(self.processes):
            process = self.processes[name]
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n{self.log(name)}")

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-4000:]

    # The control plane

    def start_api(self, extra_env: dict[str, str] | None = None) -> None:
        self.start("api", [CONTROL, "api"], extra_env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.api_url}/health", timeout=1).status_code == 200:
                    return
            self.assert_running("api")
            time.sleep(0.2)
        raise AssertionError("api did not become healthy:\n" + self.log("api"))

    def start_gateway(
        self,
        name: str = "gateway",
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> int:
        port = port or self.gateway_ports.get(name) or free_port()
        self.gateway_ports[name] = port
        env = {"MOMETRICS_GATEWAY_LISTEN": f"127.0.0.1:{port}", **(extra_env or {})}
        self.start(name, [CONTROL, "gateway"], env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.assert_running(name)
            if _can_connect(port):
                return port
            time.sleep(0.2)
        raise AssertionError(f"{name} did not listen on {port}:\n{self.log(name)}")

    def start_worker(self, extra_env: dict[str, str] | None = None) -> None:
        self.start("worker", [CONTROL, "worker", "--processes", "1", "--threads", "2"], extra_env)

    def start_scheduler(self, extra_env: dict[str, str] | None = None) -> None:
        self.start("scheduler", [CONTROL, "scheduler"], extra_env)

    # Agents

    def create_agent(self, region: str) -> str:
        output = subprocess.run(
            [CONTROL, "create-agent", "--region", region],
            env=self.env,
            check=True,
            capture_output=True,
        ).stdout
        token: str = json.loads(output)["token"]
        return token

    def spool_path(self, name: str) -> Path:
        return self.workdir / f"spool-{name}.sqlite3"

    def start_agent(self, name: str, region: str, token: str, gateway_address: str) -> None:
        """Start `mometrics-agent run`; a restart under the same name reuses the spool."""
        self.agent_env[name] = {
            "MOMETRICS_GATEWAY_ADDRESS": gateway_address,
            "MOMETRICS_AGENT_REGION": region,
            "MOMETRICS_AGENT_TOKEN": token,
            "MOMETRICS_AGENT_SPOOL_PATH": str(self.spool_path(name)),
        }
        self.restart_agent(name)

    def restart_agent(self, name: str) -> None:
        self.start(name, [AGENT, "run", "--metrics-port", "0"], self.agent_env[name])


def _can_connect(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ApiClient:
    """A signed-in REST client of the drill's api process."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @classmethod
    @contextlib.asynccontextmanager
    async def signed_in(cls, api_url: str, email: str) -> AsyncIterator[ApiClient]:
        async with httpx.AsyncClient(base_url=api_url, timeout=20) as client:
            credentials = {"email": email, "password": "drill-password"}
            registered = await client.post("/auth/register", json=credentials)
            assert registered.status_code == 201, registered.text
            login = await client.post("/auth/login", json=credentials)
            assert login.status_code == 200, login.text
            client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            yield cls(client)

    async def create_monitor(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post("/monitors", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def create_channel(self, kind: str, name: str, config: dict[str, Any]) -> str:
        response = await self.client.post(
            "/channels", json={"kind": kind, "name": name, "config": config}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def uptime(self, monitor_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/monitors/{monitor_id}/uptime?window=24h")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def incidents(self) -> list[dict[str, Any]]:
        response = await self.client.get("/incidents")
        assert response.status_code == 200, response.text
        body = response.json()
        return list(body["items"] if isinstance(body, dict) else body)


async def wait_until(
    check: Any, timeout_s: float, description: str, interval_s: float = 0.5
) -> Any:
    """Await `check()` until it returns a truthy value; fail naming `description`."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(interval_s)
    raise AssertionError(
        f"timed out after {timeout_s} s waiting for {description}; last value: {value}"
    )
