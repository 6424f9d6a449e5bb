"""Maintenance windows count neither as observed nor as down time."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import asyncpg
import httpx
import pytest

from mometrics.probe.v1 import agent_pb2
from tests.api.conftest import new_tenant
from tests.api.uptime_data import (
    create_monitor,
    minute_now,
    overview_and_uptimes,
    pool,
    runs,
    store,
)

__all__ = ["pool"]

TWO = ["eu-west", "us-east"]
Interval = tuple[dt.datetime, dt.datetime]


def _local(moment: dt.datetime, zone: str) -> str:
    """Return the wall-clock time of `moment` in `zone`, without an offset."""
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None).isoformat()


def _reference(
    per_region: dict[str, list[agent_pb2.CheckResult]],
    excluded: list[Interval],
    since: dt.datetime,
    until: dt.datetime,
) -> tuple[int, int]:
    """Count observed and up seconds second by second, quorum all of two.

    Each result stands for the 60 s after it (no two are closer here).
    """
    status: dict[int, dict[str, bool]] = {}
    for region, items in per_region.items():
        for item in items:
            start = item.scheduled_at_us // 1_000_000
            for second in range(start, start + 60):
                status.setdefault(second, {})[region] = item.status == agent_pb2.CHECK_STATUS_UP
    gaps = [(int(low.timestamp()), int(high.timestamp())) for low, high in excluded]
    observed = up = 0
    for second, regions in status.items():
        if not since.timestamp() <= second < until.timestamp():
            continue
        if any(low <= second < high for low, high in gaps):
            continue
        observed += 1
        down = sum(1 for is_up in regions.values() if not is_up)
        up += down < len(TWO)
    return observed, up


async def _window(api: httpx.AsyncClient, headers: dict[str, str], body: dict[str, object]) -> None:
    response = await api.post("/maintenance-windows", json=body, headers=headers)
    assert response.status_code == 201, response.text


async def test_one_off_window_excludes_outage(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    # Given two monitors down in both regions for ten minutes, and a one-off
    # window set in Berlin time that covers the outage and 30 s either side
    owner = await new_tenant(api, "maintenance1@example.org")
    covered = await create_monitor(api, owner.headers, "covered", TWO)
    other = await create_monitor(api, owner.headers, "not covered", TWO)
    first = minute_now() - dt.timedelta(hours=3)
    outage_start = first + dt.timedelta(minutes=60)
    data = {
        region: runs(covered, first, 170, down=range(60, 70))
        + runs(other, first, 170, down=range(60, 70))
        for region in TWO
    }
    await store(pool, data)
    start = outage_start - dt.timedelta(seconds=30)
    await _window(
        api,
        owner.headers,
        {
            "name": "database upgrade",
            "monitor_ids": [str(covered)],
            "timezone": "Europe/Berlin",
            "starts_at_local": _local(start, "Europe/Berlin"),
            "duration_s": 660,
        },
    )

    # When the uptime is read from raw rows (24 h) and rollups (7 d)
    overview, uptimes = await overview_and_uptimes(api, owner.headers, [covered, other])

    # Then the covered monitor shows no down time and reports the window
    for window in ("24h", "7d"):
        body = uptimes[(covered, window)]
        assert body["uptime"] == 1.0, window
        assert body["maintenance_s"] == 660.0, window
    # and its coverage leaves the window out: 170 runs observed but 660 s
    day = uptimes[(covered, "24h")]
    assert day["coverage"] == pytest.approx((170 * 60 - 660) / (86_400 - 660))
    # and the monitor outside the window still counts the outage
    assert uptimes[(other, "24h")]["uptime"] == pytest.approx(1 - 10 / 170)
    assert uptimes[(other, "24h")]["maintenance_s"] == 0.0
    items = {uuid.UUID(item["monitor"]["id"]): item for item in overview["items"]}
    assert items[covered]["uptime_24h"] == 1.0
    assert items[covered]["uptime_7d"] == 1.0
    assert items[other]["uptime_7d"] == pytest.approx(1 - 10 / 170)


async def test_daily_window_follows_local_time(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    # Given a daily 20-minute window at a New York wall-clock time with
    # seconds (17 s past the minute), created to start four days ago
    owner = await new_tenant(api, "maintenance2@example.org")
    monitor_id = await create_monitor(api, owner.headers, "nightly", TWO, "all")
    zone = zoneinfo.ZoneInfo("America/New_York")
    wall = (minute_now() - dt.timedelta(hours=5)).astimezone(zone).replace(tzinfo=None)
    wall = wall.replace(second=17) - dt.timedelta(days=4)
    await _window(
        api,
        owner.headers,
        {
            "name": "nightly backup",
            "timezone": "America/New_York",
            "starts_at_local": wall.isoformat(),
            "duration_s": 1200,
            "recurrence": "daily",
        },
    )
    # Occurrences by the zone's rules, so a daylight-saving change moves them.
    occurrences = [
        ((wall + dt.timedelta(days=d)).replace(tzinfo=zone).astimezone(dt.UTC),) for d in range(5)
    ]
    excluded = [(start, start + dt.timedelta(seconds=1200)) for (start,) in occurrences]
    # and, around the three newest occurrences, results from 30 minutes
    # before to 30 minutes after, down in both regions from the window's
    # start to 5 minutes after its end
    data: dict[str, list[agent_pb2.CheckResult]] = {region: [] for region in TWO}
    for low, _high in excluded[2:]:
        first = low.replace(second=0) - dt.timedelta(minutes=30)
        for region in TWO:
            data[region] += runs(monitor_id, first, 80, down=range(31, 56))
    await store(pool, data)

    # When the uptime is read
    overview, uptimes = await overview_and_uptimes(api, owner.headers, [monitor_id], ("24h", "7d"))

    # Then each window equals a second-by-second count without the occurrences
    for window in ("24h", "7d"):
        body = uptimes[(monitor_id, window)]
        since = dt.datetime.fromisoformat(body["since"])
        until = dt.datetime.fromisoformat(body["until"])
        observed, up = _reference(data, excluded, since, until)
        assert up < observed
        assert body["uptime"] == pytest.approx(up / observed), window
        inside = sum(
            max(0.0, (min(high, until) - max(low, since)).total_seconds()) for low, high in excluded
        )
        assert body["maintenance_s"] == pytest.approx(inside), window
    assert uptimes[(monitor_id, "7d")]["maintenance_s"] == 5 * 1200
    assert overview["items"][0]["uptime_7d"] == pytest.approx(
        uptimes[(monitor_id, "7d")]["uptime"], rel=1e-12
    )
