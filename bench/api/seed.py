"""Seed the API benchmark's database with SQL that runs inside PostgreSQL.

Every figure follows one closed-form model, so raw results and minute, hour
and day rollups agree the way the rollup job would write them:

- monitor i (1..N) runs every 60 s at second `i % 60` of each minute in
  three regions; its successful checks take L(i) = 20 + (37 i) % 180 ms;
- region r of monitor i is down for the first d(i, r, h) minutes of epoch
  hour h. That is 3 minutes once every 97 hours, a different hour per
  region, and for every 20th monitor 5 minutes in every region once every
  50 hours;
- the monitor as a whole (quorum q of 3 regions) is down for the first
  q-th largest d(i, r, h) minutes of the hour.

Rows are generated with generate_series and written by INSERT ... SELECT,
so nothing crosses the network. Each table is filled over two connections
at once, one per half of the monitors.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

import asyncpg

REGIONS = ["ap-south", "eu-west", "us-east"]

# Every statement takes $1 organisation, $2 parity of the monitor index (the
# half it fills), $3 and $4 the first and last bucket or minute.
_MONITORS = """
base AS (
    SELECT id, substr(name, 9)::integer AS i,
           CASE WHEN quorum > 0 THEN least(quorum, 3) ELSE 2 END AS q,
           20 + (37 * substr(name, 9)::integer) % 180 AS latency
    FROM monitors
    WHERE organization_id = $1 AND name LIKE 'service-%'
      AND substr(name, 9)::integer % 2 = $2
), mon AS MATERIALIZED (
    -- histogram_n holds n successful checks in the monitor's latency bucket.
    SELECT base.*, mometrics_latency_bucket(latency) AS bucket,
           array_fill(1, ARRAY[1], ARRAY[mometrics_latency_bucket(latency)]) AS histogram_1,
           array_fill(2, ARRAY[1], ARRAY[mometrics_latency_bucket(latency)]) AS histogram_2,
           array_fill(3, ARRAY[1], ARRAY[mometrics_latency_bucket(latency)]) AS histogram_3
    FROM base
)
"""


def _down(region_index: int) -> str:
    """Return SQL for the down minutes of a region at the start of hour `at.h`."""
    return (
        "greatest("
        f"CASE WHEN (at.h + mon.i * 7 + {region_index} * 3) % 97 = 0 THEN 3 ELSE 0 END, "
        "CASE WHEN mon.i % 20 = 0 AND (at.h + mon.i) % 50 = 0 THEN 5 ELSE 0 END)"
    )


# Every hour from the one holding $3 to $4 for every monitor, with the down
# minutes of the three regions and the quorum-th largest of them. The CTE is
# materialised so these expressions run once per monitor and hour, not once
# per generated row.
_HOURS = f"""
, hours AS MATERIALIZED (
    SELECT mon.*, hour_start, d.d0, d.d1, d.d2,
           CASE mon.q WHEN 1 THEN greatest(d.d0, d.d1, d.d2)
                      WHEN 3 THEN least(d.d0, d.d1, d.d2)
                      ELSE d.d0 + d.d1 + d.d2 - greatest(d.d0, d.d1, d.d2)
                           - least(d.d0, d.d1, d.d2) END AS kth
    FROM mon
    CROSS JOIN generate_series(date_trunc('hour', $3::timestamptz), $4::timestamptz,
                               interval '1 hour') AS hour_start
    CROSS JOIN LATERAL (
        SELECT floor(extract(epoch FROM hour_start) / 3600)::bigint AS h
    ) AS at
    CROSS JOIN LATERAL (
        SELECT {_down(0)} AS d0, {_down(1)} AS d1, {_down(2)} AS d2
    ) AS d
)
"""

RAW_SQL = f"""
WITH {_MONITORS} {_HOURS}
INSERT INTO check_results (scheduled_at, monitor_id, region, started_at, status, latency_ms,
                           status_code, error_class, error_message)
SELECT t, h.id, region.name, t,
       CASE WHEN down THEN 2 ELSE 1 END,
       CASE WHEN down THEN 10000 ELSE h.latency END,
       CASE WHEN down THEN 503 ELSE 200 END,
       CASE WHEN down THEN 'status' END,
       CASE WHEN down THEN 'expected status 200-299, got 503' END
