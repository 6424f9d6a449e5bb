"""The overview's uptime equals each monitor's own uptime endpoint."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import httpx
import pytest

from tests.api.conftest import new_tenant
from tests.api.uptime_data import (
    create_monitor,
    minute_now,
    overview_and_uptimes,
    pool,
    runs,
    store,
)
from tests.rollups.conftest import ingest, result

__all__ = ["pool"]

THREE = ["ap-south", "eu-west", "us-east"]


async def _seed_monitors(
    api: httpx.AsyncClient, headers: dict[str, str], pool: asyncpg.Pool
) -> list[uuid.UUID]:
    """Create four monitors with results today and three days ago.

    Recent results cover three hours up to ten minutes ago, run k at minute
    k past the start plus 17 s (the schedule phase), so no span is cut
    short by the window's end. Old ones cover two hours.
    """
    recent = minute_now() - dt.timedelta(hours=3, minutes=10) + dt.timedelta(seconds=17)
    old = recent - dt.timedelta(days=3, hours=1)

    majority = await create_monitor(api, headers, "majority of three", THREE)
    single = await create_monitor(api, headers, "one region", ["eu-west"])
    both = await create_monitor(api, headers, "all of two", ["eu-west", "us-east"], "all")
    any_one = await create_monitor(api, headers, "any of three", THREE, "any")

    data: dict[str, list] = {region: [] for region in THREE}
    # Majority: two regions down together for runs 25 to 29; ap-south has a gap.
    data["eu-west"] += runs(majority, recent, 180, down=range(20, 30))
    data["us-east"] += runs(majority, recent, 180, down=range(25, 35))
    data["ap-south"] += runs(majority, recent, 180, missing=range(40, 60))
    data["eu-west"] += runs(majority, old, 120, down=range(100, 110))
    data["us-east"] += runs(majority, old, 120, down=range(104, 108))
    # One region: a gap and a short outage, and an old outage.
    data["eu-west"] += runs(single, recent, 180, down=range(100, 105), missing=range(50, 70))
    data["eu-west"] += runs(single, old, 120, down=range(0, 30))
    # All of two: both down only for runs 15 to 19, and for two runs of the
    # last minutes, which the overview reads raw.
    data["eu-west"] += runs(both, recent, 180, down=range(10, 20))
    data["us-east"] += runs(both, recent, 180, down=range(15, 25))
    tail = minute_now() - dt.timedelta(minutes=8) + dt.timedelta(seconds=17)
    data["eu-west"] += runs(both, tail, 6, down=range(1, 4))
    data["us-east"] += runs(both, tail, 6, down=range(2, 5))
    # Any of three: each region's outage takes the monitor down.
    data["ap-south"] += runs(any_one, recent, 180, down=range(5, 10))
    data["us-east"] += runs(any_one, recent, 180, down=range(60, 65))
    data["eu-west"] += runs(any_one, recent, 180, missing=range(170, 180))
    data["eu-west"] += runs(any_one, old, 120, down=range(60, 90))
    await store(pool, data)
    return [majority, single, both, any_one]


async def test_overview_equals_uptime_endpoint(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    # Given monitors with different regions, quorums, gaps and outages
    owner = await new_tenant(api, "overview@example.org")
    monitor_ids = await _seed_monitors(api, owner.headers, pool)

    # When the overview and every monitor's uptime are read
    overview, uptimes = await overview_and_uptimes(api, owner.headers, monitor_ids)

    # Then every window's figure is the same in both
    items = {uuid.UUID(item["monitor"]["id"]): item for item in overview["items"]}
    assert sorted(items) == sorted(monitor_ids)
    for monitor_id in monitor_ids:
        for window in ("24h", "7d", "30d"):
            endpoint_uptime = uptimes[(monitor_id, window)]["uptime"]
            overview_uptime = items[monitor_id][f"uptime_{window}"]
            assert overview_uptime == pytest.approx(endpoint_uptime, rel=1e-12), (
                monitor_id,
                window,
            )
    # and the figures are not all alike: outages count, old ones only in 7d/30d
    majority, single, both, any_one = monitor_ids
    assert uptimes[(majority, "24h")]["uptime"] == pytest.approx(1 - 5 / 180)
    assert uptimes[(majority, "7d")]["uptime"] == pytest.approx(1 - 9 / 300)
    assert uptimes[(single, "24h")]["uptime"] == pytest.approx(1 - 5 / 160)
    assert uptimes[(single, "7d")]["uptime"] == pytest.approx(1 - 35 / 280)
    assert uptimes[(both, "24h")]["uptime"] == pytest.approx(1 - 7 / 186)
    assert uptimes[(any_one, "24h")]["uptime"] == pytest.approx(1 - 10 / 180)
    assert uptimes[(any_one, "30d")]["uptime"] == pytest.approx(1 - 40 / 300)
    # and the sparkline has one point per minute with results, oldest first
    assert items[single]["sparkline"][-1] == pytest.approx(40.0 + 179 % 7)
    assert len(items[single]["sparkline"]) == 30


async def test_overview_sub_minute_interval_within_bound(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Given a 30 s monitor in two regions (quorum all) whose regions fail
    # in alternate runs for ten minutes: never both down at once
    owner = await new_tenant(api, "halfminute@example.org")
    monitor_id = await create_monitor(
        api, owner.headers, "every 30 s", ["eu-west", "us-east"], "all", interval_s=30
    )
    first = minute_now() - dt.timedelta(hours=2)
    outage = range(40, 60)
    west = runs(monitor_id, first, 240, down=[k for k in outage if k % 2 == 0], interval_s=30)
    east = runs(monitor_id, first, 240, down=[k for k in outage if k % 2 == 1], interval_s=30)
    await store(pool, {"eu-west": west, "us-east": east})

    # When the overview and the monitor's own figures are read
    overview, uptimes = await overview_and_uptimes(api, owner.headers, [monitor_id], ("24h", "7d"))
    item = overview["items"][0]

    # Then the raw 24 h figure is exact: the monitor was never down
    assert uptimes[(monitor_id, "24h")]["uptime"] == 1.0
    # and the overview's per-minute figure is off by at most each minute's
    # most-down region: 30 s in each of the 10 minutes of the outage
    observed_s = 240 * 30
    bound = 10 * 30 / observed_s
    assert abs(item["uptime_24h"] - 1.0) <= bound + 1e-9
    # and the 7 d figures, both from rollups, are equal
    assert item["uptime_7d"] == pytest.approx(uptimes[(monitor_id, "7d")]["uptime"], rel=1e-12)


async def test_uptime_24h_etag_stable_until_new_result(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Given a monitor with results
    owner = await new_tenant(api, "etag24@example.org")
    monitor_id = await create_monitor(api, owner.headers, "etag", ["eu-west"])
    start = minute_now() - dt.timedelta(minutes=30)
    await store(pool, {"eu-west": runs(monitor_id, start, 28)})
    path = f"/monitors/{monitor_id}/uptime"

    # When the 24 h uptime is read twice within one minute
    for _ in range(3):
        first = await api.get(path, params={"window": "24h"}, headers=owner.headers)
        tag = first.headers["etag"]
        again = await api.get(
            path, params={"window": "24h"}, headers={**owner.headers, "If-None-Match": tag}
        )
        if again.status_code == 304 or again.json()["until"] == first.json()["until"]:
            break

    # Then the second read is 304 Not Modified
    assert again.status_code == 304
    # and a new result changes the body, so the old tag no longer matches
    newest = result(monitor_id, start + dt.timedelta(minutes=29), False, 0.0)
    await ingest(pool, "eu-west", [newest])
    changed = await api.get(
        path, params={"window": "24h"}, headers={**owner.headers, "If-None-Match": tag}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag


async def test_named_window_counts_newest_result(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Given a monitor whose newest result is a second old
    owner = await new_tenant(api, "newest@example.org")
    monitor_id = await create_monitor(api, owner.headers, "newest", ["eu-west"])
    newest = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
    older = runs(monitor_id, newest - dt.timedelta(minutes=5), 5)
    await store(pool, {"eu-west": [*older, result(monitor_id, newest, True, 20.0)]})

    # When the 24 h uptime is read
    response = await api.get(
        f"/monitors/{monitor_id}/uptime", params={"window": "24h"}, headers=owner.headers
    )

    # Then the window ends just after that result, which counts at once
    body = response.json()
    assert dt.datetime.fromisoformat(body["until"]) == newest + dt.timedelta(seconds=1)
    assert body["regions"][0]["checks"] == 6
    assert body["uptime"] == 1.0
