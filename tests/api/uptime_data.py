"""Results on the agents' schedule grid, stored through the gateway's ingest path."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg
import httpx
import pytest

from mometrics.probe.v1 import agent_pb2
from mometrics_control.rollups.compute import refresh_rollups
from tests.rollups.conftest import ingest, result


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


def minute_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def runs(
    monitor_id: uuid.UUID,
    first: dt.datetime,
    count: int,
    down: Iterable[int] = (),
    interval_s: int = 60,
    missing: Iterable[int] = (),
) -> list[agent_pb2.CheckResult]:
    """Return `count` runs from `first`, one per interval; runs in `down` fail."""
    failing, skipped = set(down), set(missing)
    return [
        result(
            monitor_id,
            first + dt.timedelta(seconds=k * interval_s),
            k not in failing,
            40.0 + k % 7,
        )
        for k in range(count)
        if k not in skipped
    ]


async def store(pool: asyncpg.Pool, per_region: dict[str, list[agent_pb2.CheckResult]]) -> None:
    """Ingest every region's results and fold them into the rollups."""
    for region, items in per_region.items():
        for offset in range(0, len(items), 500):
            await ingest(pool, region, items[offset : offset + 500])
    async with pool.acquire() as connection:
        await refresh_rollups(connection)


async def create_monitor(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    name: str,
    regions: list[str],
    quorum: int | str = 0,
    interval_s: int = 60,
) -> uuid.UUID:
    body = {
        "name": name,
        "kind": "http",
        "url": "http://127.0.0.1:9/health",
        "interval_seconds": interval_s,
        "timeout_seconds": 5,
        "regions": regions,
        "quorum": quorum,
    }
    response = await api.post("/monitors", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


WINDOWS = {"24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30)}


async def overview_and_uptimes(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    monitor_ids: list[uuid.UUID],
    windows: tuple[str, ...] = ("24h", "7d", "30d"),
) -> tuple[dict[str, Any], dict[tuple[uuid.UUID, str], dict[str, Any]]]:
    """Read the overview, then each monitor's uptime over the overview's windows.

    The overview's windows end at the start of the minute it was built in,
    while a monitor's named windows may end later, so each monitor is asked
    for the same since and until. Reads that straddle a minute boundary are
    repeated: where rollups start depends on the minute of the read.
    """
    for _ in range(3):
        started = minute_now()
        overview = await api.get("/overview", headers=headers)
        assert overview.status_code == 200, overview.text
        until = dt.datetime.fromisoformat(overview.json()["until"])
        uptimes = {}
        for monitor_id in monitor_ids:
            for window in windows:
                since = until - WINDOWS[window]
                response = await api.get(
                    f"/monitors/{monitor_id}/uptime",
                    params={"since": since.isoformat(), "until": until.isoformat()},
                    headers=headers,
                )
                assert response.status_code == 200, response.text
                uptimes[(monitor_id, window)] = response.json()
        if minute_now() == started == until:
            return overview.json(), uptimes
    raise AssertionError("could not read the overview and the uptimes within one minute")
