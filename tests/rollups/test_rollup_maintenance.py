"""Maintenance intervals in rollup windows equal raw spans with the intervals cut out."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.config import to_asyncpg_url
from mometrics_control.db import create_engine, create_sessionmaker
from mometrics_control.results import uptime
from mometrics_control.rollups import queries
from mometrics_control.rollups.compute import refresh_rollups
from tests.rollups.conftest import create_monitor, ingest
from tests.rollups.test_rollup_refresh import REGIONS, timeline

QUORUM = 2


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(to_asyncpg_url(database_url), pool_size=2)
    async with create_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


def _exact(
    spans: list[uptime.Span], maintenance: list[tuple[dt.datetime, dt.datetime]]
) -> tuple[dict[str, tuple[float, float]], tuple[float, float]]:
    seconds = [(low.timestamp(), high.timestamp()) for low, high in maintenance]
    kept = uptime.without_intervals(spans, seconds)
    return uptime.region_totals(kept), uptime.overall_totals(kept, QUORUM)


@pytest.mark.parametrize("later_days", [0, 9], ids=["minute-rollups", "hour-rollups"])
async def test_maintenance_matches_cut_raw_spans(
    pool: asyncpg.Pool, session: AsyncSession, later_days: int
) -> None:
    # Given 30 hours of on-grid results with gaps and outages in three regions
    async with pool.acquire() as connection:
        monitor_id = await create_monitor(connection, REGIONS, interval_s=60)
    now = dt.datetime.now(dt.UTC)
    until = now.replace(second=0, microsecond=0)
    first = until.replace(minute=0) - dt.timedelta(hours=30)
    slots = int((until - first).total_seconds() // 60) - 1
    per_region = timeline(monitor_id, first, 60, slots, seed=11, is_jittered=False)
    for region, items in per_region.items():
        for offset in range(0, len(items), 500):
            await ingest(pool, region, items[offset : offset + 500])
    async with pool.acquire() as connection:
        await refresh_rollups(connection)

    # and maintenance intervals: across the window's start, off the minute
    # grid, on whole hours, shorter than one interval, and inside the raw tail
    since = first + dt.timedelta(hours=1, minutes=7, seconds=30)

    def at(**offset: float) -> dt.datetime:
        return first + dt.timedelta(**offset)

    maintenance = [
        (since - dt.timedelta(hours=1), since + dt.timedelta(minutes=20)),
        (at(hours=2, seconds=17), at(hours=2, minutes=40, seconds=17)),
        (at(hours=5), at(hours=9)),
        (at(hours=10, seconds=5), at(hours=10, seconds=35)),
        (at(hours=12, minutes=59, seconds=50), at(hours=14, minutes=0, seconds=10)),
        (until - dt.timedelta(minutes=8), until - dt.timedelta(minutes=3, seconds=-13)),
    ]

    # When the window is read from rollups, as if `later_days` had passed
    # for the retention rules (hour rollups only, beyond 7 days)
    figures = await queries.load_window(
        session,
        monitor_id,
        60,
        QUORUM,
        since,
        until,
        now + dt.timedelta(days=later_days),
        maintenance,
    )
    start = figures.since
    clipped = [(max(low, start), min(high, until)) for low, high in maintenance]
    spans = await uptime.load_spans(session, monitor_id, 60, start, until)
    regions, (observed, up) = _exact(spans, clipped)

    # Then every region and the monitor as a whole equal the cut raw spans
    assert sorted(figures.regions) == sorted(regions)
    for region, (region_observed, region_up) in regions.items():
        assert figures.regions[region].observed_s == pytest.approx(region_observed), region
        assert figures.regions[region].up_s == pytest.approx(region_up), region
    assert figures.overall.observed_s == pytest.approx(observed)
    assert figures.overall.up_s == pytest.approx(up)
    # and the excluded time is the intervals' share of the window
    expected_s = sum((high - low).total_seconds() for low, high in clipped if low < high)
    assert figures.maintenance_s == pytest.approx(expected_s)
    # and the intervals removed down time, so the case is not trivial
    full = uptime.overall_totals(spans, QUORUM)
    assert full[0] - observed > expected_s / 2


def test_plan_subtracts_inner_rollups_and_raw_edges() -> None:
    # Given a window of two days and an interval from 02:00:30 to 04:00:00
    now = 1_796_000_000 // 86_400 * 86_400 + 12 * 3600
    since, until = now - 2 * 86_400, now
    low, high = now - 86_400 + 2 * 3600 + 30, now - 86_400 + 4 * 3600

    # When the window is planned
    plan = queries.plan_window(since, until, 60, now, [(low, high)])

    # Then the whole minutes and hours inside are subtracted from rollups
    inner = [segment for segment, sign in plan.rollups if sign < 0]
    assert inner[0].start == low + 30
    assert inner[-1].end == high
    assert any(segment.resolution_s == queries.HOUR_S for segment in inner)
    # and the edges are read raw: results from one interval before the start,
    # and the share past the end of results that start within one interval
    edges = [piece for piece in plan.raw if not piece.is_counted]
    assert [(p.start, p.end, p.sign) for p in edges] == [
        (low - 60, low + 30, -1),
        (high - 60, high, 1),
    ]
    assert edges[1].clip_start == high
    assert plan.maintenance_s == high - low
