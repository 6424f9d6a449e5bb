"""Rollups match a recomputation from raw rows, with late and resent results."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import uuid

import asyncpg
import pytest

from mometrics_control.results.uptime import effective_quorum
from mometrics_control.rollups import histogram
from mometrics_control.rollups.compute import LOCK_KEY, refresh_rollups
from tests.rollups.conftest import create_monitor, ingest, result

REGIONS = ["ap-south", "eu-west", "us-east"]
Key = tuple[str, dt.datetime]


@dataclasses.dataclass
class Bucket:
    check_count: int = 0
    up_count: int = 0
    observed_s: float = 0.0
    up_s: float = 0.0
    latency_sum_ms: float = 0.0
    latency_min_ms: float | None = None
    latency_max_ms: float | None = None
    histogram: dict[int, int] = dataclasses.field(default_factory=dict)

    def add(self, other: Bucket) -> None:
        self.check_count += other.check_count
        self.up_count += other.up_count
        self.observed_s += other.observed_s
        self.up_s += other.up_s
        self.latency_sum_ms += other.latency_sum_ms
        lows = [v for v in (self.latency_min_ms, other.latency_min_ms) if v is not None]
        highs = [v for v in (self.latency_max_ms, other.latency_max_ms) if v is not None]
        self.latency_min_ms = min(lows) if lows else None
        self.latency_max_ms = max(highs) if highs else None
        histogram.merge_into(self.histogram, other.histogram)


def _floor(moment: dt.datetime, step_s: int) -> dt.datetime:
    seconds = int(moment.timestamp()) // step_s * step_s
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


async def expected_rollups(
    connection: asyncpg.Connection, monitor_id: uuid.UUID, interval_s: int, quorum: int
) -> dict[int, dict[Key, Bucket]]:
    """Recompute every rollup in Python from the raw rows, by the documented rules."""
    rows = await connection.fetch(
        "SELECT region, scheduled_at, status, latency_ms FROM check_results "
        "WHERE monitor_id = $1 ORDER BY region, scheduled_at",
        monitor_id,
    )
    minutes: dict[Key, Bucket] = {}
    interval = dt.timedelta(seconds=interval_s)
    for index, row in enumerate(rows):
        following = rows[index + 1] if index + 1 < len(rows) else None
        end = row["scheduled_at"] + interval
        if following is not None and following["region"] == row["region"]:
            end = min(end, following["scheduled_at"])
        span_s = (end - row["scheduled_at"]).total_seconds()
        bucket = minutes.setdefault((row["region"], _floor(row["scheduled_at"], 60)), Bucket())
        bucket.check_count += 1
        bucket.observed_s += span_s
        if row["status"] == 1:
            bucket.up_count += 1
            bucket.up_s += span_s
            bucket.add(
                Bucket(
                    latency_sum_ms=row["latency_ms"],
                    latency_min_ms=row["latency_ms"],
                    latency_max_ms=row["latency_ms"],
                    histogram={histogram.bucket_of(row["latency_ms"]): 1},
                )
            )
    # The monitor as a whole: the longest observed span, down for the
    # quorum-th longest down time of the minute.
    by_minute: dict[dt.datetime, list[Bucket]] = {}
    for (_, minute), bucket in minutes.items():
        by_minute.setdefault(minute, []).append(bucket)
    for minute, buckets in by_minute.items():
        overall = Bucket()
        for bucket in buckets:
            overall.add(bucket)
        downs = sorted((b.observed_s - b.up_s for b in buckets), reverse=True)
        overall.observed_s = max(b.observed_s for b in buckets)
        overall.up_s = overall.observed_s - (downs[quorum - 1] if len(downs) >= quorum else 0)
        minutes[("*", minute)] = overall
    levels = {60: minutes}
    for step_s, finer in ((3600, minutes), (86400, None)):
        source = finer if finer is not None else levels[3600]
        coarser: dict[Key, Bucket] = {}
        for (region, bucket_at), bucket in source.items():
            coarser.setdefault((region, _floor(bucket_at, step_s)), Bucket()).add(bucket)
        levels[step_s] = coarser
    return levels


async def stored_rollups(
    connection: asyncpg.Connection, monitor_id: uuid.UUID
) -> dict[int, dict[Key, Bucket]]:
    levels = {}
    for step_s, table in ((60, "rollup_minutes"), (3600, "rollup_hours"), (86400, "rollup_days")):
        rows = await connection.fetch(
            "SELECT *, array_lower(latency_histogram, 1) AS first_bucket "
            f"FROM {table} WHERE monitor_id = $1",
            monitor_id,
        )
        levels[step_s] = {
            (row["region"], row["bucket"]): Bucket(
                check_count=row["check_count"],
                up_count=row["up_count"],
                observed_s=row["observed_s"],
                up_s=row["up_s"],
                latency_sum_ms=row["latency_sum_ms"],
                latency_min_ms=row["latency_min_ms"],
                latency_max_ms=row["latency_max_ms"],
                histogram=histogram.from_array(row["latency_histogram"], row["first_bucket"]),
            )
            for row in rows
        }
    return levels


def assert_same(stored: dict[Key, Bucket], expected: dict[Key, Bucket], level: int) -> None:
    assert sorted(stored) == sorted(expected), f"bucket keys differ at {level} s"
    for key, want in expected.items():
        got = stored[key]
        where = f"{level} s bucket {key}"
        assert got.check_count == want.check_count, where
        assert got.up_count == want.up_count, where
        assert got.observed_s == pytest.approx(want.observed_s, abs=1e-6), where
        assert got.up_s == pytest.approx(want.up_s, abs=1e-6), where
        assert got.latency_sum_ms == pytest.approx(want.latency_sum_ms, rel=1e-9), where
        assert got.latency_min_ms == want.latency_min_ms, where
        assert got.latency_max_ms == want.latency_max_ms, where
        assert got.histogram == want.histogram, where


def timeline(
    monitor_id: uuid.UUID,
    start: dt.datetime,
    interval_s: int,
    slots: int,
    seed: int,
    is_jittered: bool = True,
) -> dict[str, list]:
    """Results per region with random gaps, an outage and random latencies.

    Agents schedule a monitor on the same grid in every region; with
    `is_jittered` the times move off the grid and one region runs a second
    late, as after interval changes or agent failovers.
    """
    rng = random.Random(seed)
    results: dict[str, list] = {}
    for region_index, region in enumerate(REGIONS):
        skew = dt.timedelta(seconds=1.0 if is_jittered and region_index == 2 else 0.0)
        outage = range(slots // 3, slots // 3 + rng.randint(3, 12))
        items = []
        for slot in range(slots):
            if rng.random() < 0.1 or (region_index == 0 and slot in range(50, 70)):
                continue  # no result: a gap
            # Jitter makes some results closer than one interval, so a late
            # result shortens the span of the result before it.
            jitter_s = rng.uniform(-0.4, 0.4) * interval_s if is_jittered else 0.0
            at = start + dt.timedelta(seconds=slot * interval_s + 17.25 + jitter_s) + skew
            is_up = slot not in outage and rng.random() > 0.1
            items.append(result(monitor_id, at, is_up, round(rng.uniform(2.0, 900.0), 3)))
        results[region] = items
    return results


@pytest.mark.parametrize("interval_s", [30, 60, 300], ids=["30s", "60s", "5min"])
async def test_rollups_match_raw_recompute(pool: asyncpg.Pool, interval_s: int) -> None:
    # Given a monitor in three regions and results over a day boundary
    async with pool.acquire() as connection:
        monitor_id = await create_monitor(connection, REGIONS, interval_s)
    now = dt.datetime.now(dt.UTC)
    start = _floor(now, 86400) - dt.timedelta(days=1, minutes=90)
    slots = 3 * 3600 // interval_s
    per_region = timeline(monitor_id, start, interval_s, slots, seed=interval_s)
    rng = random.Random(7)
    early: dict[str, list] = {}
    late: dict[str, list] = {}
    for region, items in per_region.items():
        held_back = set(rng.sample(range(len(items)), len(items) * 3 // 10))
        early[region] = [r for i, r in enumerate(items) if i not in held_back]
        late[region] = [r for i, r in enumerate(items) if i in held_back]
    quorum = effective_quorum(0, len(REGIONS))

    # When most results arrive in order and the rollups are refreshed
    for region, items in early.items():
        for offset in range(0, len(items), 100):
            await ingest(pool, region, items[offset : offset + 100])
    async with pool.acquire() as connection:
        await refresh_rollups(connection)
        first = await stored_rollups(connection, monitor_id)
        want = await expected_rollups(connection, monitor_id, interval_s, quorum)
    for level in (60, 3600, 86400):
        assert_same(first[level], want[level], level)

    # When the rest arrive late, out of order, together with resent results
    for region, items in late.items():
        resent = rng.sample(early[region], 20)
        mixed = items + resent
        rng.shuffle(mixed)
        stored = await ingest(pool, region, mixed)
        assert stored == len(items)
    async with pool.acquire() as connection:
        stats = await refresh_rollups(connection)
        second = await stored_rollups(connection, monitor_id)
        want = await expected_rollups(connection, monitor_id, interval_s, quorum)
        leftover = await connection.fetchval("SELECT count(*) FROM rollup_dirty")

    # Then every rollup equals a recomputation from the raw rows
    assert stats.minute_marks > 0
    for level in (60, 3600, 86400):
        assert_same(second[level], want[level], level)
    total = sum(len(items) for items in per_region.values())
    assert sum(b.check_count for (r, _), b in second[86400].items() if r != "*") == total
    assert leftover == 0


async def test_refresh_keeps_open_hours_dirty(pool: asyncpg.Pool) -> None:
    # Given a result in the current hour
    async with pool.acquire() as connection:
        monitor_id = await create_monitor(connection, ["eu-west"])
    now = dt.datetime.now(dt.UTC)
    await ingest(pool, "eu-west", [result(monitor_id, now - dt.timedelta(seconds=5), True, 12.0)])

    # When the rollups are refreshed
    async with pool.acquire() as connection:
        await refresh_rollups(connection, now=now)
        minutes = await connection.fetchval(
            "SELECT count(*) FROM rollup_minutes WHERE monitor_id = $1", monitor_id
        )
        hours = await connection.fetchval(
            "SELECT count(*) FROM rollup_hours WHERE monitor_id = $1", monitor_id
        )
        pending = await connection.fetch("SELECT resolution_s, region FROM rollup_dirty")

    # Then the minute is rolled up and the hour waits until it is over
    assert minutes == 2  # the region and "*"
    assert hours == 0
    assert sorted((row["resolution_s"], row["region"]) for row in pending) == [
        (3600, "*"),
        (3600, "eu-west"),
    ]


async def test_refresh_skips_while_locked(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as holder, pool.acquire() as connection:
        assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
        stats = await refresh_rollups(connection)
        await holder.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    assert stats.is_skipped


async def test_concurrent_refreshes_count_once(pool: asyncpg.Pool) -> None:
    # Given stored results
    async with pool.acquire() as connection:
        monitor_id = await create_monitor(connection, ["eu-west"])
    start = _floor(dt.datetime.now(dt.UTC), 3600) - dt.timedelta(hours=2)
    items = [result(monitor_id, start + dt.timedelta(minutes=i), True, 10.0) for i in range(60)]
    await ingest(pool, "eu-west", items)

    # When two refreshes run at once
    async def run() -> None:
        async with pool.acquire() as connection:
            await refresh_rollups(connection)

    await asyncio.gather(run(), run())
    async with pool.acquire() as connection:
        await refresh_rollups(connection)
        checks = await connection.fetchval(
            "SELECT sum(check_count) FROM rollup_hours WHERE monitor_id = $1 AND region = $2",
            monitor_id,
            "eu-west",
        )

    # Then every result is counted once
    assert checks == 60
