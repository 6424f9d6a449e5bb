"""Incremental upkeep of the minute, hour and day rollups.

Ingest marks the minute of every newly stored result in `rollup_dirty`, in
the same transaction as the result. `refresh_rollups` then:

1. claims dirty minutes and recomputes them from raw rows. A result at
   time t changes the spans of results in (t - interval, t], so each dirty
   minute M recomputes the minutes from M - interval to M. Every recomputed
   minute is rebuilt from all of its raw rows, so late and resent results
   are counted exactly once;
2. recomputes the "*" rows (the monitor as a whole) of those minutes;
3. rebuilds each dirty hour from its minute rows once the hour is over,
   and each dirty day from its hour rows once the day is over.

Each step is one transaction that claims its marks with DELETE, so a crash
leaves the marks for the next run. A session advisory lock lets one run at
a time proceed; a second caller returns at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time

import asyncpg

log = logging.getLogger("mometrics.rollups")

MINUTE_S = 60
HOUR_S = 3600
DAY_S = 86_400
# Marks claimed per transaction; a run loops until none are left.
DEFAULT_BATCH = 20_000
# Arbitrary constant that names the rollup run's advisory lock.
LOCK_KEY = 0x6D6F_726F_6C6C


@dataclasses.dataclass
class RefreshStats:
    """Counts of one refresh; `is_skipped` is set when another run held the lock."""

    is_skipped: bool = False
    minute_marks: int = 0
    minute_buckets: int = 0
    hour_rows: int = 0
    day_rows: int = 0
    duration_s: float = 0.0


# Large claims sort tens of megabytes. With the default 4 MB work_mem the
# sort spills to disk, and a 300,000-mark claim took 2.6 times as long.
_WORK_MEM = "SET LOCAL work_mem = '64MB'"

_RANGES_DDL = """
CREATE TEMP TABLE IF NOT EXISTS rollup_ranges (
    monitor_id uuid, region text, lo timestamptz, hi timestamptz, interval_s integer
) ON COMMIT DELETE ROWS
"""

# Buckets changed in this transaction: minutes of every region and of "*"
# in the minute step, claimed hours or days in the later steps.
_KEYS_DDL = """
CREATE TEMP TABLE IF NOT EXISTS rollup_keys (
    monitor_id uuid, region text, bucket timestamptz,
    PRIMARY KEY (monitor_id, region, bucket)
) ON COMMIT DELETE ROWS
"""

# Claims up to $1 dirty minutes and merges them per (monitor, region) into
# ranges [lo, hi) of minutes to recompute, lo reaching back one interval.
_CLAIM_MINUTES = """
WITH picked AS (
    SELECT monitor_id, region, bucket FROM rollup_dirty
    WHERE resolution_s = 60
    ORDER BY monitor_id, region, bucket
    LIMIT $1
), claimed AS (
    DELETE FROM rollup_dirty d USING picked p
    WHERE d.resolution_s = 60 AND d.monitor_id = p.monitor_id
      AND d.region = p.region AND d.bucket = p.bucket
    RETURNING d.monitor_id, d.region, d.bucket
), ranges AS (
    SELECT c.monitor_id, c.region, m.interval_seconds AS interval_s,
           date_trunc('minute', c.bucket - make_interval(secs => m.interval_seconds), 'UTC')
               AS lo,
           c.bucket + make_interval(secs => 60) AS hi
    FROM claimed c JOIN monitors m ON m.id = c.monitor_id
), flagged AS (
    SELECT *,
           CASE WHEN lo <= max(hi) OVER (
                    PARTITION BY monitor_id, region ORDER BY lo, hi
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                THEN 0 ELSE 1 END AS is_start
    FROM ranges
), islands AS (
    SELECT *,
           sum(is_start) OVER (
               PARTITION BY monitor_id, region ORDER BY lo, hi ROWS UNBOUNDED PRECEDING
           ) AS island
    FROM flagged
), merged AS (
    INSERT INTO rollup_ranges (monitor_id, region, lo, hi, interval_s)
    SELECT monitor_id, region, min(lo), max(hi), min(interval_s)
    FROM islands GROUP BY monitor_id, region, island
    RETURNING 1
)
SELECT (SELECT count(*) FROM claimed) AS claimed
"""

_ENSURE_PARTITIONS = """
SELECT mometrics_ensure_rollup_partition(day)
FROM (
    SELECT DISTINCT (d AT TIME ZONE 'UTC')::date AS day
    FROM rollup_ranges,
         generate_series(date_trunc('day', lo, 'UTC'), hi, make_interval(secs => 86400)) AS d
) AS days
"""

_DELETE_MINUTES = """
WITH deleted AS (
    DELETE FROM rollup_minutes t USING rollup_ranges r
    WHERE t.monitor_id = r.monitor_id AND t.region = r.region
      AND t.bucket >= r.lo AND t.bucket < r.hi
    RETURNING t.monitor_id, t.region, t.bucket
)
INSERT INTO rollup_keys SELECT * FROM deleted ON CONFLICT DO NOTHING
"""

# Each result stands for the time until the region's next result, capped at
# one interval, exactly as results.uptime computes it from raw rows. Reading
# one interval past `hi` finds the next result of the range's last ones.
_INSERT_MINUTES = """
WITH rows AS (
    SELECT r.monitor_id, r.region, r.hi, r.interval_s, cr.scheduled_at, cr.status,
           cr.latency_ms,
           lead(cr.scheduled_at) OVER (
               PARTITION BY r.monitor_id, r.region, r.lo ORDER BY cr.scheduled_at
           ) AS next_at
    FROM rollup_ranges r
    JOIN check_results cr
      ON cr.monitor_id = r.monitor_id AND cr.region = r.region
     AND cr.scheduled_at >= r.lo
     AND cr.scheduled_at < r.hi + make_interval(secs => r.interval_s)
), spans AS (
    SELECT *,
           extract(epoch FROM least(
               coalesce(next_at, scheduled_at + make_interval(secs => interval_s)),
               scheduled_at + make_interval(secs => interval_s)
           ) - scheduled_at)::double precision AS span_s
    FROM rows
    WHERE scheduled_at < hi
), inserted AS (
    INSERT INTO rollup_minutes
    SELECT monitor_id, region, date_trunc('minute', scheduled_at, 'UTC'),
       count(*),
       count(*) FILTER (WHERE status = 1),
       coalesce(sum(span_s) FILTER (WHERE status IN (1, 2)), 0),
       coalesce(sum(span_s) FILTER (WHERE status = 1), 0),
       coalesce(sum(latency_ms::double precision) FILTER (WHERE status = 1), 0),
       min(latency_ms) FILTER (WHERE status = 1),
       max(latency_ms) FILTER (WHERE status = 1),
       mometrics_histogram(mometrics_latency_bucket(latency_ms)) FILTER (WHERE status = 1)
    FROM spans
    GROUP BY 1, 2, 3
    RETURNING monitor_id, region, bucket
)
INSERT INTO rollup_keys SELECT * FROM inserted ON CONFLICT DO NOTHING
"""

_OVERALL_KEYS = """
INSERT INTO rollup_keys SELECT DISTINCT monitor_id, '*', bucket FROM rollup_keys
ON CONFLICT DO NOTHING
"""

_DELETE_OVERALL = """
DELETE FROM rollup_minutes t USING rollup_keys k
WHERE k.region = '*' AND t.monitor_id = k.monitor_id AND t.region = '*'
  AND t.bucket = k.bucket
"""

# The monitor as a whole, per minute: observed while any region has data
# (the longest region span), down for the quorum-th longest region down time.
_INSERT_OVERALL = """
INSERT INTO rollup_minutes
SELECT k.monitor_id, k.region, k.bucket,
       sum(rm.check_count), sum(rm.up_count),
       max(rm.observed_s),
       max(rm.observed_s) - coalesce(
           (array_agg(rm.observed_s - rm.up_s ORDER BY rm.observed_s - rm.up_s DESC))[
               CASE WHEN m.quorum > 0 THEN least(m.quorum, cardinality(m.regions))
                    ELSE cardinality(m.regions) / 2 + 1 END
           ], 0),
       sum(rm.latency_sum_ms), min(rm.latency_min_ms), max(rm.latency_max_ms),
       mometrics_histogram_sum(rm.latency_histogram)
FROM rollup_keys k
JOIN monitors m ON m.id = k.monitor_id
JOIN rollup_minutes rm
  ON rm.monitor_id = k.monitor_id AND rm.bucket = k.bucket AND rm.region <> '*'
WHERE k.region = '*'
GROUP BY k.monitor_id, k.region, k.bucket, m.quorum, m.regions
"""

_DELETE_KEYS_IN = """
DELETE FROM {table} t USING rollup_keys k
WHERE t.monitor_id = k.monitor_id AND t.region = k.region AND t.bucket = k.bucket
"""

_MARK_PARENTS = """
INSERT INTO rollup_dirty (resolution_s, monitor_id, region, bucket)
SELECT DISTINCT $1::integer, monitor_id, region, date_trunc($2, bucket, 'UTC')
FROM rollup_keys
ON CONFLICT DO NOTHING
"""

# Claims up to $3 dirty buckets of resolution $1 that ended by $2.
_CLAIM_CLOSED = """
WITH picked AS (
    SELECT monitor_id, region, bucket FROM rollup_dirty
    WHERE resolution_s = $1 AND bucket + make_interval(secs => $1) <= $2
    ORDER BY monitor_id, region, bucket
    LIMIT $3
), claimed AS (
    DELETE FROM rollup_dirty d USING picked p
    WHERE d.resolution_s = $1 AND d.monitor_id = p.monitor_id
      AND d.region = p.region AND d.bucket = p.bucket
    RETURNING d.monitor_id, d.region, d.bucket
)
INSERT INTO rollup_keys SELECT * FROM claimed
"""

_INSERT_FROM_FINER = """
INSERT INTO {target}
SELECT k.monitor_id, k.region, k.bucket,
       sum(f.check_count), sum(f.up_count), sum(f.observed_s), sum(f.up_s),
       sum(f.latency_sum_ms), min(f.latency_min_ms), max(f.latency_max_ms),
       mometrics_histogram_sum(f.latency_histogram)
FROM rollup_keys k
JOIN monitors m ON m.id = k.monitor_id
JOIN {source} f
  ON f.monitor_id = k.monitor_id AND f.region = k.region
 AND f.bucket >= k.bucket AND f.bucket < k.bucket + make_interval(secs => $1)
GROUP BY k.monitor_id, k.region, k.bucket
"""


def _count(status: str) -> int:
    """Return the row count from a command status such as 'INSERT 0 12'."""
    return int(status.rsplit(" ", 1)[-1])


async def refresh_minutes(connection: asyncpg.Connection, batch: int) -> tuple[int, int]:
    """Recompute up to `batch` dirty minutes; return (marks claimed, buckets changed)."""
    async with connection.transaction():
        await connection.execute(_WORK_MEM)
        await connection.execute(_RANGES_DDL)
        await connection.execute(_KEYS_DDL)
        claimed = await connection.fetchval(_CLAIM_MINUTES, batch)
        if not claimed:
            return 0, 0
        await connection.execute(_ENSURE_PARTITIONS)
        await connection.execute(_DELETE_MINUTES)
        await connection.execute(_INSERT_MINUTES)
        await connection.execute(_OVERALL_KEYS)
        await connection.execute(_DELETE_OVERALL)
        await connection.execute(_INSERT_OVERALL)
        await connection.execute(_MARK_PARENTS, HOUR_S, "hour")
        changed = await connection.fetchval("SELECT count(*) FROM rollup_keys")
    return int(claimed), int(changed)


async def refresh_closed(
    connection: asyncpg.Connection, resolution_s: int, now: dt.datetime, batch: int
) -> tuple[int, int]:
    """Rebuild up to `batch` dirty hours or days that ended by `now` from finer rows.

    Returns (marks claimed, rows written).
    """
    source, target = {
        HOUR_S: ("rollup_minutes", "rollup_hours"),
        DAY_S: ("rollup_hours", "rollup_days"),
    }[resolution_s]
    async with connection.transaction():
        await connection.execute(_WORK_MEM)
        await connection.execute(_KEYS_DDL)
        claimed = _count(await connection.execute(_CLAIM_CLOSED, resolution_s, now, batch))
        if not claimed:
            return 0, 0
        await connection.execute(_DELETE_KEYS_IN.format(table=target))
        written = _count(
            await connection.execute(
                _INSERT_FROM_FINER.format(source=source, target=target), resolution_s
            )
        )
        if resolution_s == HOUR_S:
            await connection.execute(_MARK_PARENTS, DAY_S, "day")
    return claimed, written


async def refresh_rollups(
    connection: asyncpg.Connection,
    now: dt.datetime | None = None,
    batch: int = DEFAULT_BATCH,
) -> RefreshStats:
    """Bring every rollup up to date with the stored results.

    Minutes are refreshed for every mark. Hours and days are refreshed only
    once they ended before `now` (default: the current time), because
    readers take the newest hours from minute rows.
    """
    started = time.monotonic()
    if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
        log.info("rollup refresh skipped; another run holds the lock")
        return RefreshStats(is_skipped=True)
    stats = RefreshStats()
    try:
        while True:
            claimed, written = await refresh_minutes(connection, batch)
            stats.minute_marks += claimed
            stats.minute_buckets += written
            if claimed < batch:
                break
        now = now or dt.datetime.now(dt.UTC)
        for resolution_s in (HOUR_S, DAY_S):
            while True:
                claimed, written = await refresh_closed(connection, resolution_s, now, batch)
                if resolution_s == HOUR_S:
                    stats.hour_rows += written
                else:
                    stats.day_rows += written
                if claimed < batch:
                    break
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    stats.duration_s = time.monotonic() - started
    log.info(
        "rollups refreshed",
        extra={
            "minute_marks": stats.minute_marks,
            "minute_buckets": stats.minute_buckets,
            "hour_rows": stats.hour_rows,
            "day_rows": stats.day_rows,
            "duration_ms": round(stats.duration_s * 1000, 1),
        },
    )
    return stats