FROM hours h
CROSS JOIN generate_series(0, 59) AS k
CROSS JOIN LATERAL (
    SELECT h.hour_start + make_interval(mins => k, secs => h.i % 60) AS t
) AS slot
CROSS JOIN LATERAL (VALUES
    ('ap-south', k < h.d0), ('eu-west', k < h.d1), ('us-east', k < h.d2)
) AS region(name, down)
WHERE t >= $3 AND t < $4 AND t < now()
"""

MINUTES_SQL = f"""
WITH {_MONITORS} {_HOURS}
INSERT INTO rollup_minutes
SELECT h.id, v.region, t, v.checks, v.up_checks, 60, v.up_s,
       h.latency * v.up_checks,
       CASE WHEN v.up_checks > 0 THEN h.latency END,
       CASE WHEN v.up_checks > 0 THEN h.latency END,
       CASE v.up_checks WHEN 1 THEN h.histogram_1 WHEN 2 THEN h.histogram_2
                        WHEN 3 THEN h.histogram_3 END
FROM hours h
CROSS JOIN generate_series(0, 59) AS k
CROSS JOIN LATERAL (SELECT h.hour_start + make_interval(mins => k) AS t) AS slot
CROSS JOIN LATERAL (VALUES
    ('ap-south', 1, (k >= h.d0)::integer, 60.0 * (k >= h.d0)::integer),
    ('eu-west', 1, (k >= h.d1)::integer, 60.0 * (k >= h.d1)::integer),
    ('us-east', 1, (k >= h.d2)::integer, 60.0 * (k >= h.d2)::integer),
    ('*', 3, (k >= h.d0)::integer + (k >= h.d1)::integer + (k >= h.d2)::integer,
     60.0 * (k >= h.kth)::integer)
) AS v(region, checks, up_checks, up_s)
WHERE t >= $3 AND t <= $4
"""

HOURS_SQL = f"""
WITH {_MONITORS} {_HOURS}
INSERT INTO rollup_hours
SELECT h.id, v.region, h.hour_start, v.checks, v.up_checks, 3600, v.up_s,
       h.latency * v.up_checks, h.latency, h.latency,
       array_fill(v.up_checks, ARRAY[1], ARRAY[h.bucket])
FROM hours h
CROSS JOIN LATERAL (VALUES
    ('ap-south', 60, 60 - h.d0, 3600.0 - 60 * h.d0),
    ('eu-west', 60, 60 - h.d1, 3600.0 - 60 * h.d1),
    ('us-east', 60, 60 - h.d2, 3600.0 - 60 * h.d2),
    ('*', 180, 180 - h.d0 - h.d1 - h.d2, 3600.0 - 60 * h.kth)
) AS v(region, checks, up_checks, up_s)
"""

DAYS_SQL = f"""
WITH {_MONITORS}
INSERT INTO rollup_days
SELECT rh.monitor_id, rh.region, date_trunc('day', rh.bucket, 'UTC'),
       sum(rh.check_count), sum(rh.up_count), sum(rh.observed_s), sum(rh.up_s),
       sum(rh.latency_sum_ms), min(rh.latency_min_ms), max(rh.latency_max_ms),
       array_fill(sum(rh.up_count)::integer, ARRAY[1],
                  ARRAY[min(mon.bucket)])
FROM rollup_hours rh JOIN mon ON mon.id = rh.monitor_id
WHERE rh.bucket >= $3 AND rh.bucket < $4
GROUP BY 1, 2, 3
"""

STATES_SQL = """
INSERT INTO region_states (monitor_id, region, status, last_scheduled_at, last_latency_ms,
                           last_error, changed_at)
SELECT DISTINCT ON (monitor_id, region)
       monitor_id, region, CASE WHEN status = 1 THEN 'up' ELSE 'down' END, scheduled_at,
       latency_ms, error_message, scheduled_at
FROM check_results
WHERE scheduled_at > now() - interval '10 minutes'
ORDER BY monitor_id, region, scheduled_at DESC
"""

MONITORS_SQL = """
INSERT INTO monitors (id, organization_id, name, kind, target, interval_seconds,
                      timeout_seconds, regions, tags, quorum)
