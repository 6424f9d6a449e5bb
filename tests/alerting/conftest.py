"""Fixtures for alerting: a real database, results through the real ingest
path, and local HTTP receivers standing in for webhook endpoints."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics.probe.v1 import agent_pb2
from mometrics_control.alerting.models import OutboxEntry
from mometrics_control.api.app import create_app
from mometrics_control.config import get_settings, load_settings, to_libpq_url
from mometrics_control.db import create_engine, create_sessionmaker
from mometrics_control.gateway.ingest import Ingestor
from mometrics_control.jobs import runtime, tasks
from mometrics_control.models import (
    Channel,
    Incident,
    Monitor,
    MonitorChannel,
    Organization,
    RegionState,
)

# Results are dated from here on, one per interval; recent enough for ingest.
INTERVAL_S = 60


@dataclasses.dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A local aiohttp server that records every POST it receives."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        # HTTP status returned by the next requests, popped one per request.
        self.statuses: list[int] = []
        # With is_holding set, requests are recorded in `held` and never answered.
        self.is_holding = False
        self.held: list[Received] = []
        # When set, a request is recorded in `requests` at once, but the
        # response waits until the event is set.
        self.gate: asyncio.Event | None = None
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.is_holding:
            self.held.append(Received(request.path, dict(request.headers), body))
            await asyncio.sleep(3600)
        self.requests.append(Received(request.path, dict(request.headers), body))
        if self.gate is not None:
            await self.gate.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({"ok": status < 300}, status=status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def events(self) -> list[str]:
        return [r.json().get("event") for r in self.requests]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def alert_env(
    control_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[dict[str, str]]:
    """The control environment, with the worker runtime bound to this test.

    PagerDuty and Telegram point at a closed loopback port unless a test
    overrides them, so nothing can reach the public APIs.
    """
    monkeypatch.setenv("MOMETRICS_PAGERDUTY_EVENTS_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MOMETRICS_TELEGRAM_API_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    runtime.sessionmaker.cache_clear()
    runtime.redis.cache_clear()
    yield control_env
    if runtime.sessionmaker.cache_info().currsize:
        await runtime.sessionmaker().kw["bind"].dispose()
    runtime.sessionmaker.cache_clear()
    runtime.redis.cache_clear()


@pytest.fixture
async def sessions(alert_env: dict[str, str]) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(alert_env["MOMETRICS_DATABASE_URL"], pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def ingestor(alert_env: dict[str, str]) -> AsyncIterator[Ingestor]:
    pool = await asyncpg.create_pool(to_libpq_url(alert_env["MOMETRICS_DATABASE_URL"]))
    yield Ingestor(pool)
    await pool.close()


class World:
    """An organisation with monitors and channels, fed through real ingest."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ingestor: Ingestor) -> None:
        self.sessions = sessions
        self.ingestor = ingestor
        self.organization_id = uuid.uuid4()
        self.agent_id = uuid.uuid4()
        self.start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
        # Next check time per (monitor, region), advanced one interval per result.
        self.clock: dict[tuple[uuid.UUID, str], dt.datetime] = {}

    async def setup(self) -> None:
        async with self.sessions() as session:
            session.add(Organization(id=self.organization_id, name="Acme"))
            await session.commit()

    async def channel(self, url: str, kind: str = "webhook", **config: Any) -> uuid.UUID:
        channel_id = uuid.uuid4()
        async with self.sessions() as session:
            session.add(
                Channel(
                    id=channel_id,
                    organization_id=self.organization_id,
                    kind=kind,
                    name=f"{kind}-{channel_id.hex[:6]}",
                    config={"url": url, **config} if url else config,
                )
            )
            await session.commit()
        return channel_id

    async def monitor(
        self,
        regions: list[str],
        channel_ids: list[uuid.UUID] | None = None,
        quorum: int = 0,
        parent_id: uuid.UUID | None = None,
        **alerting: Any,
    ) -> uuid.UUID:
        monitor_id = uuid.uuid4()
        async with self.sessions() as session:
            session.add(
                Monitor(
                    id=monitor_id,
                    organization_id=self.organization_id,
                    name=f"monitor-{monitor_id.hex[:6]}",
                    kind="http",
                    target="http://127.0.0.1:9/health",
                    interval_seconds=INTERVAL_S,
                    timeout_seconds=5.0,
                    regions=regions,
                    paused=False,
                    tags=[],
                    options={},
                    quorum=quorum,
                    alert_settings=alerting,
                    parent_id=parent_id,
                    version=1,
                )
            )
            await session.flush()
            for channel_id in channel_ids or []:
                session.add(MonitorChannel(monitor_id=monitor_id, channel_id=channel_id))
            await session.commit()
        return monitor_id

    async def feed(
        self, monitor_id: uuid.UUID, region: str, statuses: str, latency_ms: float = 20.0
    ) -> list[Any]:
        """Ingest results written as a string: `u` up, `d` down, one per interval."""
        results = []
        for code in statuses:
            at = self.clock.get((monitor_id, region), self.start)
            self.clock[(monitor_id, region)] = at + dt.timedelta(seconds=INTERVAL_S)
            is_up = code == "u"
            results.append(
                agent_pb2.CheckResult(
                    monitor_id=str(monitor_id),
                    scheduled_at_us=int(at.timestamp() * 1_000_000),
                    status=agent_pb2.CHECK_STATUS_UP if is_up else agent_pb2.CHECK_STATUS_DOWN,
                    latency_ms=latency_ms,
                    error_class="" if is_up else "connect",
                    error_message="" if is_up else f"connection refused in {region}",
                )
            )
        _, transitions = await self.ingestor.store(self.agent_id, region, results)
        return transitions

    async def evaluate(self, *monitor_ids: uuid.UUID) -> list[str]:
        """Run the evaluation task for each monitor; return new outbox ids."""
        ids = []
        for monitor_id in monitor_ids:
            ids += await tasks.evaluate_monitor(str(monitor_id))
        return ids

    async def deliver_all(self, outbox_ids: list[str]) -> None:
        for outbox_id in outbox_ids:
            await tasks.deliver_notification(outbox_id)

    async def step(self, *monitor_ids: uuid.UUID) -> list[str]:
        """Evaluate and deliver, as the worker would after an ingest."""
        ids = await self.evaluate(*monitor_ids)
        await self.deliver_all(ids)
        return ids

    async def region_status(self, monitor_id: uuid.UUID, region: str) -> str | None:
        async with self.sessions() as session:
            state = await session.get(RegionState, (monitor_id, region))
            return state.status if state else None

    async def incidents(self, monitor_id: uuid.UUID) -> list[Incident]:
        async with self.sessions() as session:
            return list(
                await session.scalars(
                    select(Incident)
                    .where(Incident.monitor_id == monitor_id)
                    .order_by(Incident.opened_at)
                )
            )

    async def outbox(self) -> list[OutboxEntry]:
        async with self.sessions() as session:
            return list(await session.scalars(select(OutboxEntry).order_by(OutboxEntry.created_at)))


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], ingestor: Ingestor) -> World:
    created = World(sessions, ingestor)
    await created.setup()
    return created


@pytest.fixture
async def client(alert_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A REST client of the app in this process, signed in as an organisation's owner."""
    app = create_app(load_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as api:
            email = "ops@example.org"
            await api.post("/auth/register", json={"email": email, "password": "s3cret-pass"})
            login = await api.post("/auth/login", json={"email": email, "password": "s3cret-pass"})
            api.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            yield api


async def member_headers(api: httpx.AsyncClient, email: str, role: str) -> dict[str, str]:
    """Register `email`, add it to the client's organisation with `role`; return its headers."""
    credentials = {"email": email, "password": "s3cret-pass"}
    assert (await api.post("/auth/register", json=credentials)).status_code == 201
    organization_id = (await api.get("/auth/me")).json()["organizations"][0]["id"]
    added = await api.post(
        f"/organizations/{organization_id}/members", json={"email": email, "role": role}
    )
    assert added.status_code == 201, added.text
    login = await api.post("/auth/login", json=credentials)
    return {
        "Authorization": f"Bearer {login.json()['access_token']}",
        "X-Organization-Id": organization_id,
    }
