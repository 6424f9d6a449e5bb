"""Real components for the agent runtime tests: gateway, targets, agents, rows.

The gateway is the control plane's own `serve()` running in the test's event
loop on a fixed loopback port, so a test can stop it and start it again on
the same port. Agents run in-process (to look at their state) or as
`mometrics-agent run` subprocesses (to kill or signal them).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from mometrics.probe.v1 import agent_pb2
from mometrics_agent.app import Agent
from mometrics_agent.config import AgentSettings
from mometrics_control.agents.service import create_agent
from mometrics_control.config import Settings
from mometrics_control.db import create_engine, create_sessionmaker
from mometrics_control.gateway.main import serve
from mometrics_control.models import Monitor, Organization

BIN = Path(sys.executable).parent
REGION = "test-region"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    """Poll `condition` every 0.1 s; fail with `what` when it stays false."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


class InProcessGateway:
    """The real gateway on a fixed loopback port, stoppable and restartable."""

    def __init__(self, port: int | None = None, **settings: Any) -> None:
        self.port = port or free_port()
        self.settings = settings
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        settings = Settings(
            gateway_listen=self.address,
            heartbeat_interval_s=1,
            **self.settings,
        )
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(serve(settings, self._stop), name="gateway")

        async def listening() -> bool:
            assert self._task is not None
            if self._task.done():
                self._task.result()
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return False
            writer.close()
            await writer.wait_closed()
            return True

        await wait_until(listening, 20, "the gateway to listen")

    async def stop(self) -> None:
        if self._stop is None or self._task is None:
            return
        self._stop.set()
        await asyncio.wait_for(self._task, 30)
        self._stop = None
        self._task = None


class Target:
    """A local HTTP server: /ok answers at once, /slow after `delay_s`.

    It counts requests and the largest number it served at the same time.
    """

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.port = free_port()
        self.requests = 0
        self.active = 0
        self.max_active = 0
        self._runner: web.AppRunner | None = None

    def url(self, path: str = "/ok") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        async def ok(request: web.Request) -> web.Response:
            self.requests += 1
            return web.Response(text="ok")

        async def slow(request: web.Request) -> web.Response:
            self.requests += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            try:
                await asyncio.sleep(self.delay_s)
            finally:
                self.active -= 1
            return web.Response(text="slow ok")

        app = web.Application()
        app.router.add_get("/ok", ok)
        app.router.add_get("/slow", slow)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def seed(
    targets: list[tuple[str, int, float]], region: str = REGION
) -> tuple[str, list[str]]:
    """Register an agent and HTTP monitors (url, interval_s, timeout_s) in `region`.

    Returns the agent token and the monitor ids, in the order given.
    """
    engine = create_engine(Settings().database_url, pool_size=1)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as db:
            _, token = await create_agent(db, "runtime-test", region)
            organization = Organization(id=uuid.uuid4(), name="runtime tests")
            db.add(organization)
            await db.flush()
            monitors = [
                Monitor(
                    id=uuid.uuid4(),
                    organization_id=organization.id,
                    name=f"target {index}",
                    kind="http",
                    target=url,
                    interval_seconds=interval_s,
                    timeout_seconds=timeout_s,
                    regions=[region],
                    options={},
                )
                for index, (url, interval_s, timeout_s) in enumerate(targets)
            ]
            db.add_all(monitors)
            await db.commit()
            return token, [str(monitor.id) for monitor in monitors]
    finally:
        await engine.dispose()


async def stored_results(database_url: str) -> list[dict[str, Any]]:
    """Return every row of check_results, oldest slot first."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT monitor_id::text AS monitor_id, region, scheduled_at, started_at, status,"
            " error_class FROM check_results ORDER BY scheduled_at"
        )
    finally:
        await connection.close()
    return [dict(row) for row in rows]


def spooled_slots(path: Path) -> set[tuple[str, int]]:
    """Return (monitor id, scheduled_at_us) of every result in a spool file."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        payloads = connection.execute("SELECT payload FROM results").fetchall()
    finally:
        connection.close()
    slots = set()
    for (payload,) in payloads:
        result = agent_pb2.CheckResult.FromString(payload)
        slots.add((result.monitor_id, result.scheduled_at_us))
    return slots


def stored_slots(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(row["monitor_id"], to_us(row["scheduled_at"])) for row in rows]


def to_us(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def agent_settings(
    gateway: InProcessGateway, token: str, spool: Path, **extra: Any
) -> AgentSettings:
    values: dict[str, Any] = {
        "gateway_address": gateway.address,
        "agent_token": token,
        "agent_region": REGION,
        "agent_spool_path": spool,
        "agent_metrics_port": 0,
        "allow_private_targets": True,
        **extra,
    }
    return AgentSettings(**values)


class InProcessAgent:
    """An Agent running in the test's event loop."""

    def __init__(self, settings: AgentSettings) -> None:
        self.agent = Agent(settings)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[int] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.agent.run(self._stop), name="agent")

    async def stop(self) -> int:
        assert self._task is not None
        self._stop.set()
        return await asyncio.wait_for(self._task, 30)


class AgentProcess:
    """`mometrics-agent run` as a subprocess with its output in a log file."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str = "agent") -> None:
        self.log_path = workdir / f"{name}.log"
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        base = {k: v for k, v in os.environ.items() if not k.startswith("MOMETRICS_")}
        self.process = subprocess.Popen(
            [str(BIN / "mometrics-agent"), "run", "--log-level", "DEBUG"],
            env={**base, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    async def wait(self, timeout_s: float) -> int:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        # Popen has no awaitable exit; poll so the test's servers keep running.
        while self.process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        code = self.process.poll()
        if code is None:
            raise AssertionError(f"agent still running after {timeout_s} s:\n{self.log()}")
        return code

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)


def agent_env(gateway: InProcessGateway, token: str, spool: Path, **extra: str) -> dict[str, str]:
    return {
        "MOMETRICS_GATEWAY_ADDRESS": gateway.address,
        "MOMETRICS_AGENT_TOKEN": token,
        "MOMETRICS_AGENT_REGION": REGION,
        "MOMETRICS_AGENT_SPOOL_PATH": str(spool),
        "MOMETRICS_AGENT_METRICS_PORT": "0",
        "MOMETRICS_ALLOW_PRIVATE_TARGETS": "true",
        **extra,
    }