SELECT gen_random_uuid(), $1, format('service-%s', lpad(i::text, 4, '0')), 'http',
       format('https://service-%s.example.test/health', i), 60, 10, $2::text[],
       ARRAY[(ARRAY['web', 'api', 'db', 'edge'])[1 + i % 4]],
       (ARRAY[0, 0, 1, 3])[1 + i % 4]
FROM generate_series(1, $3) AS i
"""


def _floor(moment: dt.datetime, step_s: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(moment.timestamp()) // step_s * step_s, dt.UTC)


async def _fill(
    url: str, sql: str, organization_id: uuid.UUID, first: dt.datetime, last: dt.datetime
) -> None:
    """Run one generating statement over two connections, one per half of the monitors."""
    began = time.perf_counter()

    async def half(parity: int) -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("SET work_mem = '64MB'")
            # Skips the foreign key triggers of rollup_hours and rollup_days,
            # which took a third of the seeding time. Every monitor id here
            # comes from the monitors table.
            await connection.execute("SET session_replication_role = replica")
            await connection.execute(sql, organization_id, parity, first, last)
        finally:
            await connection.close()

    await asyncio.gather(half(0), half(1))
    table = sql.split("INSERT INTO ", 1)[1].split(None, 1)[0]
    print(f"  {table}: {time.perf_counter() - began:.1f} s", flush=True)


async def seed(
    url: str, organization_id: uuid.UUID, monitor_count: int
) -> tuple[list[uuid.UUID], dict[str, int]]:
    """Fill every table the API reads; return the agent ids and the row counts."""
    connection = await asyncpg.connect(url)
    try:
        now: dt.datetime = await connection.fetchval("SELECT date_trunc('minute', now())")
        await connection.execute(
            "SELECT mometrics_ensure_partition((now() AT TIME ZONE 'UTC')::date + d) "
            "FROM generate_series(-2, 1) AS d"
        )
        await connection.execute(
            "SELECT mometrics_ensure_rollup_partition((now() AT TIME ZONE 'UTC')::date + d) "
            "FROM generate_series(-8, 1) AS d"
        )
        await connection.execute(MONITORS_SQL, organization_id, REGIONS, monitor_count)
        agent_ids = [uuid.uuid4() for _ in REGIONS]
        await connection.executemany(
            "INSERT INTO agents (id, name, region, token_hash) VALUES ($1, $2, $3, '')",
            [(a, f"bench-{r}", r) for a, r in zip(agent_ids, REGIONS, strict=True)],
        )
    finally:
        await connection.close()

    minute = dt.timedelta(minutes=1)
    await _fill(url, RAW_SQL, organization_id, now - 25 * 60 * minute, now)
    # Minute rows of the last 24 hours, and of the hour after the start of
    # the 7-day window, the only older minutes the API reads.
    await _fill(url, MINUTES_SQL, organization_id, now - 24 * 60 * minute, now - minute)
    week_ago = now - dt.timedelta(days=7)
    await _fill(url, MINUTES_SQL, organization_id, week_ago, week_ago + 60 * minute)
    last_hour = _floor(now, 3600) - dt.timedelta(hours=1)
    await _fill(url, HOURS_SQL, organization_id, last_hour - dt.timedelta(days=32), last_hour)
    today = _floor(now, 86_400)
    await _fill(url, DAYS_SQL, organization_id, today - dt.timedelta(days=31), today)

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(STATES_SQL)
        # Marks the rollup pages all-visible, as autovacuum does in a running
        # system, so the covering indexes serve index-only scans.
        began = time.perf_counter()
        for table in ("rollup_minutes", "rollup_hours", "rollup_days"):
            await connection.execute(f"VACUUM {table}")
        print(f"  vacuum: {time.perf_counter() - began:.1f} s", flush=True)
        await connection.execute("ANALYZE")
        counts = {}
        for table in ("check_results", "rollup_minutes", "rollup_hours", "rollup_days"):
            counts[table] = await connection.fetchval(f"SELECT count(*) FROM {table}")
        return agent_ids, counts
    finally:
        await connection.close()
