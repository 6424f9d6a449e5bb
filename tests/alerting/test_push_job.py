"""The periodic push job: an overdue heartbeat turns the monitor down and pages."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics_control.api.app import create_app
from mometrics_control.config import load_settings
from mometrics_control.jobs import tasks
from mometrics_control.models import Incident
from mometrics_control.push.models import PushMonitor


async def test_push_job_opens_incident_when_overdue(
    alert_env: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Given a push monitor created six minutes ago that never got a ping
    app = create_app(load_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as api:
            await api.post(
                "/auth/register", json={"email": "cron@example.org", "password": "cron-password"}
            )
            login = await api.post(
                "/auth/login", json={"email": "cron@example.org", "password": "cron-password"}
            )
            api.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            monitor = await api.post(
                "/monitors",
                json={
                    "name": "Nightly backup",
                    "kind": "push",
                    "interval_seconds": 60,
                    "options": {"grace_seconds": 30},
                    "alerting": {"down_after": 1},
                },
            )
            assert monitor.status_code == 201, monitor.text
            monitor_id = uuid.UUID(monitor.json()["id"])
            issued = await api.post(f"/monitors/{monitor_id}/push-token")
            assert issued.status_code == 200, issued.text
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    async with sessions() as session:
        await session.execute(
            update(PushMonitor)
            .where(PushMonitor.monitor_id == monitor_id)
            .values(created_at=long_ago)
        )
        await session.commit()

    # When the scheduler's job runs twice
    await tasks.check_push_monitors()
    await tasks.check_push_monitors()

    # Then the monitor has exactly one open incident
    async with sessions() as session:
        incidents = list(
            await session.scalars(select(Incident).where(Incident.monitor_id == monitor_id))
        )
    assert len(incidents) == 1
    assert incidents[0].closed_at is None
