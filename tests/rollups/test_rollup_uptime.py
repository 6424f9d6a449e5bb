"""Uptime of hand-computed timelines with gaps, from raw rows and from rollups."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.config import to_asyncpg_url
from mometrics_control.db import create_engine, create_sessionmaker
from mometrics_control.models import Monitor
from mometrics_control.results import service, uptime
from mometrics_control.rollups import queries
from mometrics_control.rollups.compute import refresh_rollups
from tests.rollups.conftest import create_monitor, ingest, result
from tests.rollups.test_rollup_refresh import REGIONS, timeline

LIVENESS_S = 30.0


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(to_asyncpg_url(database_url), pool_size=2)
    async with create_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def _two_region_timeline(pool: asyncpg.Pool) -> tuple[uuid.UUID, dt.datetime]:
    """Store the timeline below and return the monitor id and its start B.

    eu-west: up at B+0..B+540 every minute, a gap, down at B+900 and B+960,
    up at B+1020. us-east: up every minute from B to B+1020, down at B+900.
    """
    async with pool.acquire() as connection:
        monitor_id = await create_monitor(connection, ["eu-west", "us-east"], interval_s=60)
    start = _hour(dt.datetime.now(dt.UTC) - dt.timedelta(days=3))

    def at(seconds: int) -> dt.datetime:
        return start + dt.timedelta(seconds=seconds)

    west = [result(monitor_id, at(60 * k), True, 100.0 + k) for k in range(10)]
    west += [result(monitor_id, at(900), False, 0.0), result(monitor_id, at(960), False, 0.0)]
    west += [result(monitor_id, at(1020), True, 110.0)]
    east = [result(monitor_id, at(60 * k), k != 15, 50.0) for k in range(18)]
    await ingest(pool, "eu-west", west)
    await ingest(pool, "us-east", east)
    return monitor_id, start


async def _uptime(
    session: AsyncSession,
    redis: Redis,
    monitor_id: uuid.UUID,
    since: dt.datetime,
    until: dt.datetime,
) -> service.UptimeRead:
    monitor = await session.get(Monitor, monitor_id)
    assert monitor is not None
    return await service.uptime_for(session, redis, monitor, "custom", since, until, LIVENESS_S)


@pytest.mark.parametrize("source", ["raw", "rollups"])
async def test_uptime_of_timeline_with_gap(
    pool: asyncpg.Pool, session: AsyncSession, redis: Redis, source: str
) -> None:
    # Given the two-region timeline, rolled up
    monitor_id, start = await _two_region_timeline(pool)
    async with pool.acquire() as connection:
        await refresh_rollups(connection)

    # When uptime is read over a short window (raw rows) or a long one (rollups)
    if source == "raw":
        since, until = start - dt.timedelta(hours=1), start + dt.timedelta(hours=23)
    else:
        since, until = start - dt.timedelta(days=1), dt.datetime.now(dt.UTC)
        assert until - since > service.RAW_WINDOW_MAX
    body = await _uptime(session, redis, monitor_id, since, until)

    # Then eu-west saw 780 s (a 300 s gap is not counted) with 120 s down,
    # us-east 1080 s with 60 s down, and the monitor (quorum 2 of 2) was down
    # only while both were down.
    window_s = (body.until - body.since).total_seconds()
    west, east = body.regions
    assert west.region == "eu-west"
    assert west.checks == 13
    assert west.uptime == pytest.approx(660 / 780)
    assert west.coverage == pytest.approx(780 / window_s)
    assert east.checks == 18
    assert east.uptime == pytest.approx(1020 / 1080)
    assert body.uptime == pytest.approx(1020 / 1080)
    assert body.coverage == pytest.approx(1080 / window_s)
    assert west.latency_ms is not None
    up_latencies = [100.0 + k for k in range(10)] + [110.0]
    assert west.latency_ms.avg == pytest.approx(statistics.mean(up_latencies))
    assert west.latency_ms.p50 == pytest.approx(statistics.median(up_latencies), rel=0.045)
    assert west.latency_ms.p99 == pytest.approx(110.0, rel=0.045)
    assert body.since >= since
    assert body.since - since < dt.timedelta(minutes=1)


async def test_long_window_includes_raw_tail(
    pool: asyncpg.Pool, session: AsyncSession, redis: Redis
) -> None:
    # Given the rolled-up timeline and three newer results not rolled up yet
    monitor_id, _start = await _two_region_timeline(pool)
    async with pool.acquire() as connection:
        await refresh_rollups(connection)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    recent = [
        result(monitor_id, now - dt.timedelta(seconds=300), True, 80.0),
        result(monitor_id, now - dt.timedelta(seconds=240), True, 80.0),
        result(monitor_id, now - dt.timedelta(seconds=180), False, 0.0),
    ]
    await ingest(pool, "eu-west", recent)

    # When a seven-day window is read
    body = await _uptime(session, redis, monitor_id, now - dt.timedelta(days=7), now)

    # Then the newest results count at once, from raw rows
    west = body.regions[0]
    assert west.checks == 16
    assert west.uptime == pytest.approx((660 + 120) / (780 + 180))
    # us-east has no data then, so one region down is not a quorum of two
    assert body.uptime == pytest.approx((1020 + 180) / (1080 + 180))


@pytest.mark.parametrize("is_jittered", [False, True], ids=["on-grid", "jittered"])
async def test_rollup_window_equals_raw_spans(
    pool: asyncpg.Pool, session: AsyncSession, is_jittered: bool
) -> None:
    # Given results with gaps and outages in three regions, rolled up
    async with pool.acquire() as connection:
        monitor_id = await create_monitor(connection, REGIONS, interval_s=60)
    now = dt.datetime.now(dt.UTC)
    first = _hour(now - dt.timedelta(hours=4))
    results = timeline(monitor_id, first, 60, 4 * 60, seed=3, is_jittered=is_jittered)
    for region, items in results.items():
        await ingest(pool, region, items)
    async with pool.acquire() as connection:
        await refresh_rollups(connection)

    # When a window from an hour boundary to now is read both ways
    since = first - dt.timedelta(hours=20)
    figures = await queries.load_window(session, monitor_id, 60, 2, since, now, now)
    spans = await uptime.load_spans(session, monitor_id, 60, since, now)
    raw = uptime.region_totals(spans)

    # Then each region's observed and up time are the same
    assert figures.since == since
    assert sorted(figures.regions) == sorted(raw)
    for region, (observed, up) in raw.items():
        assert figures.regions[region].observed_s == pytest.approx(observed), region
        assert figures.regions[region].up_s == pytest.approx(up), region
    # and the monitor as a whole is exact while regions share the schedule
    # grid, and only approximate (per minute) off it
    raw_observed, raw_up = uptime.overall_totals(spans, 2)
    if not is_jittered:
        assert figures.overall.observed_s == pytest.approx(raw_observed)
        assert figures.overall.up_s == pytest.approx(raw_up)
    else:
        assert figures.overall.observed_s == pytest.approx(raw_observed, rel=0.25)
        assert figures.overall.up_s / figures.overall.observed_s == pytest.approx(
            raw_up / raw_observed, abs=0.05
        )


@pytest.mark.parametrize(
    ("since_days", "until_minutes"),
    [(7, 0), (30, 0), (90, 0), (300, 0), (7, 37), (1.2, 5)],
    ids=["7d", "30d", "90d", "300d", "7d-odd-end", "29h"],
)
def test_plan_segments_cover_window(since_days: float, until_minutes: int) -> None:
    now = 1_796_000_000 + 1234
    until = now - until_minutes * 60
    since = until - round(since_days * 86400)
    segments = queries.plan_segments(since, until, 60, now)
    assert segments[0].start >= since
    assert segments[0].start - since < 86400
    assert segments[-1].resolution_s == 0
    assert segments[-1].end == until
    assert until - segments[-1].start >= queries.TAIL_S
    for previous, following in itertools.pairwise(segments):
        assert previous.end == following.start
    for segment in segments[:-1]:
        assert segment.start < segment.end
        assert segment.start % segment.resolution_s == 0
        assert segment.end % segment.resolution_s == 0
    assert sum(1 for s in segments if s.resolution_s == queries.MINUTE_S) <= 2
